//! What a put becomes before it is appended (protocol.md §5.1, §5.2, §6.2): a transactional
//! half message goes to the half topic, a positive `DELAY` level to `SCHEDULE_TOPIC_XXXX`
//! (queue = level − 1), a timer (`TIMER_DELIVER_MS`, `TIMER_DELAY_SEC`, `TIMER_DELAY_MS`,
//! `__STARTDELIVERTIME`) in the future to the timer topic. The real topic and queue travel in
//! `REAL_TOPIC` / `REAL_QID`. Pure functions: the send, send-back and end-transaction handlers
//! call them; the scheduler builds the messages that come back out.

use sluice_storage::properties::{self, names};
use sluice_storage::record::sysflag;
use sluice_storage::system_topics::{HALF_TOPIC, SCHEDULE_TOPIC, TIMER_TOPIC};
use sluice_storage::{MessageToStore, StoreConfig};

/// Why a put is refused before it reaches the store.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    /// MESSAGE_ILLEGAL.
    #[error("timer message is {delay_ms} ms ahead, beyond timerMaxDelaySec ({max_sec} s)")]
    TimerTooFar { delay_ms: i64, max_sec: u64 },
    /// MESSAGE_ILLEGAL.
    #[error("timer property {name}={value:?} is not a number")]
    BadTimer { name: &'static str, value: String },
    /// SYSTEM_ERROR (as 5.x answers with timerWheelEnable=false).
    #[error("accurate timer message is not enabled")]
    TimersDisabled,
}

/// Where a put went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// Stored where it was sent.
    Direct,
    /// A transactional half message.
    Half,
    /// Waits for a delay level.
    Delayed { level: i32 },
    /// Waits for a timer.
    Timer { deliver_ms: i64 },
}

/// The properties that make a message wait; a delivered message has none of them.
pub const WAIT_PROPERTIES: [&str; 6] = [
    names::DELAY,
    names::TIMER_DELIVER_MS,
    names::TIMER_DELAY_SEC,
    names::TIMER_DELAY_MS,
    names::START_DELIVER_TIME,
    names::TIMER_OUT_MS,
];

fn number(props: &str, name: &'static str) -> Result<Option<i64>, RouteError> {
    match properties::get(props, name) {
        None => Ok(None),
        Some(v) => v.trim().parse().map(Some).map_err(|_| RouteError::BadTimer {
            name,
            value: v.to_owned(),
        }),
    }
}

/// The timer's delivery time, if the message carries one (absolute ms).
fn timer_deliver_ms(props: &str, now_ms: i64) -> Result<Option<(i64, bool)>, RouteError> {
    // (deliver time, whether it is a 5.x timer property — those fail when timers are off)
    if let Some(at) = number(props, names::TIMER_DELIVER_MS)? {
        return Ok(Some((at, true)));
    }
    if let Some(s) = number(props, names::TIMER_DELAY_SEC)? {
        return Ok(Some((now_ms.saturating_add(s.saturating_mul(1000)), true)));
    }
    if let Some(ms) = number(props, names::TIMER_DELAY_MS)? {
        return Ok(Some((now_ms.saturating_add(ms), true)));
    }
    if let Some(at) = number(props, names::START_DELIVER_TIME)? {
        return Ok(Some((at, false)));
    }
    Ok(None)
}

fn is_true(v: Option<&str>) -> bool {
    v.is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

/// Whether a property string names any property that can make a message wait (one substring
/// pass per name; most messages carry none, and the full parse below is skipped for them).
fn may_wait(props: &str) -> bool {
    [names::DELAY, names::TRAN_MSG, "TIMER_", names::START_DELIVER_TIME]
        .iter()
        .any(|n| props.contains(n))
}

/// Rewrites `m` for where it must wait, if anywhere.
pub fn route_for_put(m: &mut MessageToStore, cfg: &StoreConfig, now_ms: i64) -> Result<Route, RouteError> {
    if !may_wait(&m.properties) {
        return Ok(Route::Direct);
    }
    let delay: i32 = properties::get(&m.properties, names::DELAY)
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    let real_qid = m.queue_id.to_string();
    if is_true(properties::get(&m.properties, names::TRAN_MSG)) && !(m.reconsume_times > 0 && delay > 0) {
        let uniq = properties::get(&m.properties, names::UNIQ_KEY)
            .unwrap_or("")
            .to_owned();
        m.properties = properties::rewrite(
            &m.properties,
            &[],
            &[
                (names::REAL_TOPIC, &m.topic),
                (names::REAL_QID, &real_qid),
                (names::TRANSACTION_ID, &uniq),
            ],
        );
        m.sys_flag = sysflag::reset_transaction_type(m.sys_flag);
        m.topic = HALF_TOPIC.into();
        m.queue_id = 0;
        return Ok(Route::Half);
    }
    if !matches!(
        sysflag::transaction_type(m.sys_flag),
        sysflag::TRANSACTION_NOT_TYPE | sysflag::TRANSACTION_COMMIT
    ) {
        return Ok(Route::Direct);
    }
    if delay > 0 && cfg.max_delay_level() > 0 {
        let level = delay.min(cfg.max_delay_level());
        let level_text = level.to_string();
        m.properties = properties::rewrite(
            &m.properties,
            &WAIT_PROPERTIES[1..],
            &[
                (names::REAL_TOPIC, &m.topic),
                (names::REAL_QID, &real_qid),
                (names::DELAY, &level_text),
            ],
        );
        m.topic = SCHEDULE_TOPIC.into();
        m.queue_id = (level - 1) as u32;
        return Ok(Route::Delayed { level });
    }
    let Some((deliver_ms, strict)) = timer_deliver_ms(&m.properties, now_ms)? else {
        return Ok(Route::Direct);
    };
    if !cfg.timer_wheel_enable {
        return if strict {
            Err(RouteError::TimersDisabled)
        } else {
            Ok(Route::Direct)
        };
    }
    if deliver_ms <= now_ms {
        return Ok(Route::Direct);
    }
    let ahead = deliver_ms - now_ms;
    if ahead as u64 > cfg.timer_max_delay_sec.saturating_mul(1000) {
        return Err(RouteError::TimerTooFar {
            delay_ms: ahead,
            max_sec: cfg.timer_max_delay_sec,
        });
    }
    let out = deliver_ms.to_string();
    m.properties = properties::rewrite(
        &m.properties,
        &[],
        &[
            (names::REAL_TOPIC, &m.topic),
            (names::REAL_QID, &real_qid),
            (names::TIMER_OUT_MS, &out),
        ],
    );
    m.topic = TIMER_TOPIC.into();
    m.queue_id = 0;
    Ok(Route::Timer { deliver_ms })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn msg(props: &[(&str, &str)]) -> MessageToStore {
        MessageToStore {
            topic: "T".into(),
            queue_id: 3,
            flag: 0,
            sys_flag: 0,
            born_timestamp: 1,
            born_host: "127.0.0.1:1".parse().unwrap(),
            reconsume_times: 0,
            prepared_transaction_offset: 0,
            body: Bytes::from_static(b"b"),
            properties: properties::encode(props.iter().copied()),
        }
    }

    #[test]
    fn delay_levels_clamp_and_remember_the_real_queue() {
        let cfg = StoreConfig::default();
        let mut m = msg(&[("TAGS", "a"), ("DELAY", "40"), ("TIMER_DELAY_SEC", "5")]);
        assert_eq!(
            route_for_put(&mut m, &cfg, 1000),
            Ok(Route::Delayed { level: 18 })
        );
        assert_eq!((m.topic.as_str(), m.queue_id), (SCHEDULE_TOPIC, 17));
        assert_eq!(properties::get(&m.properties, "REAL_TOPIC"), Some("T"));
        assert_eq!(properties::get(&m.properties, "REAL_QID"), Some("3"));
        assert_eq!(properties::get(&m.properties, "DELAY"), Some("18"));
        assert_eq!(properties::get(&m.properties, "TIMER_DELAY_SEC"), None);
        let mut plain = msg(&[("DELAY", "0")]);
        assert_eq!(route_for_put(&mut plain, &cfg, 1000), Ok(Route::Direct));
        assert_eq!(plain.topic, "T");
        let mut untouched = msg(&[("TAGS", "a"), ("KEYS", "k")]);
        let before = untouched.clone();
        assert_eq!(route_for_put(&mut untouched, &cfg, 1000), Ok(Route::Direct));
        assert_eq!(untouched, before);
    }

    #[test]
    fn timers() {
        let mut cfg = StoreConfig::default();
        let now = 1_000_000;
        let mut m = msg(&[("TIMER_DELAY_SEC", "10")]);
        assert_eq!(
            route_for_put(&mut m, &cfg, now),
            Ok(Route::Timer {
                deliver_ms: now + 10_000
            })
        );
        assert_eq!((m.topic.as_str(), m.queue_id), (TIMER_TOPIC, 0));
        assert_eq!(properties::get(&m.properties, "TIMER_OUT_MS"), Some("1010000"));
        let mut ali = msg(&[("__STARTDELIVERTIME", "1000500")]);
        assert_eq!(
            route_for_put(&mut ali, &cfg, now),
            Ok(Route::Timer {
                deliver_ms: 1_000_500
            })
        );
        let mut past = msg(&[("TIMER_DELIVER_MS", "5")]);
        assert_eq!(route_for_put(&mut past, &cfg, now), Ok(Route::Direct));
        let mut far = msg(&[("TIMER_DELAY_MS", "259200001")]);
        assert!(matches!(
            route_for_put(&mut far, &cfg, now),
            Err(RouteError::TimerTooFar { .. })
        ));
        let mut bad = msg(&[("TIMER_DELIVER_MS", "soon")]);
        assert!(matches!(
            route_for_put(&mut bad, &cfg, now),
            Err(RouteError::BadTimer { .. })
        ));
        cfg.timer_wheel_enable = false;
        let mut off = msg(&[("TIMER_DELAY_SEC", "10")]);
        assert_eq!(
            route_for_put(&mut off, &cfg, now),
            Err(RouteError::TimersDisabled)
        );
        let mut ali = msg(&[("__STARTDELIVERTIME", "1000500")]);
        assert_eq!(route_for_put(&mut ali, &cfg, now), Ok(Route::Direct));
    }

    #[test]
    fn half_messages() {
        let cfg = StoreConfig::default();
        let mut m = msg(&[
            ("TRAN_MSG", "true"),
            ("PGROUP", "pg"),
            ("UNIQ_KEY", "U1"),
            ("DELAY", "2"),
        ]);
        m.sys_flag = sysflag::TRANSACTION_PREPARED;
        assert_eq!(route_for_put(&mut m, &cfg, 0), Ok(Route::Half));
        assert_eq!((m.topic.as_str(), m.queue_id), (HALF_TOPIC, 0));
        assert_eq!(
            sysflag::transaction_type(m.sys_flag),
            sysflag::TRANSACTION_NOT_TYPE
        );
        assert_eq!(properties::get(&m.properties, "__transactionId__"), Some("U1"));
        assert_eq!(properties::get(&m.properties, "REAL_QID"), Some("3"));
    }
}
