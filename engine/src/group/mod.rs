//! Consumer groups: Kafka's partition assignors (pure functions), group
//! membership over a shared state dir (see [`membership`]), what
//! `kafka-consumer-groups` shows of a group, and the store operations it
//! refuses while a group has live members (deleting a group, resetting its
//! offsets), which sit here, above the offsets store they call.

mod assignor;
pub(crate) mod membership;
pub(crate) mod state;

use std::collections::BTreeMap;
use std::fmt;

pub use assignor::{
    Assignor, CooperativeAssignment, GroupAssignment, Subscription, UnknownAssignor,
};

use crate::error::{Error, Result};
use crate::log_dir::TopicPartition;
use crate::offsets::{OffsetAndMetadata, OffsetStore};

/// A group's state, as Kafka's `ConsumerGroupState` (`PreparingRebalance`
/// and `CompletingRebalance` are one state here).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConsumerGroupState {
    /// No live member; committed offsets may exist.
    Empty,
    /// Live members, each following the current generation.
    Stable,
    /// Membership changed and not every live member follows the new
    /// generation yet.
    Rebalancing,
    /// No member and nothing stored.
    Dead,
}

impl ConsumerGroupState {
    /// The lower-case name `kreplay group list` prints.
    pub fn name(self) -> &'static str {
        match self {
            ConsumerGroupState::Empty => "empty",
            ConsumerGroupState::Stable => "stable",
            ConsumerGroupState::Rebalancing => "rebalancing",
            ConsumerGroupState::Dead => "dead",
        }
    }
}

impl fmt::Display for ConsumerGroupState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One member of a group, as `kafka-consumer-groups --describe --members`
/// shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberDescription {
    /// The member id (`<client id>-<pid>-<n>-<random>`).
    pub member_id: String,
    /// `group.instance.id` of a static member.
    pub group_instance_id: Option<String>,
    /// `client.id`.
    pub client_id: String,
    /// The host the member runs on.
    pub host: String,
    /// Its process id.
    pub pid: u32,
    /// The partitions assigned to it in the current generation.
    pub assignment: Vec<TopicPartition>,
    /// A static member that left: its partitions wait for it until its
    /// session timeout passes.
    pub departed: bool,
}

/// A group's membership, read from the state dir.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupDescription {
    /// The group id.
    pub group_id: String,
    /// Its state.
    pub state: ConsumerGroupState,
    /// The generation (0 before the first rebalance).
    pub generation: i32,
    /// The assignor of the current generation.
    pub protocol: Option<Assignor>,
    /// Live members, and departed static members still holding partitions.
    pub members: Vec<MemberDescription>,
}

impl GroupDescription {
    /// Members alive now.
    pub fn live_members(&self) -> usize {
        self.members.iter().filter(|m| !m.departed).count()
    }

    /// The member a partition is assigned to, if any.
    pub fn owner_of(&self, tp: &TopicPartition) -> Option<&MemberDescription> {
        self.members.iter().find(|m| m.assignment.contains(tp))
    }
}

impl OffsetStore {
    /// The membership of `group` (`None` when the group does not exist).
    /// Reads only: takes no lock and changes nothing.
    pub fn describe_group(&self, group: &str) -> Result<Option<GroupDescription>> {
        let dir = self.group_path_of(group)?;
        if !dir.is_dir() {
            return Ok(None);
        }
        let live = membership::scan_live(&dir, None, false)?;
        let state = membership::read_state(&dir)?;
        let has_offsets = !self.committed_all(group)?.is_empty();
        let mut members = Vec::new();
        let mut settled = true;
        if let Some(state) = &state {
            for (id, entry) in &state.members {
                let alive = live.contains_key(id);
                if entry.departed_ms.is_none() && !alive {
                    // Died since the last sync: removed at the next one,
                    // or, for a static member, held as departed.
                    settled = false;
                    if entry.group_instance_id.is_none() {
                        continue;
                    }
                }
                if alive && entry.acked_generation != state.generation {
                    settled = false;
                }
                members.push(MemberDescription {
                    member_id: id.clone(),
                    group_instance_id: entry.group_instance_id.clone(),
                    client_id: entry.client_id.clone(),
                    host: entry.host.clone(),
                    pid: entry.pid,
                    assignment: entry.assigned.clone(),
                    departed: !alive,
                });
            }
        }
        for (id, member) in &live {
            if state.as_ref().is_some_and(|s| s.members.contains_key(id)) {
                continue;
            }
            settled = false;
            members.push(MemberDescription {
                member_id: id.clone(),
                group_instance_id: member.info.group_instance_id.clone(),
                client_id: member.info.client_id.clone(),
                host: member.info.host.clone(),
                pid: member.info.pid,
                assignment: Vec::new(),
                departed: false,
            });
        }
        let group_state = if live.is_empty() {
            if has_offsets || state.is_some() {
                ConsumerGroupState::Empty
            } else {
                ConsumerGroupState::Dead
            }
        } else if settled {
            ConsumerGroupState::Stable
        } else {
            ConsumerGroupState::Rebalancing
        };
        Ok(Some(GroupDescription {
            group_id: group.to_string(),
            state: group_state,
            generation: state.as_ref().map_or(0, |s| s.generation),
            protocol: state.as_ref().and_then(|s| s.protocol),
            members,
        }))
    }

    /// Deletes `group`: its committed offsets and everything else in its
    /// directory. Returns whether the group existed. The group disappears
    /// atomically (its directory is renamed away, then removed). Refused
    /// ([`Error::Group`]) while the group has live members, as Kafka refuses
    /// to delete a group that is not empty.
    pub fn delete_group(&self, group: &str) -> Result<bool> {
        let Some(lock) = self.lock(group, false)? else {
            return Ok(false);
        };
        refuse_live_members(group, &lock.dir, "it cannot be deleted")?;
        self.delete_group_locked(lock)?;
        Ok(true)
    }

    /// Sets and removes committed offsets of `group` as an administrator
    /// does (`kafka-consumer-groups --reset-offsets --execute`): refused
    /// while the group has live members, as Kafka refuses it for a group
    /// that is not empty.
    pub fn alter_offsets(
        &self,
        group: &str,
        offsets: &BTreeMap<TopicPartition, OffsetAndMetadata>,
        delete: &[TopicPartition],
    ) -> Result<()> {
        let Some(lock) = self.lock(group, true)? else {
            return Err(Error::Config("group dir vanished".into()));
        };
        refuse_live_members(group, &lock.dir, "offsets cannot be reset")?;
        self.commit_locked(&lock, offsets)?;
        self.delete_offsets_locked(&lock, delete)
    }
}

/// An error when the group in `dir` has live members.
pub(crate) fn refuse_live_members(group: &str, dir: &std::path::Path, what: &str) -> Result<()> {
    let live = membership::live_member_count(dir)?;
    if live > 0 {
        return Err(Error::Group {
            group: group.to_string(),
            reason: format!(
                "{what} while the group has {live} live member{}: stop its consumers first",
                if live == 1 { "" } else { "s" }
            ),
        });
    }
    Ok(())
}
