//! SEND_MESSAGE (10), SEND_MESSAGE_V2 (310), SEND_BATCH_MESSAGE (320) — protocol.md §2.3.1, §3.9.
//!
//! The handler validates the send, builds the records and hands them to the put service
//! ([`crate::broker::put`]: route, store by the flush mode's writer path, count); the reply
//! carries the offsetMsgId.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use sluice_remoting::batch::decode_batch;
use sluice_remoting::codes::{request, response};
use sluice_remoting::header::send::{SendMessageRequestHeader, SendMessageResponseHeader};
use sluice_remoting::{uniq, RemotingCommand};
use sluice_storage::meta::perm;
use sluice_storage::msgid::offset_msg_id;
use sluice_storage::properties::{self, names};
use sluice_storage::record::sysflag;
use sluice_storage::system_topics;
use sluice_storage::{Appended, MessageToStore};

use crate::broker::error::BrokerError;
use crate::broker::put;
use crate::broker::topics::{self, RETRY_PREFIX};
use crate::broker::BrokerState;
use sluice_remoting::net::{Connection, Outbound};

/// Topics producers may not write to directly.
fn is_forbidden_for_send(topic: &str) -> bool {
    matches!(
        topic,
        system_topics::SCHEDULE_TOPIC
            | system_topics::TIMER_TOPIC
            | system_topics::HALF_TOPIC
            | system_topics::OP_HALF_TOPIC
            | system_topics::TRANS_CHECK_MAX_TIME_TOPIC
            | topics::SELF_TEST_TOPIC
            | topics::OFFSET_MOVED_EVENT
    )
}

static UNIQ_COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// A `UNIQ_KEY` (protocol.md §3.7, `sluice_remoting::uniq`) for messages sent without one:
/// broker IP, pid, a per-process random, ms since the start of the month (local time), a counter.
fn generate_uniq_key(broker_ip: std::net::IpAddr) -> String {
    static SALT: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    let salt = *SALT.get_or_init(|| {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        t ^ std::process::id().rotate_left(16)
    });
    let now = sluice_storage::clock::now_millis();
    let t = sluice_storage::clock::local_time(now);
    let since_month = u64::from(t.day.saturating_sub(1)) * 86_400_000
        + u64::from(t.hour) * 3_600_000
        + u64::from(t.minute) * 60_000
        + u64::from(t.second) * 1000
        + u64::from(t.millis);
    let counter = UNIQ_COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed) as u16;
    let prefix = uniq::prefix(uniq::key_ip(broker_ip), std::process::id() as u16, salt);
    uniq::key(&prefix, since_month as u32, counter)
}

/// A checked and routed send: the records to store and what the reply needs.
struct SendPlan {
    unit: Vec<MessageToStore>,
    topic: String,
    queue_id: u32,
    transaction_id: Option<String>,
    /// The group whose `%DLQ%` topic the unit was moved to (a retry past its maximum).
    dlq_of: Option<String>,
    /// Whether the producer waits for the store's guarantee (`WAIT`, its `waitStoreMsgOK`;
    /// read here because stored properties leave it out).
    wait: bool,
}

/// Handles the three send codes.
pub async fn send(
    state: &Arc<BrokerState>,
    conn: &Arc<Connection>,
    cmd: &RemotingCommand,
    h: SendMessageRequestHeader,
) -> Result<Outbound, BrokerError> {
    let arrived = Instant::now();
    let mut plan = prepare(state, conn, cmd, h)?;
    let stored = put::store_with(state, std::mem::take(&mut plan.unit), plan.wait).await?;
    Ok(finish(state, cmd, plan, stored, arrived))
}

/// The same, finished on the calling thread; only when the unit is appended by its caller
/// (ASYNC_FLUSH, [`sluice_dataflows::Submitter::appends_in_caller`]): no future, no task.
pub fn send_now(
    state: &Arc<BrokerState>,
    conn: &Arc<Connection>,
    cmd: &RemotingCommand,
    h: SendMessageRequestHeader,
) -> Result<Outbound, BrokerError> {
    let arrived = Instant::now();
    let mut plan = prepare(state, conn, cmd, h)?;
    let stored = put::store_now(state, std::mem::take(&mut plan.unit))?;
    Ok(finish(state, cmd, plan, stored, arrived))
}

/// The same for a SYNC_MASTER (or a controller-mode master) under ASYNC_FLUSH: appended on
/// the calling thread; answered at once when the producer does not wait (`WAIT=false`) or no
/// slave can take it (SLAVE_NOT_AVAILABLE). Otherwise `Ok(None)`: `later` gets the answer once
/// a slave reports the unit (SEND_OK), or FLUSH_SLAVE_TIMEOUT after `slaveTimeout` — run by
/// the HA thread that read the report, so the send needs no task, timer or wake-up of its own
/// until it is answered.
pub fn send_replicated_now(
    state: &Arc<BrokerState>,
    conn: &Arc<Connection>,
    cmd: &RemotingCommand,
    h: SendMessageRequestHeader,
    master: &crate::broker::ha::HaMaster,
    later: impl FnOnce(Outbound) + Send + 'static,
) -> Result<Option<Outbound>, BrokerError> {
    let arrived = Instant::now();
    let mut plan = prepare(state, conn, cmd, h)?;
    let mut stored = put::store_now(state, std::mem::take(&mut plan.unit))?;
    if !plan.wait {
        return Ok(Some(finish(state, cmd, plan, stored, arrived)));
    }
    let end = stored.end();
    if !master.offer_put(end) {
        stored.code = response::SLAVE_NOT_AVAILABLE;
        return Ok(Some(finish(state, cmd, plan, stored, arrived)));
    }
    let mut out = success(
        state,
        cmd,
        stored.code,
        plan.queue_id,
        &stored.appended,
        plan.transaction_id.take(),
    );
    // Weak: the answer waits in the HA master, which the state holds.
    let weak = Arc::downgrade(state);
    master.defer_ack(
        end,
        state.config.ha.slave_timeout,
        Box::new(move |replicated| {
            if !replicated {
                out.cmd.code = response::FLUSH_SLAVE_TIMEOUT;
            }
            if let Some(state) = weak.upgrade() {
                count(&state, &plan, &stored.appended, arrived);
            }
            later(out);
        }),
    );
    Ok(None)
}

/// Counts a stored unit in the broker's statistics (and metrics).
fn count(state: &BrokerState, plan: &SendPlan, appended: &[Appended], arrived: Instant) {
    put::count(state, &plan.topic, appended, arrived.elapsed());
    if let (Some(group), Some(m)) = (&plan.dlq_of, state.stats.metrics()) {
        m.sent_to_dlq(group, appended.len() as u64);
    }
}

fn finish(
    state: &BrokerState,
    cmd: &RemotingCommand,
    plan: SendPlan,
    stored: put::Stored,
    arrived: Instant,
) -> Outbound {
    let code = stored.code;
    count(state, &plan, &stored.appended, arrived);
    success(
        state,
        cmd,
        code,
        plan.queue_id,
        &stored.appended,
        plan.transaction_id,
    )
}

/// Checks and routes a send: the records to store, or why it is refused.
fn prepare(
    state: &Arc<BrokerState>,
    conn: &Arc<Connection>,
    cmd: &RemotingCommand,
    h: SendMessageRequestHeader,
) -> Result<SendPlan, BrokerError> {
    let cfg = &state.config;
    put::check_writable(state)?;
    topics::validate_topic_name(&h.topic).map_err(BrokerError::system)?;
    if is_forbidden_for_send(&h.topic) {
        return Err(BrokerError::refused(
            response::NO_PERMISSION,
            format!("Sending message to topic[{}] is forbidden.", h.topic),
        ));
    }
    let created = state
        .topics
        .get_or_create_for_send(
            &h.topic,
            &h.default_topic,
            h.default_topic_queue_nums,
            if h.unit_mode {
                crate::broker::topics::UNIT
            } else {
                0
            },
        )
        .map_err(BrokerError::system)?;
    let (topic_config, created) = match created {
        (Some(t), c) => (t, c),
        (None, _) if h.topic.starts_with(RETRY_PREFIX) => state
            .topics
            .ensure(&h.topic, 1, perm::READ_WRITE)
            .map_err(BrokerError::system)?,
        (None, _) => {
            return Err(BrokerError::refused(
                response::TOPIC_NOT_EXIST,
                format!("topic[{}] not exist, apply first please!", h.topic),
            ))
        }
    };
    if created {
        state.rounds.request();
    }
    let queues = topic_config.write_queue_nums.max(topic_config.read_queue_nums);
    let queue_id = if h.queue_id < 0 {
        (sluice_storage::clock::now_millis().unsigned_abs() % u64::from(topic_config.write_queue_nums.max(1)))
            as u32
    } else if h.queue_id as u32 >= queues {
        return Err(BrokerError::system(format!(
            "request queueId[{}] is illegal, {} Producer: {}",
            h.queue_id,
            h.topic,
            conn.peer()
        )));
    } else {
        h.queue_id as u32
    };
    let mut sys_flag = h.sys_flag & !(sysflag::BORNHOST_V6 | sysflag::STOREHOST_V6);
    if topic_config.topic_filter_type == "MULTI_TAG" {
        sys_flag |= sysflag::MULTI_TAGS;
    }
    let header_props = h.properties.clone().unwrap_or_default();
    let is_batch = cmd.code == request::SEND_BATCH_MESSAGE || h.batch;
    let cluster = [(names::CLUSTER, cfg.broker_cluster_name.as_str())];
    let base = MessageToStore {
        topic: h.topic.clone(),
        queue_id,
        flag: h.flag,
        sys_flag,
        born_timestamp: h.born_timestamp,
        born_host: conn.peer(),
        reconsume_times: h.reconsume_times_or_zero(),
        prepared_transaction_offset: 0,
        body: Bytes::new(),
        properties: String::new(),
    };
    let unit: Vec<MessageToStore> = if is_batch {
        let records = match decode_batch(&cmd.body) {
            Ok(r) if !r.is_empty() => r,
            Ok(_) => {
                return Err(BrokerError::refused(
                    response::MESSAGE_ILLEGAL,
                    "the batch is empty",
                ))
            }
            Err(e) => {
                return Err(BrokerError::refused(
                    response::MESSAGE_ILLEGAL,
                    format!("bad batch body: {e}"),
                ))
            }
        };
        // Batch-level properties the record lacks (never UNIQ_KEY), plus CLUSTER.
        let batch_level: Vec<(&str, &str)> = properties::iter(&header_props)
            .filter(|(k, _)| *k != names::UNIQ_KEY)
            .chain(cluster.iter().copied())
            .collect();
        records
            .into_iter()
            .map(|r| MessageToStore {
                flag: r.flag,
                body: r.body,
                properties: properties::append_missing(&r.properties, &batch_level),
                ..base.clone()
            })
            .collect()
    } else {
        let uniq = match properties::get(&header_props, names::UNIQ_KEY) {
            Some(_) => String::new(),
            None => generate_uniq_key(cfg.broker_ip1),
        };
        // As Apache RocketMQ's broker does, a single message's properties are stored re-encoded:
        // entries without a name or value dropped, CLUSTER set to this cluster, and (4.9.3+)
        // without `WAIT`, 9 bytes a message that only the send itself reads.
        let mut stored = properties::rewrite(&header_props, &[names::WAIT], &cluster);
        if !uniq.is_empty() {
            properties::push_verbatim(&mut stored, names::UNIQ_KEY, &uniq);
        }
        vec![MessageToStore {
            body: cmd.body.clone(),
            properties: stored,
            ..base
        }]
    };
    if unit
        .iter()
        .any(|m| m.properties.len() > properties::MAX_PROPERTIES_LEN)
    {
        return Err(BrokerError::refused(
            response::MESSAGE_ILLEGAL,
            "the message properties are longer than 32767 bytes",
        ));
    }
    // Retry topics: past the consumer's maximum, the message goes to the group's DLQ (§2.3.1 step 7).
    let mut unit = unit;
    let mut dlq_of = None;
    if let Some(group) = h.topic.strip_prefix(RETRY_PREFIX) {
        let max = match h.max_reconsume_times {
            Some(m) => m,
            None => super::heartbeat::ensure_group(state, group).map_or(16, |g| g.retry_max_times),
        };
        if h.reconsume_times_or_zero() >= max {
            let dlq = super::retry::ensure_dlq(state, group).map_err(BrokerError::system)?;
            for m in &mut unit {
                m.topic = dlq.clone();
                m.queue_id = 0;
                m.properties = properties::rewrite(&m.properties, &[names::DELAY], &[]);
            }
            dlq_of = Some(group.to_owned());
        }
    }
    let is_half =
        properties::get(&header_props, names::TRAN_MSG).is_some_and(|v| v.eq_ignore_ascii_case("true"));
    if is_half && cfg.reject_transaction_message {
        return Err(BrokerError::refused(
            response::NO_PERMISSION,
            format!(
                "the broker[{}] sending transaction message is forbidden",
                cfg.broker_name
            ),
        ));
    }
    put::route(state, &mut unit)?;
    let transaction_id = is_half
        .then(|| properties::get(&header_props, names::UNIQ_KEY).map(str::to_owned))
        .flatten();

    let wait = properties::get(&header_props, names::WAIT) != Some("false");
    Ok(SendPlan {
        unit,
        topic: h.topic,
        queue_id,
        transaction_id,
        dlq_of,
        wait,
    })
}

fn success(
    state: &BrokerState,
    cmd: &RemotingCommand,
    code: i32,
    queue_id: u32,
    appended: &[Appended],
    transaction_id: Option<String>,
) -> Outbound {
    let host = state.broker_addr();
    let msg_id = appended
        .iter()
        .map(|a| offset_msg_id(host, a.phys_offset))
        .collect::<Vec<_>>()
        .join(",");
    let header = SendMessageResponseHeader {
        msg_id,
        queue_id: queue_id as i32,
        queue_offset: appended.first().map_or(0, |a| a.queue_offset as i64),
        transaction_id,
        batch_uniq_id: None,
        recall_handle: None,
        msg_region: "DefaultRegion".into(),
        trace_on: true,
    };
    let mut reply = cmd.response_to(code, None);
    reply.ext_fields = header.to_ext();
    reply.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_uniq_keys_are_java_shaped_and_distinct() {
        let a = generate_uniq_key("192.168.0.1".parse().unwrap());
        let b = generate_uniq_key("192.168.0.1".parse().unwrap());
        assert_eq!(a.len(), 32);
        assert!(a.starts_with("C0A80001"));
        assert!(a
            .bytes()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_lowercase()));
        assert_ne!(a, b);
    }

    #[test]
    fn property_merging() {
        let base = properties::encode([("TAGS", "a"), ("CLUSTER", "mine")]);
        let merged = properties::append_missing(&base, &[("CLUSTER", "C"), ("WAIT", "true")]);
        assert_eq!(properties::get(&merged, "CLUSTER"), Some("mine"));
        assert_eq!(properties::get(&merged, "WAIT"), Some("true"));
        assert_eq!(
            properties::append_missing("", &[("CLUSTER", "C")]),
            "CLUSTER\u{1}C\u{2}"
        );
        assert_eq!(
            properties::append_missing("A\u{1}b", &[("C", "d")]),
            "A\u{1}b\u{2}C\u{1}d\u{2}"
        );
    }
}
