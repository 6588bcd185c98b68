//! The replicated state: per broker group (brokerName) the broker ids with their addresses, the
//! master, its epoch, the SyncStateSet and its epoch; the commands that change it, and the
//! rules they obey. Pure and deterministic: every controller applies the same log to the same
//! state. Liveness is not here (it is not replicated, see `heartbeats`): the leader decides
//! *whom* to elect from liveness, the command carries the choice, and [`ControllerState::apply`]
//! re-checks every rule that does not depend on liveness when the entry commits, so two racing
//! requests cannot both pass a check made before either was applied.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use sluice_remoting::codes::response;

/// The first broker id the controller hands out (RocketMQ's FIRST_BROKER_CONTROLLER_ID).
pub const FIRST_BROKER_ID: i64 = 1;

/// A broker known to a group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokerEntry {
    pub addr: String,
    /// `address;timestamp` from its APPLY_BROKER_ID: the same code re-applying gets the id back.
    pub check_code: String,
}

/// One broker group.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupState {
    pub cluster: String,
    pub brokers: BTreeMap<i64, BrokerEntry>,
    pub master: Option<i64>,
    /// 0 until the first master is elected; +1 per election.
    pub master_epoch: i32,
    pub sync_state_set: BTreeSet<i64>,
    pub sync_state_set_epoch: i32,
}

impl GroupState {
    /// The id the next APPLY_BROKER_ID should claim.
    pub fn next_broker_id(&self) -> i64 {
        self.brokers.keys().next_back().map_or(FIRST_BROKER_ID, |m| m + 1)
    }

    pub fn addr_of(&self, id: i64) -> Option<&str> {
        self.brokers.get(&id).map(|b| b.addr.as_str())
    }
}

/// A change to the state: one Raft log entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Command {
    /// CONTROLLER_APPLY_BROKER_ID.
    ApplyBrokerId {
        cluster: String,
        broker_name: String,
        broker_id: i64,
        addr: String,
        check_code: String,
    },
    /// A registered broker now serves on another address (CONTROLLER_REGISTER_BROKER).
    UpdateAddress {
        broker_name: String,
        broker_id: i64,
        addr: String,
    },
    /// Make `new_master` the master under epoch `expected_master_epoch + 1`, or record that the
    /// master is gone and nobody could be elected (`None`).
    ElectMaster {
        broker_name: String,
        new_master: Option<i64>,
        expected_master_epoch: i32,
        /// `enableElectUncleanMaster` on the leader that proposed it.
        unclean_allowed: bool,
    },
    /// CONTROLLER_ALTER_SYNC_STATE_SET, by the master at the current epochs.
    AlterSyncStateSet {
        broker_name: String,
        master: i64,
        master_epoch: i32,
        sync_state_set_epoch: i32,
        new_set: BTreeSet<i64>,
    },
}

impl Command {
    pub fn broker_name(&self) -> &str {
        match self {
            Command::ApplyBrokerId { broker_name, .. }
            | Command::UpdateAddress { broker_name, .. }
            | Command::ElectMaster { broker_name, .. }
            | Command::AlterSyncStateSet { broker_name, .. } => broker_name,
        }
    }
}

/// A command refused by the rules: RocketMQ's response code and a remark.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    pub code: i32,
    pub remark: String,
}

fn refuse(code: i32, remark: impl Into<String>) -> Refusal {
    Refusal {
        code,
        remark: remark.into(),
    }
}

/// What applying a command returned: the group as it is afterwards, or why nothing changed.
pub type Applied = Result<GroupState, Refusal>;

/// The whole replicated state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControllerState {
    pub groups: BTreeMap<String, GroupState>,
}

impl ControllerState {
    /// Applies one command (deterministic; a refusal changes nothing).
    pub fn apply(&mut self, cmd: &Command) -> Applied {
        match cmd {
            Command::ApplyBrokerId {
                cluster,
                broker_name,
                broker_id,
                addr,
                check_code,
            } => {
                let group = self.groups.get(broker_name);
                let free = match group {
                    None => *broker_id == FIRST_BROKER_ID,
                    Some(g) => g
                        .brokers
                        .get(broker_id)
                        .is_none_or(|b| &b.check_code == check_code),
                };
                if !free || *broker_id < FIRST_BROKER_ID {
                    return Err(refuse(
                        response::CONTROLLER_BROKER_ID_INVALID,
                        format!("broker id {broker_id} of {broker_name} is taken or out of turn"),
                    ));
                }
                let g = self.groups.entry(broker_name.clone()).or_default();
                if g.cluster.is_empty() {
                    g.cluster = cluster.clone();
                }
                g.brokers.insert(
                    *broker_id,
                    BrokerEntry {
                        addr: addr.clone(),
                        check_code: check_code.clone(),
                    },
                );
                Ok(g.clone())
            }
            Command::UpdateAddress {
                broker_name,
                broker_id,
                addr,
            } => {
                let g = self.group_mut(broker_name)?;
                let b = g.brokers.get_mut(broker_id).ok_or_else(|| {
                    refuse(
                        response::CONTROLLER_BROKER_NEED_TO_BE_REGISTERED,
                        format!("broker id {broker_id} has not applied in {broker_name}"),
                    )
                })?;
                b.addr = addr.clone();
                Ok(g.clone())
            }
            Command::ElectMaster {
                broker_name,
                new_master,
                expected_master_epoch,
                unclean_allowed,
            } => {
                let g = self.group_mut(broker_name)?;
                if g.master_epoch != *expected_master_epoch {
                    return Err(refuse(
                        response::CONTROLLER_FENCED_MASTER_EPOCH,
                        format!(
                            "election for master epoch {expected_master_epoch} is stale: {broker_name} is at {}",
                            g.master_epoch
                        ),
                    ));
                }
                let Some(id) = *new_master else {
                    g.master = None;
                    return Ok(g.clone());
                };
                if !g.brokers.contains_key(&id) {
                    return Err(refuse(
                        response::CONTROLLER_ELECT_MASTER_FAILED,
                        format!("broker id {id} is not registered in {broker_name}"),
                    ));
                }
                // The first master of a group has no in-sync set to come from.
                let first = g.master_epoch == 0;
                if !first && !g.sync_state_set.contains(&id) && !unclean_allowed {
                    return Err(refuse(
                        response::CONTROLLER_ELECT_MASTER_FAILED,
                        format!(
                            "broker id {id} is not in the SyncStateSet {:?} of {broker_name} and enableElectUncleanMaster is false",
                            g.sync_state_set
                        ),
                    ));
                }
                g.master = Some(id);
                g.master_epoch += 1;
                g.sync_state_set = BTreeSet::from([id]);
                g.sync_state_set_epoch += 1;
                Ok(g.clone())
            }
            Command::AlterSyncStateSet {
                broker_name,
                master,
                master_epoch,
                sync_state_set_epoch,
                new_set,
            } => {
                let g = self.group_mut(broker_name)?;
                if g.master != Some(*master) {
                    return Err(refuse(
                        response::CONTROLLER_INVALID_MASTER,
                        format!("{master} is not the master of {broker_name} ({:?} is)", g.master),
                    ));
                }
                if g.master_epoch != *master_epoch {
                    return Err(refuse(
                        response::CONTROLLER_FENCED_MASTER_EPOCH,
                        format!(
                            "master epoch {master_epoch} is stale: {broker_name} is at {}",
                            g.master_epoch
                        ),
                    ));
                }
                if g.sync_state_set_epoch != *sync_state_set_epoch {
                    return Err(refuse(
                        response::CONTROLLER_FENCED_SYNC_STATE_SET_EPOCH,
                        format!(
                            "SyncStateSet epoch {sync_state_set_epoch} is stale: {broker_name} is at {}",
                            g.sync_state_set_epoch
                        ),
                    ));
                }
                if let Some(unknown) = new_set.iter().find(|id| !g.brokers.contains_key(id)) {
                    return Err(refuse(
                        response::CONTROLLER_INVALID_REPLICAS,
                        format!("replica {unknown} is not registered in {broker_name}"),
                    ));
                }
                if !new_set.contains(master) {
                    return Err(refuse(
                        response::CONTROLLER_ALTER_SYNC_STATE_SET_FAILED,
                        "the new SyncStateSet must contain the master",
                    ));
                }
                if *new_set == g.sync_state_set {
                    return Err(refuse(
                        response::CONTROLLER_ALTER_SYNC_STATE_SET_FAILED,
                        "the new SyncStateSet equals the current one",
                    ));
                }
                g.sync_state_set = new_set.clone();
                g.sync_state_set_epoch += 1;
                Ok(g.clone())
            }
        }
    }

    fn group_mut(&mut self, broker_name: &str) -> Result<&mut GroupState, Refusal> {
        self.groups.get_mut(broker_name).ok_or_else(|| {
            refuse(
                response::CONTROLLER_BROKER_NEED_TO_BE_REGISTERED,
                format!("broker group {broker_name} has not been registered"),
            )
        })
    }
}

/// What the leader knows of a live broker (from its heartbeats) when it picks a master.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Liveness {
    pub epoch: i32,
    pub max_offset: i64,
    pub election_priority: i32,
}

/// Why [`choose_master`] picked what it picked (logged: "who was elected and why").
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Choice {
    /// The current master is alive: nothing to elect.
    Keep(i64),
    /// A new master, with the reason.
    Elect(i64, &'static str),
    /// Nobody electable is alive.
    None,
}

/// The election policy (RocketMQ's DefaultElectPolicy): the live members of the SyncStateSet;
/// the current master if it is alive; else the one with the highest (epoch, max offset) and
/// then the lowest election priority. Outside the set only when `unclean` and nobody in it is
/// alive. The first master of a group is the broker that asked (`requester`).
pub fn choose_master(
    g: &GroupState,
    alive: &dyn Fn(i64) -> Option<Liveness>,
    unclean: bool,
    requester: Option<i64>,
    designated: Option<i64>,
) -> Choice {
    if g.master_epoch == 0 {
        return match requester.filter(|r| g.brokers.contains_key(r)) {
            Some(r) => Choice::Elect(r, "first master of the group: the broker that asked"),
            None => Choice::None,
        };
    }
    if let Some(m) = g.master.filter(|m| alive(*m).is_some()) {
        return Choice::Keep(m);
    }
    let best = |ids: &mut dyn Iterator<Item = i64>| {
        ids.filter_map(|id| alive(id).map(|l| (id, l)))
            .min_by_key(|(id, l)| (-(l.epoch as i64), -l.max_offset, l.election_priority, *id))
            .map(|(id, _)| id)
    };
    if let Some(d) = designated.filter(|d| g.sync_state_set.contains(d) && alive(*d).is_some()) {
        return Choice::Elect(d, "designated by the request, alive and in the SyncStateSet");
    }
    if let Some(id) = best(&mut g.sync_state_set.iter().copied()) {
        return Choice::Elect(id, "alive in the SyncStateSet with the newest epoch and offset");
    }
    if unclean {
        if let Some(id) = best(&mut g.brokers.keys().copied()) {
            return Choice::Elect(
                id,
                "UNCLEAN: no SyncStateSet member is alive; enableElectUncleanMaster=true",
            );
        }
    }
    Choice::None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply_id(s: &mut ControllerState, id: i64) -> Applied {
        s.apply(&Command::ApplyBrokerId {
            cluster: "c".into(),
            broker_name: "b".into(),
            broker_id: id,
            addr: format!("127.0.0.1:{}", 10000 + id),
            check_code: format!("127.0.0.1:{};{id}", 10000 + id),
        })
    }

    fn elect(s: &mut ControllerState, id: Option<i64>, epoch: i32, unclean: bool) -> Applied {
        s.apply(&Command::ElectMaster {
            broker_name: "b".into(),
            new_master: id,
            expected_master_epoch: epoch,
            unclean_allowed: unclean,
        })
    }

    fn alter(s: &mut ControllerState, master: i64, me: i32, se: i32, set: &[i64]) -> Applied {
        s.apply(&Command::AlterSyncStateSet {
            broker_name: "b".into(),
            master,
            master_epoch: me,
            sync_state_set_epoch: se,
            new_set: set.iter().copied().collect(),
        })
    }

    fn three() -> ControllerState {
        let mut s = ControllerState::default();
        for id in 1..=3 {
            apply_id(&mut s, id).unwrap();
        }
        s
    }

    #[test]
    fn broker_ids_are_handed_out_in_turn_and_kept_by_their_owner() {
        let mut s = ControllerState::default();
        assert_eq!(
            apply_id(&mut s, 2).unwrap_err().code,
            response::CONTROLLER_BROKER_ID_INVALID
        );
        assert_eq!(apply_id(&mut s, 1).unwrap().next_broker_id(), 2);
        // The same broker re-applying (same check code) keeps its id; another one may not take it.
        apply_id(&mut s, 1).unwrap();
        let other = s.apply(&Command::ApplyBrokerId {
            cluster: "c".into(),
            broker_name: "b".into(),
            broker_id: 1,
            addr: "10.0.0.9:10911".into(),
            check_code: "10.0.0.9:10911;5".into(),
        });
        assert_eq!(other.unwrap_err().code, response::CONTROLLER_BROKER_ID_INVALID);
    }

    #[test]
    fn no_election_outside_the_sync_state_set_unless_unclean() {
        let mut s = three();
        let g = elect(&mut s, Some(1), 0, false).unwrap();
        assert_eq!(
            (g.master, g.master_epoch, g.sync_state_set_epoch),
            (Some(1), 1, 1)
        );
        alter(&mut s, 1, 1, 1, &[1, 2]).unwrap();
        // Master 1 is lost; 3 never caught up.
        let err = elect(&mut s, Some(3), 1, false).unwrap_err();
        assert_eq!(err.code, response::CONTROLLER_ELECT_MASTER_FAILED);
        assert_eq!(s.groups["b"].master, Some(1), "a refusal changes nothing");
        let g = elect(&mut s, Some(2), 1, false).unwrap();
        assert_eq!((g.master, g.master_epoch), (Some(2), 2));
        assert_eq!(g.sync_state_set, BTreeSet::from([2]));
        // With unclean elections allowed, 3 may be elected.
        let g = elect(&mut s, Some(3), 2, true).unwrap();
        assert_eq!((g.master, g.master_epoch), (Some(3), 3));
    }

    #[test]
    fn a_stale_election_is_refused() {
        let mut s = three();
        elect(&mut s, Some(1), 0, false).unwrap();
        // Two elections raced for epoch 0: the second one is stale.
        let err = elect(&mut s, Some(2), 0, false).unwrap_err();
        assert_eq!(err.code, response::CONTROLLER_FENCED_MASTER_EPOCH);
        // No live candidate: the master is cleared, the epochs stay.
        let g = elect(&mut s, None, 1, false).unwrap();
        assert_eq!((g.master, g.master_epoch), (None, 1));
    }

    #[test]
    fn alter_only_by_the_current_master_at_the_current_epochs() {
        let mut s = three();
        elect(&mut s, Some(1), 0, false).unwrap();
        let code = |r: Applied| r.unwrap_err().code;
        assert_eq!(
            code(alter(&mut s, 2, 1, 1, &[1, 2])),
            response::CONTROLLER_INVALID_MASTER
        );
        assert_eq!(
            code(alter(&mut s, 1, 0, 1, &[1, 2])),
            response::CONTROLLER_FENCED_MASTER_EPOCH
        );
        assert_eq!(
            code(alter(&mut s, 1, 1, 0, &[1, 2])),
            response::CONTROLLER_FENCED_SYNC_STATE_SET_EPOCH
        );
        assert_eq!(
            code(alter(&mut s, 1, 1, 1, &[1, 9])),
            response::CONTROLLER_INVALID_REPLICAS
        );
        assert_eq!(
            code(alter(&mut s, 1, 1, 1, &[2, 3])),
            response::CONTROLLER_ALTER_SYNC_STATE_SET_FAILED
        );
        assert_eq!(
            code(alter(&mut s, 1, 1, 1, &[1])),
            response::CONTROLLER_ALTER_SYNC_STATE_SET_FAILED
        );
        let g = alter(&mut s, 1, 1, 1, &[1, 2, 3]).unwrap();
        assert_eq!(g.sync_state_set_epoch, 2);
        // The epoch it was at is now stale.
        assert_eq!(
            code(alter(&mut s, 1, 1, 1, &[1, 2])),
            response::CONTROLLER_FENCED_SYNC_STATE_SET_EPOCH
        );
        // A master of an older epoch is fenced after a re-election.
        elect(&mut s, Some(2), 1, false).unwrap();
        assert_eq!(
            code(alter(&mut s, 1, 1, 3, &[1, 2])),
            response::CONTROLLER_INVALID_MASTER
        );
    }

    #[test]
    fn the_policy_prefers_the_newest_live_member_of_the_set() {
        let mut s = three();
        elect(&mut s, Some(1), 0, false).unwrap();
        alter(&mut s, 1, 1, 1, &[1, 2, 3]).unwrap();
        let g = s.groups["b"].clone();
        let live = |offsets: &'static [(i64, i64)]| {
            move |id: i64| {
                offsets.iter().find(|(i, _)| *i == id).map(|(_, o)| Liveness {
                    epoch: 1,
                    max_offset: *o,
                    election_priority: 0,
                })
            }
        };
        assert_eq!(
            choose_master(&g, &live(&[(1, 5), (2, 9)]), false, None, None),
            Choice::Keep(1)
        );
        assert!(matches!(
            choose_master(&g, &live(&[(2, 5), (3, 9)]), false, None, None),
            Choice::Elect(3, _)
        ));
        assert!(matches!(
            choose_master(&g, &live(&[(2, 5), (3, 9)]), false, None, Some(2)),
            Choice::Elect(2, _)
        ));
        let mut narrow = g.clone();
        narrow.sync_state_set = BTreeSet::from([1, 2]);
        assert_eq!(
            choose_master(&narrow, &live(&[(3, 9)]), false, None, None),
            Choice::None
        );
        assert!(matches!(
            choose_master(&narrow, &live(&[(3, 9)]), true, None, None),
            Choice::Elect(3, _)
        ));
        let fresh = ControllerState::default()
            .groups
            .get("x")
            .cloned()
            .unwrap_or_default();
        assert_eq!(
            choose_master(&fresh, &live(&[]), false, Some(1), None),
            Choice::None
        );
    }
}
