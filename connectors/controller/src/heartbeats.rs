//! Broker liveness, kept by every controller from BROKER_HEARTBEAT (904) and not replicated:
//! brokers heartbeat every controller, so a new leader already knows who is alive. A broker is
//! alive until its own `heartbeatTimeoutMills` (default 10 s) passes without a heartbeat — or,
//! once the connection its heartbeats came on has closed (a killed process's sockets close at
//! once), until [`CLOSED_GRACE`] passes without a heartbeat on a new one.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sluice_remoting::header::controller::BrokerHeartbeatRequestHeader;

use crate::state::{ControllerState, Liveness};

/// The heartbeat timeout when the broker does not send one (5.x `controllerHeartBeatTimeoutMills`).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a broker whose heartbeat connection closed has to heartbeat again (a broker that
/// lost its connection for another reason reconnects at its next heartbeat, every second).
pub const CLOSED_GRACE: Duration = Duration::from_secs(2);

#[derive(Debug, Clone)]
struct Beat {
    last: Instant,
    timeout: Duration,
    addr: String,
    live: Liveness,
    /// The connection the last heartbeat came on.
    conn: Option<u64>,
}

/// The liveness table: (brokerName, brokerId) → last heartbeat.
#[derive(Debug, Default)]
pub struct Heartbeats {
    table: Mutex<HashMap<(String, i64), Beat>>,
}

impl Heartbeats {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, i64), Beat>> {
        self.table.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records a heartbeat of broker `id` (resolved by the caller when the header had none),
    /// received on connection `conn`.
    pub fn beat(&self, h: &BrokerHeartbeatRequestHeader, id: i64, now: Instant, conn: Option<u64>) {
        let timeout = h
            .heartbeat_timeout_mills
            .filter(|ms| *ms > 0)
            .map_or(DEFAULT_TIMEOUT, |ms| Duration::from_millis(ms.unsigned_abs()));
        self.lock().insert(
            (h.broker_name.clone(), id),
            Beat {
                last: now,
                timeout,
                addr: h.broker_addr.clone(),
                live: Liveness {
                    epoch: h.epoch.unwrap_or(0),
                    max_offset: h.max_offset.unwrap_or(0),
                    election_priority: h.election_priority.unwrap_or(0),
                },
                conn,
            },
        );
    }

    /// Connection `conn` closed: the brokers that heartbeat on it expire [`CLOSED_GRACE`] from
    /// `now` unless they heartbeat again (their own timeout still applies if it is sooner).
    pub fn connection_closed(&self, conn: u64, now: Instant) {
        for b in self.lock().values_mut().filter(|b| b.conn == Some(conn)) {
            let by = now.saturating_duration_since(b.last) + CLOSED_GRACE;
            b.timeout = b.timeout.min(by);
            b.conn = None;
        }
    }

    /// The broker's last report if it is alive at `now`.
    pub fn liveness(&self, broker_name: &str, id: i64, now: Instant) -> Option<Liveness> {
        self.lock()
            .get(&(broker_name.to_owned(), id))
            .filter(|b| now.saturating_duration_since(b.last) <= b.timeout)
            .map(|b| b.live)
    }

    /// The address a live broker heartbeats from.
    pub fn addr(&self, broker_name: &str, id: i64) -> Option<String> {
        self.lock()
            .get(&(broker_name.to_owned(), id))
            .map(|b| b.addr.clone())
    }

    /// Removes and returns the brokers whose heartbeat expired by `now`.
    pub fn expire(&self, now: Instant) -> Vec<(String, i64)> {
        let mut table = self.lock();
        let gone: Vec<(String, i64)> = table
            .iter()
            .filter(|(_, b)| now.saturating_duration_since(b.last) > b.timeout)
            .map(|(k, _)| k.clone())
            .collect();
        for k in &gone {
            table.remove(k);
        }
        gone
    }
}

/// The broker groups whose master the leader must replace: the master is not alive, and either
/// its heartbeat expired at this scan (`expired`) or this controller has led for a whole
/// heartbeat timeout (`settled`) without hearing from it (it may have died while another
/// controller led, or before this one started).
pub fn lost_masters(
    state: &ControllerState,
    alive: &dyn Fn(&str, i64) -> bool,
    expired: &[(String, i64)],
    settled: bool,
) -> Vec<String> {
    state
        .groups
        .iter()
        .filter_map(|(name, g)| {
            let m = g.master?;
            let just_expired = expired.iter().any(|(n, id)| n == name && *id == m);
            (!alive(name, m) && (just_expired || settled)).then(|| name.clone())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::GroupState;

    #[test]
    fn a_silent_master_is_lost_once_the_leader_has_waited_a_timeout() {
        let mut state = ControllerState::default();
        for (name, master) in [("a", Some(1)), ("b", Some(1)), ("c", None)] {
            state.groups.insert(
                name.into(),
                GroupState {
                    master,
                    master_epoch: 1,
                    ..Default::default()
                },
            );
        }
        let alive = |name: &str, _id: i64| name == "b";
        let expired = vec![("a".to_owned(), 1)];
        assert_eq!(lost_masters(&state, &alive, &expired, false), ["a"]);
        assert_eq!(lost_masters(&state, &alive, &[], false), Vec::<String>::new());
        assert_eq!(lost_masters(&state, &alive, &[], true), ["a"]);
        let all_alive = |_: &str, _: i64| true;
        assert!(lost_masters(&state, &all_alive, &expired, true).is_empty());
    }

    #[test]
    fn a_broker_lives_for_its_own_timeout() {
        let hb = Heartbeats::default();
        let t0 = Instant::now();
        let h = BrokerHeartbeatRequestHeader {
            cluster_name: "c".into(),
            broker_addr: "127.0.0.1:10911".into(),
            broker_name: "b".into(),
            broker_id: Some(1),
            epoch: Some(2),
            max_offset: Some(100),
            confirm_offset: None,
            heartbeat_timeout_mills: Some(1000),
            election_priority: None,
        };
        hb.beat(&h, 1, t0, Some(7));
        assert_eq!(
            hb.liveness("b", 1, t0 + Duration::from_millis(900))
                .map(|l| l.max_offset),
            Some(100)
        );
        assert!(hb.expire(t0 + Duration::from_millis(900)).is_empty());
        assert!(hb.liveness("b", 1, t0 + Duration::from_millis(1100)).is_none());
        assert_eq!(
            hb.expire(t0 + Duration::from_millis(1100)),
            vec![("b".to_owned(), 1)]
        );
        assert!(hb.expire(t0 + Duration::from_secs(5)).is_empty(), "expired once");

        // Its connection closes: it has CLOSED_GRACE to heartbeat again, not its whole timeout.
        let mut long = h.clone();
        long.heartbeat_timeout_mills = Some(10_000);
        hb.beat(&long, 1, t0, Some(7));
        hb.connection_closed(8, t0);
        assert!(
            hb.liveness("b", 1, t0 + CLOSED_GRACE * 2).is_some(),
            "another connection"
        );
        hb.connection_closed(7, t0 + Duration::from_millis(100));
        assert!(hb.liveness("b", 1, t0 + CLOSED_GRACE).is_some());
        assert!(hb
            .liveness("b", 1, t0 + CLOSED_GRACE + Duration::from_millis(200))
            .is_none());
        // A heartbeat on a new connection restores its own timeout.
        hb.beat(&long, 1, t0 + Duration::from_secs(1), Some(9));
        assert!(hb.liveness("b", 1, t0 + Duration::from_secs(9)).is_some());
    }
}
