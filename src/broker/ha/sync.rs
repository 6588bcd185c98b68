//! A slave's metadata sync (protocol.md §9.0 item 5, §9.1): as soon as it knows its master
//! (4.9 waits 3 s), then every 10 s,
//! it asks its master (the `masterAddr` the NameServer gave) for GET_ALL_TOPIC_CONFIG,
//! GET_ALL_CONSUMER_OFFSET, GET_ALL_DELAY_OFFSET and GET_ALL_SUBSCRIPTIONGROUP_CONFIG.
//! Topics and groups are replaced when the master's `dataVersion` moved, as 4.9 does. Consumer
//! offsets are merged upwards: an offset a consumer committed on this slave while the master
//! was away is never rolled back by an older one from the master, and is sent to the master
//! when it is above the master's (`commits.rs`: RocketMQ's #1094 duplicates).

use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use sluice_remoting::body::admin::SubscriptionGroupWrapper;
use sluice_remoting::body::offsets::{ConsumerOffsetTable, DelayOffsetTable};
use sluice_remoting::body::register::TopicConfigSerializeWrapper;
use sluice_remoting::body::{DataVersion, JsonBody};
use sluice_remoting::codes::{request, response};
use sluice_remoting::header::offsets::UpdateConsumerOffsetRequestHeader;
use sluice_remoting::net::connect::refuse_requests;
use sluice_remoting::net::{connect, Connection};
use sluice_remoting::{DecoderLimits, RemotingCommand};
use tokio::sync::watch;

use crate::broker::processor::consumer_admin;
use crate::broker::{schedule, topics, BrokerState};

/// Before the first sync (the master's address comes with the first registration).
const FIRST_DELAY: Duration = Duration::from_millis(500);
const PERIOD: Duration = Duration::from_secs(10);
/// In controller mode any slave may be master next: what it misses of the master's metadata
/// is lost at a switch (5.x deployments lose topics created just before one), so it asks
/// every 2 s.
const CONTROLLED_PERIOD: Duration = Duration::from_secs(2);
const TIMEOUT: Duration = Duration::from_secs(5);

/// What the last sync applied, to replace tables only when the master's changed.
#[derive(Default)]
struct Seen {
    conn: Option<(String, Arc<Connection>)>,
    topics: Option<DataVersion>,
    groups: Option<DataVersion>,
}

/// The sync loop of a slave.
pub async fn run(state: Arc<BrokerState>, mut shutdown: watch::Receiver<bool>) {
    let mut seen = Seen::default();
    let mut wait = FIRST_DELAY;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = shutdown.changed() => break,
        }
        let master = state.master_addr.lock().ok().and_then(|m| m.clone());
        let Some(master) = master else {
            // Look again soon: the first sync follows the master's address closely.
            wait = Duration::from_millis(200);
            continue;
        };
        wait = if state.config.controller.run.is_some() {
            CONTROLLED_PERIOD
        } else {
            PERIOD
        };
        if let Err(e) = sync_once(&state, &master, &mut seen).await {
            tracing::warn!(master = %master, error = %format!("{e:#}"), "metadata sync failed");
            seen.conn = None;
        }
    }
    if let Some((_, c)) = seen.conn {
        c.close();
    }
}

/// One metadata request to the master, signed with the broker's `accessKey`/`secretKey` when
/// set (so that a master with `aclEnable=true` answers it).
async fn call(state: &BrokerState, conn: &Connection, code: i32) -> anyhow::Result<RemotingCommand> {
    let mut cmd = RemotingCommand::request(code);
    state.config.sign_own(&mut cmd);
    let reply = conn.request(cmd, TIMEOUT).await?;
    if reply.code != response::SUCCESS {
        bail!(
            "request {code} answered {}: {}",
            reply.code,
            reply.remark.unwrap_or_default()
        );
    }
    Ok(reply)
}

async fn sync_once(state: &BrokerState, master: &str, seen: &mut Seen) -> anyhow::Result<()> {
    let conn = match &seen.conn {
        Some((addr, c)) if addr == master && !c.is_closed() => c.clone(),
        _ => {
            let limits = DecoderLimits {
                max_frame: 64 << 20,
                max_body: 64 << 20,
            };
            let c = connect(master, TIMEOUT, limits, refuse_requests)
                .await
                .with_context(|| format!("connecting to the master {master}"))?;
            seen.conn = Some((master.to_owned(), c.clone()));
            c
        }
    };

    let reply = call(state, &conn, request::GET_ALL_TOPIC_CONFIG).await?;
    let wrapper = TopicConfigSerializeWrapper::from_json(&reply.body).context("the master's topics")?;
    if seen.topics.as_ref() != Some(&wrapper.data_version) {
        let theirs: Vec<_> = wrapper
            .topic_config_table
            .values()
            .map(topics::from_wire)
            .collect();
        for t in &theirs {
            state.topics.put(t.clone())?;
        }
        for mine in state.topics.all() {
            if !wrapper.topic_config_table.contains_key(&mine.topic_name) {
                state.topics.delete(&mine.topic_name)?;
            }
        }
        tracing::info!(topics = theirs.len(), "topics synced from the master");
        seen.topics = Some(wrapper.data_version);
    }

    let reply = call(state, &conn, request::GET_ALL_CONSUMER_OFFSET).await?;
    let table = ConsumerOffsetTable::from_json(&reply.body).context("the master's consumer offsets")?;
    let meta = state.store.meta();
    for (key, queues) in &table.offset_table {
        let Some((topic, group)) = ConsumerOffsetTable::split_key(key) else {
            continue;
        };
        for (&queue, &offset) in queues {
            let (Ok(queue), Ok(offset)) = (u32::try_from(queue), u64::try_from(offset)) else {
                continue;
            };
            let mine = meta.consumer_offset(group, topic, queue)?;
            if mine.is_none_or(|m| m < offset) {
                meta.put_consumer_offset(group, topic, queue, offset)?;
            }
        }
    }

    forward_commits(state, &conn, &table).await?;

    let reply = call(state, &conn, request::GET_ALL_DELAY_OFFSET).await?;
    let delays = DelayOffsetTable::from_json(&reply.body).context("the master's delay offsets")?;
    let delays: Vec<(i32, u64)> = delays
        .offset_table
        .into_iter()
        .filter_map(|(level, next)| u64::try_from(next).ok().map(|n| (level, n)))
        .collect();
    schedule::delay::set_offsets(&state.store, &delays);

    let reply = call(state, &conn, request::GET_ALL_SUBSCRIPTIONGROUP_CONFIG).await?;
    let groups = SubscriptionGroupWrapper::from_json(&reply.body).context("the master's groups")?;
    if seen.groups.as_ref() != Some(&groups.data_version) {
        for g in groups.subscription_group_table.into_values() {
            meta.put_subscription_group(&consumer_admin::from_wire(g))?;
        }
        seen.groups = Some(groups.data_version);
    }
    Ok(())
}

/// Sends the master each offset a client committed on this slave that is above the master's
/// (`table`), as a client commits one (UPDATE_CONSUMER_OFFSET); forgets those the master has.
async fn forward_commits(
    state: &BrokerState,
    conn: &Connection,
    table: &ConsumerOffsetTable,
) -> anyhow::Result<()> {
    for ((group, topic, queue), offset) in state.slave_commits.pending() {
        let theirs = table
            .offset_table
            .get(&ConsumerOffsetTable::key(&topic, &group))
            .and_then(|q| q.get(&i32::try_from(queue).unwrap_or(i32::MAX)))
            .copied()
            .and_then(|o| u64::try_from(o).ok());
        let key = (group, topic, queue);
        if theirs.is_none_or(|t| t < offset) {
            let h = UpdateConsumerOffsetRequestHeader {
                consumer_group: key.0.clone(),
                topic: key.1.clone(),
                queue_id: i32::try_from(queue).unwrap_or(i32::MAX),
                commit_offset: i64::try_from(offset).unwrap_or(i64::MAX),
            };
            let mut cmd = RemotingCommand::request(request::UPDATE_CONSUMER_OFFSET).with_header(&h);
            state.config.sign_own(&mut cmd);
            let reply = conn.request(cmd, TIMEOUT).await?;
            if reply.code != response::SUCCESS {
                bail!(
                    "the master refused the offset {offset} of {}@{} queue {queue}: {} {}",
                    key.1,
                    key.0,
                    reply.code,
                    reply.remark.unwrap_or_default()
                );
            }
            tracing::info!(group = %key.0, topic = %key.1, queue, offset, "consumer offset committed on this slave sent to the master");
        }
        state.slave_commits.settled(&key, offset);
    }
    Ok(())
}
