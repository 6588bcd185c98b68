//! Consumer offsets (RocksDB) and queue offset queries — protocol.md §2.3.13, §2.3.14.

use std::sync::Arc;

use sluice_remoting::body::offsets::{ConsumerOffsetTable, DelayOffsetTable, MessageRequestModeTable};
use sluice_remoting::body::JsonBody;
use sluice_remoting::codes::response;
use sluice_remoting::header::offsets::{
    GetEarliestMsgStoretimeRequestHeader, GetEarliestMsgStoretimeResponseHeader, GetMaxOffsetRequestHeader,
    GetMinOffsetRequestHeader, OffsetResponseHeader, QueryConsumerOffsetRequestHeader,
    SearchOffsetRequestHeader, UpdateConsumerOffsetRequestHeader,
};
use sluice_remoting::{CommandHeader, RemotingCommand};

use crate::broker::error::BrokerError;
use crate::broker::BrokerState;
use sluice_remoting::net::Outbound;

fn with<H: CommandHeader>(cmd: &RemotingCommand, header: &H) -> Outbound {
    let mut r = cmd.success_response();
    r.ext_fields = header.to_ext();
    r.into()
}

fn offset_reply(cmd: &RemotingCommand, offset: u64) -> Outbound {
    with(
        cmd,
        &OffsetResponseHeader {
            offset: offset as i64,
        },
    )
}

pub fn query_consumer_offset(
    state: &Arc<BrokerState>,
    cmd: &RemotingCommand,
    h: QueryConsumerOffsetRequestHeader,
) -> Result<Outbound, BrokerError> {
    let queue = h.queue_id.max(0) as u32;
    let committed = state
        .store
        .meta()
        .consumer_offset(&h.consumer_group, &h.topic, queue)
        .map_err(BrokerError::system)?;
    if let Some(o) = committed {
        return Ok(offset_reply(cmd, o));
    }
    // A new group on a young queue starts at 0 (the first message is still in memory).
    let min = state.store.min_queue_offset(&h.topic, queue);
    let young = min == 0
        && state
            .store
            .consume_queue(&h.topic, queue)
            .and_then(|cq| cq.get(0))
            .is_none_or(|u| {
                let end = state.store.commitlog().write_pos();
                end.saturating_sub(u.phys_offset as u64) < state.store.hot_distance()
            });
    if h.set_zero_if_not_found != Some(false) && young {
        return Ok(offset_reply(cmd, 0));
    }
    Err(BrokerError::refused(
        response::QUERY_NOT_FOUND,
        "Not found, V3_0_6_SNAPSHOT maybe this group consumer boot first",
    ))
}

pub fn update_consumer_offset(
    state: &Arc<BrokerState>,
    cmd: &RemotingCommand,
    h: UpdateConsumerOffsetRequestHeader,
) -> Result<Outbound, BrokerError> {
    if h.queue_id < 0 || h.commit_offset < 0 {
        return Err(BrokerError::system(
            "queueId and commitOffset must not be negative",
        ));
    }
    state
        .store
        .meta()
        .put_consumer_offset(
            &h.consumer_group,
            &h.topic,
            h.queue_id as u32,
            h.commit_offset as u64,
        )
        .map_err(BrokerError::system)?;
    if state.config.broker_role.is_slave() {
        state.slave_commits.committed(
            &h.consumer_group,
            &h.topic,
            h.queue_id as u32,
            h.commit_offset as u64,
        );
    }
    Ok(super::ok(cmd))
}

pub fn max_offset(state: &Arc<BrokerState>, cmd: &RemotingCommand, h: GetMaxOffsetRequestHeader) -> Outbound {
    offset_reply(
        cmd,
        state.store.max_queue_offset(&h.topic, h.queue_id.max(0) as u32),
    )
}

pub fn min_offset(state: &Arc<BrokerState>, cmd: &RemotingCommand, h: GetMinOffsetRequestHeader) -> Outbound {
    offset_reply(
        cmd,
        state.store.min_queue_offset(&h.topic, h.queue_id.max(0) as u32),
    )
}

pub fn earliest_store_time(
    state: &Arc<BrokerState>,
    cmd: &RemotingCommand,
    h: GetEarliestMsgStoretimeRequestHeader,
) -> Outbound {
    let ts = state
        .store
        .earliest_message_time(&h.topic, h.queue_id.max(0) as u32)
        .unwrap_or(-1);
    with(cmd, &GetEarliestMsgStoretimeResponseHeader { timestamp: ts })
}

pub fn search_by_timestamp(
    state: &Arc<BrokerState>,
    cmd: &RemotingCommand,
    h: SearchOffsetRequestHeader,
) -> Outbound {
    let queue = h.queue_id.max(0) as u32;
    offset_reply(
        cmd,
        state
            .store
            .search_offset_by_timestamp(&h.topic, queue, h.timestamp),
    )
}

/// GET_ALL_CONSUMER_OFFSET (43): every committed offset as consumerOffset.json (a slave's
/// metadata sync, protocol.md §9.1).
pub fn all_consumer_offsets(
    state: &Arc<BrokerState>,
    cmd: &RemotingCommand,
) -> Result<Outbound, BrokerError> {
    let mut table = ConsumerOffsetTable {
        data_version: Some(metadata_version()),
        ..ConsumerOffsetTable::default()
    };
    for (group, topic, queue, offset) in state
        .store
        .meta()
        .all_consumer_offsets()
        .map_err(BrokerError::system)?
    {
        table
            .offset_table
            .entry(ConsumerOffsetTable::key(&topic, &group))
            .or_default()
            .insert(queue as i32, offset as i64);
    }
    Ok(super::ok_with(cmd, table.to_json()))
}

/// The `dataVersion` of an offsets answer: when it was taken (5.x's wrappers carry one; a slave
/// merges offsets whatever it says).
fn metadata_version() -> sluice_remoting::body::common::DataVersion {
    sluice_remoting::body::common::DataVersion {
        counter: 0,
        state_version: 0,
        timestamp: sluice_storage::clock::now_millis(),
    }
}

/// GET_ALL_DELAY_OFFSET (45): each delay level's progress as delayOffset.json.
pub fn all_delay_offsets(state: &Arc<BrokerState>, cmd: &RemotingCommand) -> Result<Outbound, BrokerError> {
    let table = DelayOffsetTable {
        offset_table: crate::broker::schedule::delay::offsets(&state.store)
            .into_iter()
            .map(|(level, next)| (level, next as i64))
            .collect(),
        data_version: Some(metadata_version()),
    };
    Ok(super::ok_with(cmd, table.to_json()))
}

/// GET_ALL_MESSAGE_REQUEST_MODE (402, 5.x; its slaves ask it with the other metadata): which
/// groups consume a topic by POP. sluice serves no POP consumers (SET_MESSAGE_REQUEST_MODE is
/// refused as unsupported), so every group pulls and the map is empty.
pub fn all_request_modes(cmd: &RemotingCommand) -> Outbound {
    super::ok_with(cmd, MessageRequestModeTable::default().to_json())
}
