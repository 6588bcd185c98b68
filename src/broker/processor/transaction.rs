//! END_TRANSACTION (37) — protocol.md §2.3.8, §6.3 — and the broker → producer
//! CHECK_TRANSACTION_STATE (39) the scheduler's checker sends (§2.3.9, §6.4).

use std::sync::Arc;

use crate::broker::schedule::rebuild;
use crate::broker::schedule::{with_record, CheckRequest, TxState};
use sluice_remoting::codes::{request, response};
use sluice_remoting::header::transaction::{
    CheckTransactionStateRequestHeader, EndTransactionRequestHeader, TransactionResolution,
};
use sluice_remoting::RemotingCommand;
use sluice_storage::msgid::offset_msg_id;
use sluice_storage::properties::names;
use sluice_storage::system_topics::HALF_TOPIC;

use super::Handled;
use crate::broker::error::BrokerError;
use crate::broker::put;
use crate::broker::BrokerState;
use sluice_remoting::net::{Connection, Outbound};

/// Handles END_TRANSACTION; `Ok(None)` = no reply (the producer does not know yet).
pub async fn end_transaction(
    state: &Arc<BrokerState>,
    conn: &Arc<Connection>,
    cmd: &RemotingCommand,
    h: EndTransactionRequestHeader,
) -> Handled {
    if state.config.broker_role.is_slave() {
        return Err(BrokerError::refused(
            response::SLAVE_NOT_AVAILABLE,
            "a SLAVE does not end transactions: END_TRANSACTION goes to the master",
        ));
    }
    let resolution = match h.resolution() {
        Some(TransactionResolution::Unknown) => {
            tracing::debug!(producer = %conn.peer(), offset = h.commit_log_offset, "transaction state unknown");
            return Ok(None);
        }
        Some(r) => r,
        None => {
            return Err(BrokerError::system(format!(
                "commitOrRollback {} is not 0, 8 or 12",
                h.commit_or_rollback
            )))
        }
    };
    end(state, cmd, &h, resolution).await.map(Some)
}

async fn end(
    state: &Arc<BrokerState>,
    cmd: &RemotingCommand,
    h: &EndTransactionRequestHeader,
    resolution: TransactionResolution,
) -> Result<Outbound, BrokerError> {
    let (Ok(phys), Ok(half_offset)) = (
        u64::try_from(h.commit_log_offset),
        u64::try_from(h.tran_state_table_offset),
    ) else {
        return Err(BrokerError::system("Find prepared transaction message failed"));
    };
    let checked = with_record(&state.store, phys, |r| {
        if r.topic != HALF_TOPIC {
            return Err("the offset does not hold a half message".to_owned());
        }
        if r.property(names::PGROUP) != Some(h.producer_group.as_str()) {
            return Err("The producer group wrong".to_owned());
        }
        if r.queue_offset != h.tran_state_table_offset {
            return Err("The transaction state table offset wrong".to_owned());
        }
        // The committed copy (a commit only), built while the record is at hand.
        Ok(match resolution {
            TransactionResolution::Commit => rebuild::committed(r, phys),
            _ => None,
        })
    });
    let committed = checked
        .map_err(|_| BrokerError::system("Find prepared transaction message failed"))?
        .map_err(BrokerError::System)?;
    let log = state.transactions.clone();
    let Some(_claim) = log.claim(half_offset) else {
        return Err(BrokerError::system(
            "the transaction is being ended by another request",
        ));
    };
    let wanted = match resolution {
        TransactionResolution::Commit => TxState::Committed,
        _ => TxState::RolledBack,
    };
    match log.state(half_offset).map_err(BrokerError::system)? {
        TxState::Pending { .. } => {}
        s if s == wanted || s == TxState::Ended => return Ok(super::ok(cmd)),
        s => {
            return Err(BrokerError::system(format!(
                "the transaction already ended: {s:?}"
            )))
        }
    }
    let mut unit = Vec::with_capacity(2);
    if resolution == TransactionResolution::Commit {
        let committed =
            committed.ok_or_else(|| BrokerError::system("the half message names no REAL_TOPIC"))?;
        unit.push(committed);
        put::route(state, &mut unit)?;
    }
    let now = sluice_storage::clock::now_millis();
    unit.push(rebuild::op_record(half_offset, state.broker_addr(), now));
    put::store(state, unit).await?;
    if let Some(t) = &state.tracer {
        t.ended(
            &h.producer_group,
            h.topic.as_deref().unwrap_or_default(),
            h.msg_id.as_deref().unwrap_or_default(),
            h.transaction_id.as_deref().unwrap_or_default(),
            resolution == TransactionResolution::Commit,
            h.from_transaction_check,
        );
    }
    if let Some(m) = state.stats.metrics() {
        m.transaction_ended(resolution == TransactionResolution::Commit);
    }
    if let Err(e) = log.set(half_offset, wanted) {
        // The op record is stored: the checker replays it.
        tracing::warn!(half_offset, error = %e, "recording a transaction end failed");
    }
    Ok(super::ok(cmd))
}

/// Sends CHECK_TRANSACTION_STATE to a live producer of the half message's group (oneway).
pub fn send_check(state: &BrokerState, req: CheckRequest) -> bool {
    let Some(conn) = state.clients.producer_connection(&req.producer_group) else {
        return false;
    };
    let header = CheckTransactionStateRequestHeader {
        tran_state_table_offset: req.half_offset as i64,
        commit_log_offset: req.commit_log_offset as i64,
        msg_id: req.msg_id,
        transaction_id: req.transaction_id,
        offset_msg_id: Some(offset_msg_id(state.broker_addr(), req.commit_log_offset)),
        topic: Some(req.real_topic),
        broker_name: Some(state.config.broker_name.clone()),
    };
    let cmd = RemotingCommand::request(request::CHECK_TRANSACTION_STATE)
        .with_header(&header)
        .with_body(req.body);
    conn.send_oneway(cmd)
}
