//! GET_BROKER_HA_STATUS (907, RocketMQ 5.x; mqadmin `haStatus`): a master's slaves with their
//! acknowledged offsets and lag, or a slave's link to its master. Controller mode:
//! GET_BROKER_EPOCH_CACHE (1007, mqadmin `getBrokerEpoch`) and NOTIFY_BROKER_ROLE_CHANGED (1008).

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sluice_remoting::body::controller::{EpochEntry, EpochEntryCache};
use sluice_remoting::body::ha::{HaClientRuntimeInfo, HaConnectionRuntimeInfo, HaRuntimeInfo};
use sluice_remoting::body::JsonBody;
use sluice_remoting::net::Outbound;
use sluice_remoting::RemotingCommand;

use crate::broker::error::BrokerError;
use crate::broker::ha::Ha;
use crate::broker::BrokerState;

/// Milliseconds since the epoch of an `Instant` in the past.
fn epoch_ms(ago: Duration) -> i64 {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    now.saturating_sub(ago).as_millis() as i64
}

/// The status as GET_BROKER_HA_STATUS answers it.
pub fn runtime_info(state: &BrokerState) -> HaRuntimeInfo {
    let end = state.store.commitlog().write_pos();
    let mut info = HaRuntimeInfo {
        master: !state.config.broker_role.is_slave(),
        master_commit_log_max_offset: end as i64,
        ..HaRuntimeInfo::default()
    };
    match &state.ha {
        Some(Ha::Master(m)) => {
            let max_gap = state.config.ha.slave_fallbehind_max;
            info.ha_connection_info = m
                .slaves()
                .into_iter()
                .map(|s| {
                    let diff = end.saturating_sub(s.acked_offset);
                    HaConnectionRuntimeInfo {
                        addr: s.addr.to_string(),
                        slave_ack_offset: s.acked_offset as i64,
                        diff: diff as i64,
                        in_sync: s.reported && diff < max_gap,
                        transfer_from_where: s.acked_offset as i64,
                        transferred_byte_in_second: 0,
                    }
                })
                .collect();
            info.in_sync_slave_nums = info.ha_connection_info.iter().filter(|c| c.in_sync).count() as i32;
        }
        Some(Ha::Slave(s)) => {
            let link = s.status();
            info.master_commit_log_max_offset = link.master_offset as i64;
            info.ha_client_runtime_info = HaClientRuntimeInfo {
                is_activated: link.master.is_some(),
                master_addr: link.master.unwrap_or_default(),
                max_offset: end as i64,
                last_read_timestamp: link.last_read.map_or(0, |t| epoch_ms(t.elapsed())),
                ..HaClientRuntimeInfo::default()
            };
        }
        None => {}
    }
    info
}

pub fn ha_status(state: &Arc<BrokerState>, cmd: &RemotingCommand) -> Outbound {
    super::ok_with(cmd, runtime_info(state).to_json())
}

/// GET_BROKER_EPOCH_CACHE: this broker's epoch file (the last epoch ends at the log's end).
pub fn epoch_cache(state: &Arc<BrokerState>, cmd: &RemotingCommand) -> Result<Outbound, BrokerError> {
    let file = sluice_storage::epochs::EpochFile::load(state.store.root()).map_err(BrokerError::system)?;
    let max = state.store.commitlog().write_pos() as i64;
    let entries = file.entries();
    let epoch_list = entries
        .iter()
        .enumerate()
        .map(|(i, e)| EpochEntry {
            epoch: e.epoch,
            start_offset: e.start_offset as i64,
            end_offset: entries.get(i + 1).map_or(max, |n| n.start_offset as i64),
        })
        .collect();
    let cache = EpochEntryCache {
        broker_id: state
            .config
            .controller
            .run
            .as_ref()
            .map_or(state.config.broker_id as i64, |r| r.broker_id),
        broker_name: state.config.broker_name.clone(),
        cluster_name: state.config.broker_cluster_name.clone(),
        epoch_list,
        max_offset: max,
    };
    Ok(super::ok_with(cmd, cache.to_json()))
}

/// NOTIFY_BROKER_ROLE_CHANGED: the broker asks the controllers who the master is now.
pub fn role_changed(state: &Arc<BrokerState>, cmd: &RemotingCommand) -> Outbound {
    match &state.config.controller.run {
        Some(run) => {
            tracing::info!("the controller says the group's roles changed");
            run.events.poke();
        }
        None => tracing::debug!("NOTIFY_BROKER_ROLE_CHANGED outside controller mode ignored"),
    }
    super::ok(cmd)
}
