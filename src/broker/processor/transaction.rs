//! END_TRANSACTION (37) — protocol.md §2.3.8, §6.3 — and the broker → producer
//! CHECK_TRANSACTION_STATE (39) the scheduler's checker sends (§2.3.9, §6.4).

use std::sync::Arc;

use sluice_dataflows::schedule::rebuild;
use sluice_dataflows::schedule::route::route_for_put;
use sluice_dataflows::schedule::{with_record, CheckRequest, TxState};
use sluice_remoting::codes::{request, response};
use sluice_remoting::header::transaction::{
    CheckTransactionStateRequestHeader, EndTransactionRequestHeader, TransactionResolution,
};
use sluice_remoting::RemotingCommand;
use sluice_storage::msgid::offset_msg_id;
use sluice_storage::properties::names;
use sluice_storage::system_topics::HALF_TOPIC;

use super::{bad_header, system_error};
use crate::broker::BrokerState;
use crate::net::{Connection, Outbound};

/// Handles END_TRANSACTION; `None` = no reply (the producer does not know yet).
pub async fn end_transaction(
    state: &Arc<BrokerState>,
    conn: &Arc<Connection>,
    cmd: &RemotingCommand,
) -> Option<Outbound> {
    let h = match EndTransactionRequestHeader::from_ext(&cmd.ext_fields) {
        Ok(h) => h,
        Err(e) => return Some(bad_header(cmd, &e)),
    };
    let resolution = match h.resolution() {
        Some(TransactionResolution::Unknown) => {
            tracing::debug!(producer = %conn.peer(), offset = h.commit_log_offset, "transaction state unknown");
            return None;
        }
        Some(r) => r,
        None => {
            return Some(system_error(
                cmd,
                format!("commitOrRollback {} is not 0, 8 or 12", h.commit_or_rollback),
            ))
        }
    };
    Some(end(state, cmd, &h, resolution).await)
}

async fn end(
    state: &Arc<BrokerState>,
    cmd: &RemotingCommand,
    h: &EndTransactionRequestHeader,
    resolution: TransactionResolution,
) -> Outbound {
    let (Ok(phys), Ok(half_offset)) = (
        u64::try_from(h.commit_log_offset),
        u64::try_from(h.tran_state_table_offset),
    ) else {
        return system_error(cmd, "Find prepared transaction message failed");
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
    let committed = match checked {
        Ok(Ok(committed)) => committed,
        Ok(Err(why)) => return system_error(cmd, why),
        Err(_) => return system_error(cmd, "Find prepared transaction message failed"),
    };
    let log = state.transactions.clone();
    let Some(_claim) = log.claim(half_offset) else {
        return system_error(cmd, "the transaction is being ended by another request");
    };
    let wanted = match resolution {
        TransactionResolution::Commit => TxState::Committed,
        _ => TxState::RolledBack,
    };
    match log.state(half_offset) {
        Ok(TxState::Pending { .. }) => {}
        Ok(s) if s == wanted || s == TxState::Ended => {
            return cmd.response_to(response::SUCCESS, None).into();
        }
        Ok(s) => return system_error(cmd, format!("the transaction already ended: {s:?}")),
        Err(e) => return system_error(cmd, e),
    }
    let now = sluice_storage::clock::now_millis();
    let mut unit = Vec::with_capacity(2);
    if resolution == TransactionResolution::Commit {
        let Some(mut m) = committed else {
            return system_error(cmd, "the half message names no REAL_TOPIC");
        };
        if let Err(e) = route_for_put(&mut m, &state.config.store, now) {
            return system_error(cmd, e);
        }
        unit.push(m);
    }
    unit.push(rebuild::op_record(half_offset, state.broker_addr(), now));
    if let Err(out) = super::stored_or_reply(cmd, super::store_unit(state, unit).await) {
        return *out;
    }
    if let Err(e) = log.set(half_offset, wanted) {
        // The op record is stored: the checker replays it.
        tracing::warn!(half_offset, error = %e, "recording a transaction end failed");
    }
    cmd.response_to(response::SUCCESS, None).into()
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
