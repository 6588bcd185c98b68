//! The broker id in controller mode (protocol.md §9.4 step 2): kept in
//! `storePathRootDir/brokerIdentity`; a broker without one asks the controller leader for the
//! next free id (CONTROLLER_GET_NEXT_BROKER_ID), writes it to a temporary file, claims it
//! (CONTROLLER_APPLY_BROKER_ID, with a check code only this broker knows), and then renames the
//! file into place. A crash in between leaves the temporary file: the same id is claimed again
//! with the same code, which the controller accepts.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use sluice_remoting::codes::{request, response};
use sluice_remoting::header::controller::{
    ApplyBrokerIdRequestHeader, GetNextBrokerIdRequestHeader, GetNextBrokerIdResponseHeader,
};
use sluice_remoting::RemotingCommand;

use super::client::ControllerClient;
use crate::broker::config::BrokerConfig;

const FILE: &str = "brokerIdentity";

/// A broker id and the code it was claimed with.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Identity {
    broker_id: i64,
    check_code: String,
}

fn read(path: &Path) -> anyhow::Result<Option<Identity>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let mut id = None;
    let mut code = None;
    for line in text.lines() {
        match line.split_once('=') {
            Some(("brokerId", v)) => id = v.trim().parse::<i64>().ok(),
            Some(("registerCheckCode", v)) => code = Some(v.trim().to_owned()),
            _ => {}
        }
    }
    match (id, code) {
        (Some(broker_id), Some(check_code)) => Ok(Some(Identity {
            broker_id,
            check_code,
        })),
        _ => bail!(
            "{} is not a broker identity (brokerId=…, registerCheckCode=…)",
            path.display()
        ),
    }
}

fn write(path: &Path, id: &Identity) -> anyhow::Result<()> {
    let text = format!("brokerId={}\nregisterCheckCode={}\n", id.broker_id, id.check_code);
    let tmp = path.with_extension("writing");
    std::fs::write(&tmp, text).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::File::open(&tmp)
        .and_then(|f| f.sync_all())
        .with_context(|| format!("syncing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("renaming into {}", path.display()))?;
    Ok(())
}

fn paths(root: &Path) -> (PathBuf, PathBuf) {
    (root.join(FILE), root.join(format!("{FILE}.tmp")))
}

/// This broker's id: from its identity file, or claimed from the controller leader.
pub async fn obtain(client: &ControllerClient, config: &BrokerConfig) -> anyhow::Result<i64> {
    let root = &config.store.store_path_root_dir;
    std::fs::create_dir_all(root).with_context(|| format!("creating {}", root.display()))?;
    let (done, pending) = paths(root);
    if let Some(id) = read(&done)? {
        return Ok(id.broker_id);
    }
    let cluster = config.broker_cluster_name.clone();
    let name = config.broker_name.clone();
    for _ in 0..16 {
        let id = match read(&pending)? {
            Some(id) => id,
            None => {
                let h = GetNextBrokerIdRequestHeader {
                    cluster_name: cluster.clone(),
                    broker_name: name.clone(),
                };
                let r = client
                    .leader_ok("CONTROLLER_GET_NEXT_BROKER_ID", || {
                        RemotingCommand::request(request::CONTROLLER_GET_NEXT_BROKER_ID).with_header(&h)
                    })
                    .await?;
                let next: GetNextBrokerIdResponseHeader = r
                    .decode_header()
                    .context("CONTROLLER_GET_NEXT_BROKER_ID's answer")?;
                let id = Identity {
                    broker_id: next.next_broker_id,
                    check_code: format!("{};{}", config.broker_addr(), sluice_storage::clock::now_millis()),
                };
                write(&pending, &id)?;
                id
            }
        };
        let h = ApplyBrokerIdRequestHeader {
            cluster_name: cluster.clone(),
            broker_name: name.clone(),
            applied_broker_id: id.broker_id,
            register_check_code: id.check_code.clone(),
        };
        let r = client
            .leader_call(|| RemotingCommand::request(request::CONTROLLER_APPLY_BROKER_ID).with_header(&h))
            .await?;
        if r.code == response::SUCCESS {
            write(&done, &id)?;
            let _ = std::fs::remove_file(&pending);
            tracing::info!(broker_id = id.broker_id, broker = %name, "broker id claimed from the controller");
            return Ok(id.broker_id);
        }
        tracing::warn!(broker_id = id.broker_id, code = r.code, remark = ?r.remark, "broker id refused; asking for another");
        let _ = std::fs::remove_file(&pending);
    }
    bail!("could not claim a broker id for {name} from the controllers")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_identity_file_round_trips_and_a_bad_one_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (done, _) = paths(dir.path());
        assert_eq!(read(&done).unwrap(), None);
        let id = Identity {
            broker_id: 3,
            check_code: "127.0.0.1:10911;1".into(),
        };
        write(&done, &id).unwrap();
        assert_eq!(read(&done).unwrap(), Some(id));
        std::fs::write(&done, "brokerId=x\n").unwrap();
        assert!(read(&done).is_err());
    }
}
