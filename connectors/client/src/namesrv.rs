//! The NameServer client: several addresses, one in use, fail-over to the next on error
//! (protocol.md §2.3.16, §10.2).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sluice_remoting::body::route::TopicRouteData;
use sluice_remoting::body::JsonBody;
use sluice_remoting::codes::{request, response};
use sluice_remoting::header::route::GetRouteInfoRequestHeader;
use sluice_remoting::RemotingCommand;

use crate::error::{ClientError, Result};
use crate::transport::ConnectionPool;

/// Talks to the first NameServer that answers, starting with the one that answered last.
#[derive(Debug)]
pub struct NameServerClient {
    addrs: Vec<String>,
    current: AtomicUsize,
    pool: Arc<ConnectionPool>,
    timeout: Duration,
}

impl NameServerClient {
    /// `addrs`: `host:port` list (a `;`-separated string may be split with [`parse_addrs`]).
    pub fn new(addrs: Vec<String>, pool: Arc<ConnectionPool>, timeout: Duration) -> Result<Self> {
        if addrs.is_empty() {
            return Err(ClientError::NoNameServer("no address configured".into()));
        }
        Ok(NameServerClient {
            addrs,
            current: AtomicUsize::new(0),
            pool,
            timeout,
        })
    }

    /// The configured addresses.
    pub fn addrs(&self) -> &[String] {
        &self.addrs
    }

    /// Sends `cmd` to the current NameServer, then to the others in turn while the transport
    /// fails. A response (whatever its code) ends the search and makes that server current.
    pub async fn invoke(&self, cmd: RemotingCommand) -> Result<RemotingCommand> {
        let n = self.addrs.len();
        let start = self.current.load(Ordering::Relaxed);
        let mut errors = Vec::new();
        for k in 0..n {
            let i = (start + k) % n;
            let Some(addr) = self.addrs.get(i) else { continue };
            match self.pool.invoke(addr, cmd.clone(), self.timeout).await {
                Ok(resp) => {
                    self.current.store(i, Ordering::Relaxed);
                    return Ok(resp);
                }
                Err(e) => {
                    tracing::warn!(namesrv = %addr, error = %e, "NameServer failed, trying the next");
                    errors.push(e.to_string());
                }
            }
        }
        Err(ClientError::NoNameServer(errors.join("; ")))
    }

    /// GET_ROUTEINFO_BY_TOPIC: `Ok(None)` when the NameServer does not know the topic.
    pub async fn topic_route(&self, topic: &str) -> Result<Option<TopicRouteData>> {
        let header = GetRouteInfoRequestHeader {
            topic: topic.to_owned(),
            accept_standard_json_only: true,
        };
        let resp = self
            .invoke(RemotingCommand::request_with_header(
                request::GET_ROUTEINFO_BY_TOPIC,
                &header,
            ))
            .await?;
        match resp.code {
            response::SUCCESS => {
                TopicRouteData::from_json(&resp.body)
                    .map(Some)
                    .map_err(|e| ClientError::Malformed {
                        addr: "namesrv".into(),
                        reason: e.to_string(),
                    })
            }
            response::TOPIC_NOT_EXIST => Ok(None),
            code => Err(ClientError::Response {
                addr: "namesrv".into(),
                code,
                remark: resp.remark,
            }),
        }
    }
}

/// Splits `"a:9876;b:9876"` (Java's `namesrvAddr` form; commas accepted too).
pub fn parse_addrs(list: &str) -> Vec<String> {
    list.split([';', ','])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_address_lists() {
        assert_eq!(parse_addrs("a:1; b:2;,"), vec!["a:1", "b:2"]);
        assert!(parse_addrs(" ").is_empty());
    }
}
