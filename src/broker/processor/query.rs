//! QUERY_MESSAGE (12) by key / unique key through the IndexFiles, VIEW_MESSAGE_BY_ID (33) by
//! CommitLog offset — protocol.md §2.3.3, §2.3.4. When the live store has nothing and the
//! archive is enabled, both look in the archived segments (Parquet, through the manifest) and
//! answer with the stored records re-encoded from the rows.

use std::sync::Arc;

use bytes::Bytes;
use sluice_remoting::codes::response;
use sluice_remoting::header::query::{
    QueryMessageRequestHeader, QueryMessageResponseHeader, ViewMessageRequestHeader,
};
use sluice_remoting::RemotingCommand;

use crate::broker::error::BrokerError;
use crate::broker::BrokerState;
use sluice_remoting::net::Outbound;

pub async fn query_message(
    state: &Arc<BrokerState>,
    cmd: &RemotingCommand,
    h: QueryMessageRequestHeader,
) -> Result<Outbound, BrokerError> {
    let max = h.max_num.clamp(1, 64) as usize;
    let store = state.store.clone();
    let (topic, key) = (h.topic.clone(), h.key.clone());
    let (begin, end) = (h.begin_timestamp, h.end_timestamp);
    let archiver = state.archiver.clone();
    let found = tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<Bytes>> {
        let live = store.query_by_key(&topic, &key, max, begin, end)?;
        if !live.is_empty() {
            return Ok(live.into_iter().map(|s| s.into_bytes()).collect());
        }
        let Some(archiver) = archiver else {
            return Ok(Vec::new());
        };
        let entries = store.meta().archive_entries()?;
        let found =
            sluice_parquet::lookup::find_by_key(archiver.dir(), &entries, &topic, &key, max, begin, end)?;
        found.iter().map(|m| Ok(Bytes::from(m.encode()?))).collect()
    })
    .await;
    let records = found.map_err(BrokerError::system)?.map_err(BrokerError::system)?;
    if records.is_empty() {
        return Err(BrokerError::refused(
            response::QUERY_NOT_FOUND,
            "can not find message, maybe time range not correct",
        ));
    }
    let header = QueryMessageResponseHeader {
        index_last_update_timestamp: sluice_storage::clock::now_millis(),
        index_last_update_phyoffset: state.store.dispatched_offset() as i64,
    };
    let mut reply = cmd.success_response();
    reply.ext_fields = header.to_ext();
    Ok(Outbound {
        cmd: reply,
        extra_body: records,
    })
}

pub async fn view_message(
    state: &Arc<BrokerState>,
    cmd: &RemotingCommand,
    h: ViewMessageRequestHeader,
) -> Result<Outbound, BrokerError> {
    let offset = h.offset.max(0) as u64;
    let live = state.store.read_message_at(offset);
    let found = match (live, state.archiver.clone()) {
        (Ok(slice), _) => Ok(slice.into_bytes()),
        (Err(e), Some(archiver)) if offset < state.store.commitlog().min_offset() => {
            let store = state.store.clone();
            let archived = tokio::task::spawn_blocking(move || -> anyhow::Result<Option<Bytes>> {
                let entries = store.meta().archive_entries()?;
                let found = sluice_parquet::lookup::find_by_offset(archiver.dir(), &entries, offset)?;
                Ok(found.map(|m| m.encode()).transpose()?.map(Bytes::from))
            })
            .await;
            match archived {
                Ok(Ok(Some(bytes))) => Ok(bytes),
                Ok(Ok(None)) => Err(e.to_string()),
                Ok(Err(a)) => Err(format!("{e}; archive: {a:#}")),
                Err(a) => Err(format!("{e}; archive: {a}")),
            }
        }
        (Err(e), _) => Err(e.to_string()),
    };
    match found {
        Ok(bytes) => Ok(Outbound {
            cmd: cmd.success_response(),
            extra_body: vec![bytes],
        }),
        Err(e) => Err(BrokerError::system(format!(
            "can not find message by the offset, {}: {e}",
            h.offset
        ))),
    }
}
