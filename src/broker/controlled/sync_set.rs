//! A master's SyncStateSet (protocol.md §9.4 step 7): the replicas that have everything this
//! master acknowledged. A slave joins once its report reaches what the set has confirmed; a
//! member leaves when its link is gone or it has not caught up for `haMaxTimeSlaveNotCatchup`.
//! Each change goes to the controller leader (CONTROLLER_ALTER_SYNC_STATE_SET, at this master's
//! epoch and the set's epoch).
//!
//! Why acknowledged messages survive an election: a put is acknowledged only once every slave
//! of the set has it ([`crate::broker::ha::HaMaster`]); the slaves a put waits for are always
//! at least the set the controller has committed (a joining slave is waited for before the
//! controller knows, and is proposed only once it has everything this master's log held when it
//! started being waited for; a leaving one is waited for until the controller agrees), and the
//! controller elects only from that set. So whoever is elected holds every acknowledged message, and an old master that is
//! paused or cut off cannot acknowledge once the new master stops following it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sluice_remoting::body::controller::SyncStateSet;
use sluice_remoting::body::JsonBody;
use sluice_remoting::codes::{request, response};
use sluice_remoting::header::controller::{AlterSyncStateSetRequestHeader, AlterSyncStateSetResponseHeader};
use sluice_remoting::RemotingCommand;
use tokio::sync::{watch, Notify};

use super::client::ControllerClient;
use super::RunContext;
use crate::broker::ha::HaMaster;

/// How long a member may be without a link before it leaves (a restarting slave reconnects
/// within this).
const RECONNECT_GRACE: Duration = Duration::from_secs(2);

/// What the set should be now: `current` minus the members that are gone or behind for too
/// long, plus connected slaves whose reports reach `confirmed`.
pub fn desired(
    me: i64,
    current: &BTreeSet<i64>,
    slaves: &[crate::broker::ha::master::SlaveStatus],
    confirmed: u64,
    missing_since: &BTreeMap<i64, Instant>,
    max_not_caught_up: Duration,
    now: Instant,
) -> BTreeSet<i64> {
    let mut out = BTreeSet::from([me]);
    for id in current.iter().filter(|id| **id != me) {
        let links: Vec<_> = slaves.iter().filter(|s| s.broker_id == Some(*id)).collect();
        let keep = if links.is_empty() {
            missing_since
                .get(id)
                .is_some_and(|t| now.duration_since(*t) < RECONNECT_GRACE)
        } else {
            links.iter().any(|s| {
                let since = s.caught_up_at.unwrap_or(s.connected_at);
                s.acked_offset >= confirmed || now.duration_since(since) < max_not_caught_up
            })
        };
        if keep {
            out.insert(*id);
        }
    }
    for s in slaves {
        if let Some(id) = s.broker_id.filter(|id| *id != me && !current.contains(id)) {
            if s.reported && s.acked_offset >= confirmed {
                out.insert(id);
            }
        }
    }
    out
}

/// Waits (at most 3 s) until every slave in `ids` has reported `end`.
async fn caught_up(ha: &HaMaster, ids: &[i64], end: u64) -> bool {
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let slaves = ha.slaves();
        let has = |id: &i64| {
            slaves
                .iter()
                .any(|s| s.broker_id == Some(*id) && s.acked_offset >= end)
        };
        if ids.iter().all(has) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Keeps the set right while this broker is master; stops on `stop`, or when the controller
/// says this master's epoch is over (then the supervisor is told).
pub async fn run(
    ha: Arc<HaMaster>,
    client: Arc<ControllerClient>,
    run: RunContext,
    broker_name: String,
    period: Duration,
    max_not_caught_up: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let me = run.broker_id;
    let mut set = run.sync_state_set.clone();
    let mut set_epoch = run.sync_state_set_epoch;
    let changed = Arc::new(Notify::new());
    let c = changed.clone();
    ha.on_change(Box::new(move || c.notify_one()));
    let mut missing_since: BTreeMap<i64, Instant> = BTreeMap::new();
    let tick = period.min(Duration::from_millis(500));
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            _ = changed.notified() => {}
            _ = tokio::time::sleep(tick) => {}
        }
        let now = Instant::now();
        let slaves = ha.slaves();
        for id in set.iter().filter(|id| **id != me) {
            if slaves.iter().any(|s| s.broker_id == Some(*id)) {
                missing_since.remove(id);
            } else {
                missing_since.entry(*id).or_insert(now);
            }
        }
        let confirmed = ha.confirmed();
        let want = desired(
            me,
            &set,
            &slaves,
            confirmed,
            &missing_since,
            max_not_caught_up,
            now,
        );
        if want == set {
            continue;
        }
        // Joining slaves are waited for from now on; leaving ones until the controller agrees.
        ha.set_required(set.union(&want).filter(|id| **id != me).copied().collect());
        // Whatever was acknowledged without a joining slave lies below this master's end now:
        // it joins only once it has all of that (else it could be elected without it).
        let joining: Vec<i64> = want.difference(&set).copied().collect();
        if !joining.is_empty() && !caught_up(&ha, &joining, ha.master_offset()).await {
            ha.set_required(set.iter().filter(|id| **id != me).copied().collect());
            continue;
        }
        let header = AlterSyncStateSetRequestHeader {
            broker_name: broker_name.clone(),
            master_broker_id: me,
            master_epoch: run.master_epoch,
            invoke_time: sluice_storage::clock::now_millis(),
        };
        let body = SyncStateSet {
            sync_state_set: want.clone(),
            sync_state_set_epoch: set_epoch,
        }
        .to_json();
        let answer = client
            .leader_call(|| {
                RemotingCommand::request(request::CONTROLLER_ALTER_SYNC_STATE_SET)
                    .with_header(&header)
                    .with_body(body.clone())
            })
            .await;
        match answer {
            Ok(r) if r.code == response::SUCCESS => {
                let epoch = r
                    .decode_header::<AlterSyncStateSetResponseHeader>()
                    .map(|h| h.new_sync_state_set_epoch)
                    .unwrap_or(set_epoch + 1);
                tracing::info!(from = ?set, to = ?want, epoch, "SyncStateSet changed");
                set = want;
                set_epoch = epoch;
            }
            Ok(r)
                if r.code == response::CONTROLLER_FENCED_MASTER_EPOCH
                    || r.code == response::CONTROLLER_INVALID_MASTER =>
            {
                tracing::warn!(code = r.code, remark = ?r.remark, "this master's epoch is over");
                run.events.deposed();
                return;
            }
            Ok(r) => {
                tracing::warn!(code = r.code, remark = ?r.remark, want = ?want, "SyncStateSet change refused");
                if r.code == response::CONTROLLER_FENCED_SYNC_STATE_SET_EPOCH {
                    // This view of the set is stale: take the controller's.
                    match super::replica_view(&client, &broker_name).await {
                        Ok(v) if v.master_id == Some(me) && v.master_epoch == run.master_epoch => {
                            set = v.sync_state_set;
                            set_epoch = v.sync_state_set_epoch;
                        }
                        Ok(_) => {
                            run.events.deposed();
                            return;
                        }
                        Err(e) => tracing::warn!(error = %e, "cannot read the SyncStateSet"),
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "SyncStateSet change not delivered"),
        }
        ha.set_required(set.iter().filter(|id| **id != me).copied().collect());
    }
}
