//! The put service: every write into the log — a send, a consumer's send-back, a transaction's
//! end — goes through the same steps: the broker must be writable, each message is routed
//! ([`route`]: delay levels and timers to their waiting topics, half messages to the half
//! topic), stored by the flush mode's writer path ([`store`] / [`store_now`]), and counted
//! ([`count`]). The scheduler's re-entries take the same writer path
//! ([`sluice_dataflows::Submitter::put`]); they were routed when first put.

use crate::broker::schedule::route::{route_for_put, RouteError};
use sluice_dataflows::{AppendReply, AppendRequest, PipelineError};
use sluice_remoting::codes::response;
use sluice_storage::meta::perm;
use sluice_storage::{Appended, MessageToStore};

use super::error::BrokerError;
use super::BrokerState;

/// A stored unit: where each message went, and the response code its producer gets: SUCCESS,
/// or a weaker guarantee (stored all the same) — FLUSH_DISK_TIMEOUT when SYNC_FLUSH gave up
/// waiting for the fdatasync, FLUSH_SLAVE_TIMEOUT / SLAVE_NOT_AVAILABLE when a SYNC_MASTER's
/// slave did not report it in time / could not take it.
pub struct Stored {
    pub appended: Vec<Appended>,
    pub code: i32,
}

impl Stored {
    /// Where the unit's bytes end in the CommitLog (what a slave must report to cover it).
    pub fn end(&self) -> u64 {
        self.appended
            .iter()
            .map(|a| a.phys_offset + u64::from(a.size))
            .max()
            .unwrap_or(0)
    }
}

/// NO_PERMISSION unless `brokerPermission` allows writes; SERVICE_NOT_AVAILABLE on a slave
/// (its log is its master's: writes go to the master, as 4.9's store answers).
pub fn check_writable(state: &BrokerState) -> Result<(), BrokerError> {
    if state.config.broker_role.is_slave() {
        return Err(BrokerError::refused(
            response::SERVICE_NOT_AVAILABLE,
            format!(
                "the broker[{}] is a SLAVE (brokerId {}): messages are sent to its master",
                state.config.broker_name, state.config.broker_id
            ),
        ));
    }
    // Controller mode, as 5.x: a master without enough in-sync replicas refuses before storing.
    if let (Some(_), Some(super::ha::Ha::Master(m))) = (&state.config.controller.run, &state.ha) {
        if !m.enough_in_sync() {
            return Err(BrokerError::refused(
                response::SYSTEM_ERROR,
                format!(
                    "in-sync replicas not enough: the broker[{}] has {} of the {} it needs",
                    state.config.broker_name,
                    m.required().len() + 1,
                    m.min_replicas()
                ),
            ));
        }
    }
    if state.permission() & perm::WRITE == 0 {
        return Err(BrokerError::refused(
            response::NO_PERMISSION,
            format!(
                "the broker[{}] sending message is forbidden",
                state.config.broker_name
            ),
        ));
    }
    Ok(())
}

/// Routes each message for its put: what it becomes (a delayed or timed message waits in its
/// system topic; a half message goes to the half topic).
pub fn route(state: &BrokerState, unit: &mut [MessageToStore]) -> Result<(), BrokerError> {
    let now = sluice_storage::clock::now_millis();
    for m in unit {
        route_for_put(m, &state.config.store, now).map_err(|e| {
            let code = match e {
                RouteError::TimersDisabled => response::SYSTEM_ERROR,
                _ => response::MESSAGE_ILLEGAL,
            };
            BrokerError::refused(code, e.to_string())
        })?;
    }
    Ok(())
}

/// Stores a routed unit by the flush mode's writer path ([`sluice_dataflows::Submitter::put`]:
/// appended right here under ASYNC_FLUSH, the core pipeline's group commit under SYNC_FLUSH,
/// acked after fdatasync) and waits for its ack.
pub async fn store(state: &BrokerState, unit: Vec<MessageToStore>) -> Result<Stored, BrokerError> {
    store_with(state, unit, true).await
}

/// [`store`] for a producer that says whether it waits for the store's guarantee (`wait`:
/// its `WAIT` property, `waitStoreMsgOK`). Without it the unit is answered once appended —
/// before its group is durable (SYNC_FLUSH) or a slave has it (SYNC_MASTER, controller
/// mode) — as 4.9 and 5.x skip their flush and HA waits for it.
pub async fn store_with(
    state: &BrokerState,
    unit: Vec<MessageToStore>,
    wait: bool,
) -> Result<Stored, BrokerError> {
    let captured = state.tracer.as_ref().map(|t| t.capture(&unit));
    let stored = store_untraced(state, unit, wait).await;
    traced(state, captured, &stored);
    stored
}

/// The broker's own `Pub` trace records for a stored unit (`traceTopicEnable`).
fn traced(
    state: &BrokerState,
    captured: Option<Vec<super::trace::Captured>>,
    stored: &Result<Stored, BrokerError>,
) {
    if let (Some(t), Some(c), Ok(s)) = (&state.tracer, captured, stored) {
        t.stored(&c, &s.appended, state.broker_addr());
    }
}

async fn store_untraced(
    state: &BrokerState,
    unit: Vec<MessageToStore>,
    wait: bool,
) -> Result<Stored, BrokerError> {
    if let Some(master) = &state.replica_wait {
        if !wait {
            return stored(state.submitter.append_here(unit));
        }
        return store_replicated(state, master, unit).await;
    }
    let (tx, rx) = tokio::sync::oneshot::channel();
    let req = AppendRequest {
        unit,
        reply: Box::new(move |r| {
            let _ = tx.send(r);
        }),
        wait,
    };
    state.submitter.put(req).map_err(|(e, _)| e)?;
    stored(rx.await.map_err(|_| PipelineError::Stopped))
}

/// A SYNC_MASTER under ASYNC_FLUSH: appended on this thread as any ASYNC_FLUSH send, then
/// answered once a slave reports having it — SLAVE_NOT_AVAILABLE at once when no slave can take
/// it, FLUSH_SLAVE_TIMEOUT after `slaveTimeout` (stored either way, as 4.9 answers).
async fn store_replicated(
    state: &BrokerState,
    master: &super::ha::HaMaster,
    unit: Vec<MessageToStore>,
) -> Result<Stored, BrokerError> {
    let mut stored = self::stored(state.submitter.append_here(unit))?;
    let end = stored.end();
    if !master.offer_put(end) {
        stored.code = response::SLAVE_NOT_AVAILABLE;
    } else if !master.wait_acked(end, state.config.ha.slave_timeout).await {
        stored.code = response::FLUSH_SLAVE_TIMEOUT;
    }
    Ok(stored)
}

/// The same, on the calling thread: only when units are appended by their caller
/// (ASYNC_FLUSH, [`sluice_dataflows::Submitter::appends_in_caller`]).
pub fn store_now(state: &BrokerState, unit: Vec<MessageToStore>) -> Result<Stored, BrokerError> {
    let captured = state.tracer.as_ref().map(|t| t.capture(&unit));
    let s = stored(state.submitter.append_here(unit));
    traced(state, captured, &s);
    s
}

fn stored(answer: Result<AppendReply, PipelineError>) -> Result<Stored, BrokerError> {
    let (appended, code) = match answer? {
        AppendReply::Stored(a) => (a, response::SUCCESS),
        AppendReply::FlushTimeout(a) => (a, response::FLUSH_DISK_TIMEOUT),
        AppendReply::SlaveTimeout(a) => (a, response::FLUSH_SLAVE_TIMEOUT),
        AppendReply::SlaveNotAvailable(a) => (a, response::SLAVE_NOT_AVAILABLE),
        AppendReply::Refused(e) => return Err(BrokerError::Store(e)),
        AppendReply::Failed(e) => return Err(BrokerError::Unavailable(e)),
    };
    Ok(Stored { appended, code })
}

/// Counts a stored send to `topic` (statsAll, runtime info, `/metrics`): its messages and their
/// stored sizes, and `elapsed` from its arrival to its ack.
pub fn count(state: &BrokerState, topic: &str, appended: &[Appended], elapsed: std::time::Duration) {
    state.stats.record_put(
        topic,
        &state.config.broker_cluster_name,
        appended.iter().map(|a| u64::from(a.size)),
        elapsed,
    );
}
