//! Who owns which queue (protocol.md §7.2), where a newly owned queue starts (§7.6), the
//! orderly broker locks (§7.4), and the consumer's periodic jobs: rebalance (20 s and on
//! NOTIFY_CONSUMER_IDS_CHANGED), offset persistence (5 s), re-locking (20 s).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use sluice_remoting::body::lock::{LockBatchRequestBody, LockBatchResponseBody};
use sluice_remoting::body::{ConsumerListBody, JsonBody, MessageQueue};
use sluice_remoting::codes::request;
use sluice_remoting::header::heartbeat::GetConsumerListByGroupRequestHeader;
use sluice_remoting::RemotingCommand;
use tokio::sync::Notify;

use super::process_queue::ProcessQueue;
use super::{pull_loop, ConsumeFrom, Shared, RETRY_PREFIX};
use crate::error::{ClientError, Result};
use crate::route::TopicRoute;

/// A lock not renewed for this long no longer allows consuming (§7.4).
pub(crate) const LOCK_MAX_AGE: Duration = Duration::from_secs(30);

/// First heartbeat with the subscriptions, first rebalance, then the periodic jobs.
pub(crate) async fn start(shared: Arc<Shared>, ids_changed: Arc<Notify>) {
    let topics: Vec<String> = shared
        .subscriptions
        .lock()
        .map(|s| s.keys().cloned().collect())
        .unwrap_or_default();
    for t in &topics {
        if let Err(e) = shared.instance().update_route(t).await {
            tracing::warn!(topic = %t, error = %e, "no route yet");
        }
    }
    shared.instance().heartbeat_all().await;
    rebalance(&shared).await;
    tokio::spawn(periodic(shared, ids_changed));
}

async fn periodic(shared: Arc<Shared>, ids_changed: Arc<Notify>) {
    let start = tokio::time::Instant::now();
    let mut rebalance_tick = tokio::time::interval_at(
        start + shared.config.rebalance_interval,
        shared.config.rebalance_interval,
    );
    let mut persist_tick = tokio::time::interval_at(
        start + shared.config.persist_interval,
        shared.config.persist_interval,
    );
    let mut lock_tick =
        tokio::time::interval_at(start + shared.config.lock_interval, shared.config.lock_interval);
    loop {
        if shared.is_stopped() {
            return;
        }
        tokio::select! {
            _ = rebalance_tick.tick() => rebalance(&shared).await,
            _ = ids_changed.notified() => rebalance(&shared).await,
            _ = shared.rebalance_now.notified() => {
                shared.instance().heartbeat_all().await;
                rebalance(&shared).await;
            }
            _ = persist_tick.tick() => persist_all(&shared).await,
            _ = lock_tick.tick() => {
                if shared.orderly() && shared.clustering() {
                    lock_all(&shared).await;
                }
            }
            _ = shared.stop.notified() => return,
        }
    }
}

/// Recomputes the owned queues of every subscribed topic and starts / stops pull loops.
pub(crate) async fn rebalance(shared: &Arc<Shared>) {
    if shared.is_stopped() {
        return;
    }
    let subs = shared.subscriptions.lock().map(|s| s.clone()).unwrap_or_default();
    for (topic, expression) in &subs {
        match owned_queues(shared, topic).await {
            Ok(mine) => update_queues(shared, topic, expression, mine).await,
            Err(e) => tracing::debug!(topic, error = %e, "rebalance skipped"),
        }
    }
    let stale: Vec<Arc<ProcessQueue>> = shared
        .queues()
        .into_iter()
        .filter(|pq| !subs.contains_key(&pq.mq.topic))
        .collect();
    for pq in stale {
        release(shared, &pq).await;
    }
}

async fn owned_queues(shared: &Shared, topic: &str) -> Result<BTreeSet<MessageQueue>> {
    let route = shared.instance().route(topic).await?;
    let mq_all = route.subscribe.clone();
    if !shared.clustering() {
        return Ok(mq_all.into_iter().collect());
    }
    let mut cid_all = consumer_ids(shared, &route).await?;
    cid_all.sort();
    let mine = shared
        .config
        .strategy
        .allocate(shared.instance().client_id(), &mq_all, &cid_all)?;
    tracing::debug!(topic, strategy = %shared.config.strategy.name(), clients = cid_all.len(), owned = mine.len(), "rebalanced");
    Ok(mine.into_iter().collect())
}

/// GET_CONSUMER_LIST_BY_GROUP from a broker hosting the topic.
async fn consumer_ids(shared: &Shared, route: &TopicRoute) -> Result<Vec<String>> {
    let addr = route
        .data
        .broker_datas
        .iter()
        .find_map(|b| shared.instance().routes().any_addr(&b.broker_name))
        .ok_or_else(|| ClientError::NoRoute(String::new()))?;
    let h = GetConsumerListByGroupRequestHeader {
        consumer_group: shared.config.group.clone(),
    };
    let cmd = RemotingCommand::request_with_header(request::GET_CONSUMER_LIST_BY_GROUP, &h);
    let timeout = shared.instance().config().request_timeout;
    let resp = shared.instance().invoke_broker(&addr, cmd, timeout, &[]).await?;
    ConsumerListBody::from_json(&resp.body)
        .map(|b| b.consumer_id_list)
        .map_err(|e| ClientError::Malformed {
            addr,
            reason: e.to_string(),
        })
}

async fn update_queues(shared: &Arc<Shared>, topic: &str, expression: &str, mine: BTreeSet<MessageQueue>) {
    let current: Vec<Arc<ProcessQueue>> = shared
        .queues()
        .into_iter()
        .filter(|pq| pq.mq.topic == topic)
        .collect();
    for pq in &current {
        if !mine.contains(&pq.mq) {
            release(shared, pq).await;
        }
    }
    let locking = shared.orderly() && shared.clustering();
    for mq in mine {
        if current.iter().any(|pq| pq.mq == mq) {
            continue;
        }
        if locking && !lock(shared, std::slice::from_ref(&mq)).await.contains(&mq) {
            tracing::debug!(queue = ?mq, "queue locked by another client; retried at the next rebalance");
            continue;
        }
        let offset = match start_offset(shared, &mq).await {
            Ok(o) => o,
            Err(e) => {
                tracing::warn!(queue = ?mq, error = %e, "no start offset; retried at the next rebalance");
                continue;
            }
        };
        let pq = Arc::new(ProcessQueue::new(mq.clone()));
        pq.set_locked(locking);
        if let Ok(mut t) = shared.table.lock() {
            t.insert(mq.clone(), pq.clone());
        }
        tracing::info!(queue = ?mq, offset, "queue assigned");
        pull_loop::spawn(shared.clone(), pq, offset, expression.to_owned());
    }
}

/// Where consumption of a newly owned queue starts (§7.6).
async fn start_offset(shared: &Shared, mq: &MessageQueue) -> Result<i64> {
    shared.offsets.remove(mq);
    let stored = if shared.clustering() {
        shared.puller.fetch_offset(mq).await?
    } else {
        shared.offsets.read(mq)
    };
    if let Some(o) = stored.filter(|o| *o >= 0) {
        return Ok(o);
    }
    let retry = mq.topic.starts_with(RETRY_PREFIX);
    match shared.config.consume_from {
        ConsumeFrom::LastOffset if retry => Ok(0),
        ConsumeFrom::LastOffset => shared.puller.max_offset(mq).await,
        ConsumeFrom::FirstOffset => Ok(0),
        ConsumeFrom::Timestamp(_) if retry => shared.puller.max_offset(mq).await,
        ConsumeFrom::Timestamp(ts) => shared.puller.search_offset(mq, ts).await,
    }
}

/// Stops a queue: its pull loop ends, its offset is committed and forgotten, and an orderly
/// queue is unlocked once the batch in progress is done.
pub(crate) async fn release(shared: &Shared, pq: &Arc<ProcessQueue>) {
    pq.set_dropped();
    if let Ok(mut t) = shared.table.lock() {
        t.remove(&pq.mq);
    }
    persist_one(shared, &pq.mq).await;
    shared.offsets.remove(&pq.mq);
    if shared.orderly() && shared.clustering() {
        let _batch_done = tokio::time::timeout(Duration::from_secs(1), pq.consume_lock.lock()).await;
        unlock(shared, std::slice::from_ref(&pq.mq)).await;
    }
    tracing::info!(queue = ?pq.mq, "queue released");
}

/// At shutdown: every queue is released.
pub(crate) async fn release_all(shared: &Shared) {
    for pq in shared.queues() {
        release(shared, &pq).await;
    }
    if let Err(e) = shared.offsets.persist_file() {
        tracing::warn!(error = %e, "offset file not written");
    }
}

async fn persist_one(shared: &Shared, mq: &MessageQueue) {
    if !shared.clustering() {
        return;
    }
    if let Some(o) = shared.offsets.read(mq) {
        if let Err(e) = shared.puller.commit_offset(mq, o).await {
            tracing::warn!(queue = ?mq, error = %e, "offset commit failed");
        }
    }
}

/// Commits every owned queue's offset (CLUSTERING) or writes the offset file.
pub(crate) async fn persist_all(shared: &Shared) {
    if shared.clustering() {
        for pq in shared.queues() {
            persist_one(shared, &pq.mq).await;
        }
    } else if let Err(e) = shared.offsets.persist_file() {
        tracing::warn!(error = %e, "offset file not written");
    }
}

/// A LOCK_BATCH_MQ or UNLOCK_BATCH_MQ request for `mqs` (all of one broker) and the master
/// it goes to. Both bodies have the same shape (§2.3.12).
fn lock_request(shared: &Shared, code: i32, mqs: &[MessageQueue]) -> Option<(String, RemotingCommand)> {
    let addr = shared.instance().master_addr(&mqs.first()?.broker_name).ok()?;
    let body = LockBatchRequestBody {
        client_id: shared.instance().client_id().to_owned(),
        consumer_group: shared.config.group.clone(),
        mq_set: mqs.iter().cloned().collect(),
        only_this_broker: false,
    };
    Some((addr, RemotingCommand::request(code).with_body(body.to_json())))
}

/// LOCK_BATCH_MQ for `mqs` (all of one broker); returns the queues now locked by this client.
async fn lock(shared: &Shared, mqs: &[MessageQueue]) -> BTreeSet<MessageQueue> {
    let Some((addr, cmd)) = lock_request(shared, request::LOCK_BATCH_MQ, mqs) else {
        return BTreeSet::new();
    };
    let timeout = shared.instance().config().request_timeout;
    match shared.instance().invoke_broker(&addr, cmd, timeout, &[]).await {
        Ok(resp) => LockBatchResponseBody::from_json(&resp.body)
            .map(|b| b.lock_ok_mq_set)
            .unwrap_or_default(),
        Err(e) => {
            tracing::warn!(broker = %addr, error = %e, "LOCK_BATCH_MQ failed");
            BTreeSet::new()
        }
    }
}

/// UNLOCK_BATCH_MQ for `mqs` (all of one broker).
async fn unlock(shared: &Shared, mqs: &[MessageQueue]) {
    let Some((addr, cmd)) = lock_request(shared, request::UNLOCK_BATCH_MQ, mqs) else {
        return;
    };
    if let Err(e) = shared
        .instance()
        .invoke_broker(&addr, cmd, Duration::from_secs(1), &[])
        .await
    {
        tracing::warn!(broker = %addr, error = %e, "UNLOCK_BATCH_MQ failed");
    }
}

/// Re-locks every owned queue, one LOCK_BATCH_MQ per broker; queues the broker did not lock
/// stop being consumed.
pub(crate) async fn lock_all(shared: &Shared) {
    let mut by_broker: BTreeMap<String, Vec<Arc<ProcessQueue>>> = BTreeMap::new();
    for pq in shared.queues() {
        by_broker.entry(pq.mq.broker_name.clone()).or_default().push(pq);
    }
    for pqs in by_broker.values() {
        let mqs: Vec<MessageQueue> = pqs.iter().map(|pq| pq.mq.clone()).collect();
        let ok = lock(shared, &mqs).await;
        for pq in pqs {
            pq.set_locked(ok.contains(&pq.mq));
        }
    }
}
