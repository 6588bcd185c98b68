//! QUERY_MESSAGE (12) by key / unique key through the IndexFiles, VIEW_MESSAGE_BY_ID (33) by
//! CommitLog offset — protocol.md §2.3.3, §2.3.4.

use std::sync::Arc;

use sluice_remoting::codes::response;
use sluice_remoting::header::query::{
    QueryMessageRequestHeader, QueryMessageResponseHeader, ViewMessageRequestHeader,
};
use sluice_remoting::RemotingCommand;

use super::bad_header;
use crate::broker::BrokerState;
use crate::net::Outbound;

pub async fn query_message(state: &Arc<BrokerState>, cmd: &RemotingCommand) -> Outbound {
    let h = match QueryMessageRequestHeader::from_ext(&cmd.ext_fields) {
        Ok(h) => h,
        Err(e) => return bad_header(cmd, &e),
    };
    let max = h.max_num.clamp(1, 64) as usize;
    let store = state.store.clone();
    let (topic, key) = (h.topic.clone(), h.key.clone());
    let (begin, end) = (h.begin_timestamp, h.end_timestamp);
    let found = tokio::task::spawn_blocking(move || store.query_by_key(&topic, &key, max, begin, end)).await;
    let slices = match found {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => return super::system_error(cmd, e),
        Err(e) => return super::system_error(cmd, e),
    };
    if slices.is_empty() {
        return cmd
            .error_response(
                response::QUERY_NOT_FOUND,
                "can not find message, maybe time range not correct",
            )
            .into();
    }
    let header = QueryMessageResponseHeader {
        index_last_update_timestamp: sluice_storage::clock::now_millis(),
        index_last_update_phyoffset: state.store.dispatched_offset() as i64,
    };
    let mut reply = cmd.success_response();
    reply.ext_fields = header.to_ext();
    Outbound {
        cmd: reply,
        extra_body: slices.into_iter().map(|s| s.into_bytes()).collect(),
    }
}

pub fn view_message(state: &Arc<BrokerState>, cmd: &RemotingCommand) -> Outbound {
    let h = match ViewMessageRequestHeader::from_ext(&cmd.ext_fields) {
        Ok(h) => h,
        Err(e) => return bad_header(cmd, &e),
    };
    match state.store.read_message_at(h.offset.max(0) as u64) {
        Ok(slice) => Outbound {
            cmd: cmd.success_response(),
            extra_body: vec![slice.into_bytes()],
        },
        Err(e) => cmd
            .error_response(
                response::SYSTEM_ERROR,
                format!("can not find message by the offset, {}: {e}", h.offset),
            )
            .into(),
    }
}
