//! Talking to the controllers: leader-only requests go to the leader (found with
//! CONTROLLER_GET_METADATA_INFO, followed on CONTROLLER_NOT_LEADER), heartbeats go to every
//! controller (protocol.md §9.4).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use sluice_remoting::codes::{request, response};
use sluice_remoting::header::controller::GetMetaDataResponseHeader;
use sluice_remoting::net::connect::refuse_requests;
use sluice_remoting::net::{connect, Connection};
use sluice_remoting::{DecoderLimits, RemotingCommand};
use tokio::sync::Mutex;

use crate::broker::config::BrokerConfig;

const TIMEOUT: Duration = Duration::from_secs(3);

/// The broker's connections to its controllers.
pub struct ControllerClient {
    addrs: Vec<String>,
    config: BrokerConfig,
    conns: Mutex<HashMap<String, Arc<Connection>>>,
    leader: Mutex<Option<String>>,
}

impl ControllerClient {
    pub fn new(config: &BrokerConfig) -> ControllerClient {
        ControllerClient {
            addrs: config.controller.controller_addr.clone(),
            config: config.clone(),
            conns: Mutex::new(HashMap::new()),
            leader: Mutex::new(None),
        }
    }

    pub fn addrs(&self) -> &[String] {
        &self.addrs
    }

    async fn conn(&self, addr: &str) -> anyhow::Result<Arc<Connection>> {
        if let Some(c) = self.conns.lock().await.get(addr).filter(|c| !c.is_closed()) {
            return Ok(c.clone());
        }
        // Not held while connecting: one unreachable controller must not delay the others.
        let limits = DecoderLimits {
            max_frame: 16 << 20,
            max_body: 16 << 20,
        };
        let c = connect(addr, TIMEOUT, limits, refuse_requests)
            .await
            .with_context(|| format!("connecting to the controller {addr}"))?;
        self.conns.lock().await.insert(addr.to_owned(), c.clone());
        Ok(c)
    }

    /// One request to the controller at `addr`, signed as the broker signs its own requests.
    pub async fn call(
        &self,
        addr: &str,
        mut cmd: RemotingCommand,
        timeout: Duration,
    ) -> anyhow::Result<RemotingCommand> {
        self.config.sign_own(&mut cmd);
        let c = self.conn(addr).await?;
        match c.request(cmd, timeout).await {
            Ok(r) => Ok(r),
            Err(e) => {
                c.close();
                Err(anyhow::anyhow!("controller {addr}: {e}"))
            }
        }
    }

    /// The leader's address: the controller of `controllerAddr` that says it leads, or the
    /// leader one of them names — only when that name is in `controllerAddr` too. Controllers
    /// name each other by their peer addresses, which this broker may not reach (a broker on
    /// another network than the controllers' own, behind NAT): it keeps to its own list.
    async fn find_leader(&self) -> Option<String> {
        for addr in &self.addrs {
            let cmd = RemotingCommand::request(request::CONTROLLER_GET_METADATA_INFO);
            let Ok(r) = self.call(addr, cmd, TIMEOUT).await else {
                continue;
            };
            if let Ok(h) = r.decode_header::<GetMetaDataResponseHeader>() {
                if h.is_leader {
                    return Some(addr.clone());
                }
                if let Some(l) = self.known(h.controller_leader_address) {
                    return Some(l);
                }
            }
        }
        None
    }

    /// `addr` when it is one of `controllerAddr`.
    fn known(&self, addr: Option<String>) -> Option<String> {
        addr.filter(|a| self.addrs.contains(a))
    }

    /// A leader-only request (`make` builds it afresh for each try), retried at whichever
    /// controller is leader for a few seconds. Answers other than CONTROLLER_NOT_LEADER are
    /// returned as they are.
    pub async fn leader_call(&self, make: impl Fn() -> RemotingCommand) -> anyhow::Result<RemotingCommand> {
        let mut last = None;
        for attempt in 0..10u32 {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
            let known = self.leader.lock().await.clone();
            let addr = match known {
                Some(a) => a,
                None => match self.find_leader().await {
                    Some(a) => {
                        *self.leader.lock().await = Some(a.clone());
                        a
                    }
                    None => {
                        last = Some(anyhow::anyhow!(
                            "no controller of {:?} knows a leader",
                            self.addrs
                        ));
                        continue;
                    }
                },
            };
            match self.call(&addr, make(), TIMEOUT).await {
                Ok(r) if r.code == response::CONTROLLER_NOT_LEADER => {
                    let next = self.known(r.ext_fields.get("controllerLeaderAddress").cloned());
                    *self.leader.lock().await = next.filter(|a| *a != addr);
                    last = Some(anyhow::anyhow!("{addr} is not the controller leader"));
                }
                Ok(r) => return Ok(r),
                Err(e) => {
                    *self.leader.lock().await = None;
                    last = Some(e);
                }
            }
        }
        Err(last.unwrap_or_else(|| anyhow::anyhow!("no controller answered")))
    }

    /// A leader-only request that must answer SUCCESS.
    pub async fn leader_ok(
        &self,
        what: &str,
        make: impl Fn() -> RemotingCommand,
    ) -> anyhow::Result<RemotingCommand> {
        let r = self.leader_call(make).await?;
        if r.code != response::SUCCESS {
            bail!("{what}: code {} {}", r.code, r.remark.unwrap_or_default());
        }
        Ok(r)
    }

    /// Sends `cmd` to every controller, each on its own task (a paused controller must not
    /// hold up the others); failures are logged at debug.
    pub fn to_all(self: &Arc<Self>, cmd: &RemotingCommand, timeout: Duration) {
        for addr in self.addrs.clone() {
            let (me, cmd) = (self.clone(), cmd.clone());
            tokio::spawn(async move {
                match tokio::time::timeout(timeout, me.call(&addr, cmd, timeout)).await {
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => tracing::debug!(controller = %addr, error = %e, "heartbeat not delivered"),
                    Err(_) => tracing::debug!(controller = %addr, "heartbeat timed out"),
                }
            });
        }
    }
}
