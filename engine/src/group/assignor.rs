//! Kafka's partition assignors (`partition.assignment.strategy`) as pure
//! functions: `range`, `roundrobin`, `sticky` and `cooperative-sticky`.
//!
//! An assignor takes the partition count of every topic and each member's
//! [`Subscription`] and returns a [`GroupAssignment`]: every member id, with
//! the (possibly empty) sorted list of partitions it owns. The result depends
//! only on the input: members are ordered as Kafka orders them (static members
//! by `group.instance.id` first, then dynamic members by member id), and
//! nothing iterates a hash map.
//!
//! ```
//! use std::collections::BTreeMap;
//! use kreplay::{Assignor, Subscription, TopicPartition};
//!
//! let partitions_per_topic = BTreeMap::from([("t".to_string(), 3)]);
//! let subscriptions = BTreeMap::from([
//!     ("c0".to_string(), Subscription::new(["t"])),
//!     ("c1".to_string(), Subscription::new(["t"])),
//! ]);
//! let assignor: Assignor = "range".parse().unwrap();
//! let assignment = assignor.assign(&partitions_per_topic, &subscriptions);
//! assert_eq!(assignment["c0"], [TopicPartition::new("t", 0), TopicPartition::new("t", 1)]);
//! assert_eq!(assignment["c1"], [TopicPartition::new("t", 2)]);
//! ```

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use crate::log_dir::TopicPartition;

/// Member id → the partitions assigned to it, sorted. Every member is present.
pub type GroupAssignment = BTreeMap<String, Vec<TopicPartition>>;

/// What one member sends when it joins: Kafka's
/// `ConsumerPartitionAssignor.Subscription`. The member id is the key of the
/// map the assignors take.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Subscription {
    /// The topics the member subscribes to.
    pub topics: Vec<String>,
    /// The partitions the member owned in its last generation (used by
    /// `sticky` and `cooperative-sticky`; the others ignore it).
    pub owned_partitions: Vec<TopicPartition>,
    /// `group.instance.id`, for a static member.
    pub group_instance_id: Option<String>,
    /// The generation `owned_partitions` belongs to; `None` is Kafka's
    /// `DEFAULT_GENERATION` (-1). When two members claim one partition, the
    /// higher generation keeps it.
    pub generation: Option<i32>,
}

impl Subscription {
    /// A dynamic member subscribed to `topics` that owns nothing yet.
    pub fn new<I, S>(topics: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Subscription {
            topics: topics.into_iter().map(Into::into).collect(),
            ..Subscription::default()
        }
    }

    /// The same subscription, owning `owned_partitions` from `generation`.
    pub fn with_owned(mut self, owned_partitions: Vec<TopicPartition>, generation: i32) -> Self {
        self.owned_partitions = owned_partitions;
        self.generation = Some(generation);
        self
    }

    /// The same subscription, as a static member with `group_instance_id`.
    pub fn with_group_instance_id(mut self, group_instance_id: impl Into<String>) -> Self {
        self.group_instance_id = Some(group_instance_id.into());
        self
    }

    fn subscribes_to(&self, topic: &str) -> bool {
        self.topics.iter().any(|t| t == topic)
    }
}

/// The partition assignors Kafka ships, by their
/// `partition.assignment.strategy` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
#[non_exhaustive]
pub enum Assignor {
    /// `range`: per topic, contiguous ranges of partitions in member order;
    /// the first `partitions % members` members get one extra.
    #[default]
    Range,
    /// `roundrobin`: all topic-partitions, sorted, dealt out in turn to the
    /// members subscribed to each topic.
    RoundRobin,
    /// `sticky`: balanced, keeping as many previously owned partitions as
    /// possible (eager protocol: everything is revoked before a rebalance).
    Sticky,
    /// `cooperative-sticky`: the sticky assignment, reached in two
    /// rebalances: a partition that moves is first only revoked from its old
    /// owner, and assigned to its new owner in the next round.
    CooperativeSticky,
}

impl Assignor {
    /// Every assignor, in Kafka's documentation order.
    pub const ALL: [Assignor; 4] = [
        Assignor::Range,
        Assignor::RoundRobin,
        Assignor::Sticky,
        Assignor::CooperativeSticky,
    ];

    /// Kafka's name for this assignor.
    pub fn name(self) -> &'static str {
        match self {
            Assignor::Range => "range",
            Assignor::RoundRobin => "roundrobin",
            Assignor::Sticky => "sticky",
            Assignor::CooperativeSticky => "cooperative-sticky",
        }
    }

    /// Whether the assignor uses Kafka's cooperative (incremental) protocol.
    pub fn is_cooperative(self) -> bool {
        matches!(self, Assignor::CooperativeSticky)
    }

    /// One round of assignment. For `cooperative-sticky` this is the first
    /// round ([`CooperativeAssignment::assignment`]): partitions that move are
    /// left out until their old owner has revoked them.
    pub fn assign(
        self,
        partitions_per_topic: &BTreeMap<String, i32>,
        subscriptions: &BTreeMap<String, Subscription>,
    ) -> GroupAssignment {
        match self {
            Assignor::Range => range(partitions_per_topic, subscriptions),
            Assignor::RoundRobin => round_robin(partitions_per_topic, subscriptions),
            Assignor::Sticky => sticky(partitions_per_topic, subscriptions),
            Assignor::CooperativeSticky => {
                cooperative_sticky(partitions_per_topic, subscriptions).assignment
            }
        }
    }
}

impl fmt::Display for Assignor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An assignor name Kafka does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown partition assignment strategy {name:?}: expected one of range, roundrobin, sticky, cooperative-sticky"
)]
pub struct UnknownAssignor {
    /// The name that was given.
    pub name: String,
}

impl FromStr for Assignor {
    type Err = UnknownAssignor;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Assignor::ALL
            .into_iter()
            .find(|a| a.name() == name)
            .ok_or_else(|| UnknownAssignor {
                name: name.to_string(),
            })
    }
}

/// The result of one `cooperative-sticky` round.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CooperativeAssignment {
    /// What each member owns after this round: the sticky assignment minus
    /// every partition another member still owns.
    pub assignment: GroupAssignment,
    /// Per member (every member present), the partitions it owned and must
    /// revoke now, sorted. When any is non-empty the group rebalances again
    /// after the revocations, and that round assigns them to their new owners.
    pub revoked: GroupAssignment,
}

impl CooperativeAssignment {
    /// Whether a second rebalance is needed (something was revoked).
    pub fn needs_follow_up_rebalance(&self) -> bool {
        self.revoked.values().any(|r| !r.is_empty())
    }
}

/// Member ids in Kafka's `MemberInfo` order: members with a
/// `group.instance.id` first, by instance id, then the rest by member id.
fn sorted_members(subscriptions: &BTreeMap<String, Subscription>) -> Vec<&str> {
    let mut members: Vec<(&str, &Subscription)> = subscriptions
        .iter()
        .map(|(id, s)| (id.as_str(), s))
        .collect();
    members.sort_by(
        |(a_id, a), (b_id, b)| match (&a.group_instance_id, &b.group_instance_id) {
            (Some(x), Some(y)) => x.cmp(y).then_with(|| a_id.cmp(b_id)),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => a_id.cmp(b_id),
        },
    );
    members.into_iter().map(|(id, _)| id).collect()
}

fn empty_assignment(subscriptions: &BTreeMap<String, Subscription>) -> GroupAssignment {
    subscriptions
        .keys()
        .map(|id| (id.clone(), Vec::new()))
        .collect()
}

fn finish(mut assignment: GroupAssignment) -> GroupAssignment {
    for partitions in assignment.values_mut() {
        partitions.sort();
    }
    assignment
}

/// Every partition of every topic someone subscribes to (and that exists),
/// sorted by topic then partition.
fn subscribed_partitions(
    partitions_per_topic: &BTreeMap<String, i32>,
    subscriptions: &BTreeMap<String, Subscription>,
) -> Vec<TopicPartition> {
    let topics: BTreeSet<&str> = subscriptions
        .values()
        .flat_map(|s| s.topics.iter().map(String::as_str))
        .collect();
    topics
        .into_iter()
        .filter_map(|t| partitions_per_topic.get_key_value(t))
        .flat_map(|(t, &n)| (0..n.max(0)).map(move |p| TopicPartition::new(t.clone(), p)))
        .collect()
}

/// Kafka's `RangeAssignor`.
fn range(
    partitions_per_topic: &BTreeMap<String, i32>,
    subscriptions: &BTreeMap<String, Subscription>,
) -> GroupAssignment {
    let mut assignment = empty_assignment(subscriptions);
    let order = sorted_members(subscriptions);
    for (topic, &count) in partitions_per_topic {
        let members: Vec<&str> = order
            .iter()
            .copied()
            .filter(|m| subscriptions[*m].subscribes_to(topic))
            .collect();
        if members.is_empty() || count <= 0 {
            continue;
        }
        let count = count as usize;
        let per_member = count / members.len();
        let extra = count % members.len();
        for (i, member) in members.iter().enumerate() {
            let start = per_member * i + i.min(extra);
            let length = per_member + usize::from(i < extra);
            let owned = assignment.entry((*member).to_string()).or_default();
            owned.extend(
                (start..start + length).map(|p| TopicPartition::new(topic.clone(), p as i32)),
            );
        }
    }
    finish(assignment)
}

/// Kafka's `RoundRobinAssignor`.
fn round_robin(
    partitions_per_topic: &BTreeMap<String, i32>,
    subscriptions: &BTreeMap<String, Subscription>,
) -> GroupAssignment {
    let mut assignment = empty_assignment(subscriptions);
    let order = sorted_members(subscriptions);
    let mut next = 0usize;
    for tp in subscribed_partitions(partitions_per_topic, subscriptions) {
        // A subscribed topic has at least one subscriber, so this finds one.
        let Some(step) = (0..order.len())
            .find(|k| subscriptions[order[(next + k) % order.len()]].subscribes_to(&tp.topic))
        else {
            continue;
        };
        let member = order[(next + step) % order.len()];
        next = (next + step + 1) % order.len();
        assignment.entry(member.to_string()).or_default().push(tp);
    }
    finish(assignment)
}

/// The sticky assignment shared by `sticky` and `cooperative-sticky`.
///
/// Not a line-by-line port of Kafka's `AbstractStickyAssignor`, but the same
/// contract: (1) every member keeps the previously owned partitions it may
/// still own (a partition claimed by two members stays with the higher
/// generation, then the member first in Kafka's member order); (2) partitions
/// nobody keeps go, in sorted order, to the least-loaded member subscribed to
/// their topic; (3) while a member holds two or more partitions more than a
/// member that could take one of them, one partition moves from the most
/// loaded to the least loaded, preferring a partition placed in step 2 over
/// one kept from the last generation. Step 3 only moves partitions off members above
/// the final balance, never back, so the number of moved partitions is the
/// fewest that reach it. With identical subscriptions the result is balanced
/// within one.
fn sticky(
    partitions_per_topic: &BTreeMap<String, i32>,
    subscriptions: &BTreeMap<String, Subscription>,
) -> GroupAssignment {
    let order = sorted_members(subscriptions);
    let rank: BTreeMap<&str, usize> = order.iter().enumerate().map(|(i, m)| (*m, i)).collect();
    let all = subscribed_partitions(partitions_per_topic, subscriptions);
    let valid: BTreeSet<&TopicPartition> = all.iter().collect();

    // 1. Claims: partition -> (generation, member rank) of the best claimant.
    let mut claims: BTreeMap<&TopicPartition, (i32, usize)> = BTreeMap::new();
    for member in &order {
        let subscription = &subscriptions[*member];
        let generation = subscription.generation.unwrap_or(-1);
        let member_rank = rank[member];
        for tp in &subscription.owned_partitions {
            if !valid.contains(tp) || !subscription.subscribes_to(&tp.topic) {
                continue;
            }
            let better = match claims.get(tp) {
                None => true,
                Some(&(g, r)) => generation > g || (generation == g && member_rank < r),
            };
            if better {
                claims.insert(tp, (generation, member_rank));
            }
        }
    }
    // Member rank -> its partitions, as a sorted set.
    let mut owned: Vec<BTreeSet<TopicPartition>> = vec![BTreeSet::new(); order.len()];
    for (tp, (_, r)) in &claims {
        owned[*r].insert((*tp).clone());
    }

    // 2. Unowned partitions to the least-loaded eligible member.
    let eligible = |r: usize, tp: &TopicPartition| subscriptions[order[r]].subscribes_to(&tp.topic);
    for tp in &all {
        if claims.contains_key(tp) {
            continue;
        }
        let target = (0..order.len())
            .filter(|&r| eligible(r, tp))
            .min_by_key(|&r| (owned[r].len(), r));
        if let Some(r) = target {
            owned[r].insert(tp.clone());
        }
    }

    // 3. Balance: move from the most loaded to the least loaded.
    loop {
        let mut by_load: Vec<usize> = (0..order.len()).collect();
        by_load.sort_by_key(|&r| (owned[r].len(), r));
        let mut moved = None;
        'search: for &from in by_load.iter().rev() {
            for &to in &by_load {
                if owned[from].len() <= owned[to].len() + 1 {
                    break;
                }
                // A partition placed in step 2 moves for free; one kept
                // from the last generation only when no such one fits.
                let candidate = owned[from]
                    .iter()
                    .rev()
                    .filter(|tp| eligible(to, tp))
                    .min_by_key(|tp| claims.contains_key(tp));
                if let Some(tp) = candidate {
                    moved = Some((from, to, tp.clone()));
                    break 'search;
                }
            }
        }
        match moved {
            Some((from, to, tp)) => {
                owned[from].remove(&tp);
                owned[to].insert(tp);
            }
            None => break,
        }
    }

    order
        .iter()
        .zip(owned)
        .map(|(m, tps)| ((*m).to_string(), tps.into_iter().collect()))
        .collect()
}

/// One round of Kafka's `CooperativeStickyAssignor`: the sticky assignment,
/// minus every partition that some other member still lists as owned; those
/// are in [`CooperativeAssignment::revoked`] of their current owner, together
/// with anything an owner lost for other reasons (topic gone, unsubscribed).
///
/// Run it again once the revocations are done (the revoking members' owned
/// partitions no longer list them) and the withheld partitions are assigned.
pub(crate) fn cooperative_sticky(
    partitions_per_topic: &BTreeMap<String, i32>,
    subscriptions: &BTreeMap<String, Subscription>,
) -> CooperativeAssignment {
    let target = sticky(partitions_per_topic, subscriptions);
    let mut owners: BTreeMap<&TopicPartition, BTreeSet<&str>> = BTreeMap::new();
    for (member, subscription) in subscriptions {
        for tp in &subscription.owned_partitions {
            owners.entry(tp).or_default().insert(member.as_str());
        }
    }
    let mut assignment = GroupAssignment::new();
    let mut revoked = GroupAssignment::new();
    for (member, partitions) in &target {
        let kept: Vec<TopicPartition> = partitions
            .iter()
            .filter(|tp| {
                owners
                    .get(tp)
                    .is_none_or(|o| o.iter().all(|other| *other == member.as_str()))
            })
            .cloned()
            .collect();
        assignment.insert(member.clone(), kept);
        let new: BTreeSet<&TopicPartition> = partitions.iter().collect();
        let mut lost: Vec<TopicPartition> = subscriptions[member]
            .owned_partitions
            .iter()
            .filter(|tp| !new.contains(tp))
            .cloned()
            .collect();
        lost.sort();
        lost.dedup();
        revoked.insert(member.clone(), lost);
    }
    CooperativeAssignment {
        assignment,
        revoked,
    }
}

impl Assignor {
    /// One `cooperative-sticky` round with the revocations it needs; see
    /// [`CooperativeAssignment`]. Works for any assignor: the eager ones
    /// revoke everything their members owned that they do not keep.
    pub fn assign_cooperative(
        self,
        partitions_per_topic: &BTreeMap<String, i32>,
        subscriptions: &BTreeMap<String, Subscription>,
    ) -> CooperativeAssignment {
        match self {
            Assignor::CooperativeSticky => cooperative_sticky(partitions_per_topic, subscriptions),
            eager => {
                let assignment = eager.assign(partitions_per_topic, subscriptions);
                let revoked = assignment
                    .iter()
                    .map(|(member, partitions)| {
                        let mut lost: Vec<TopicPartition> = subscriptions[member]
                            .owned_partitions
                            .iter()
                            .filter(|tp| !partitions.contains(tp))
                            .cloned()
                            .collect();
                        lost.sort();
                        lost.dedup();
                        (member.clone(), lost)
                    })
                    .collect();
                CooperativeAssignment {
                    assignment,
                    revoked,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_sort_as_kafkas_member_info() {
        let subscriptions: BTreeMap<String, Subscription> =
            [("a", None), ("b", Some("z")), ("c", Some("y")), ("d", None)]
                .into_iter()
                .map(|(id, instance)| {
                    let mut s = Subscription::new(["t"]);
                    s.group_instance_id = instance.map(str::to_string);
                    (id.to_string(), s)
                })
                .collect();
        assert_eq!(sorted_members(&subscriptions), ["c", "b", "a", "d"]);
    }

    #[test]
    fn unknown_assignor_lists_the_valid_names() {
        let err = "sticky2".parse::<Assignor>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown partition assignment strategy \"sticky2\": expected one of range, roundrobin, sticky, cooperative-sticky"
        );
    }

    #[test]
    fn sticky_gives_a_conflicting_claim_to_the_higher_generation() {
        let topics = BTreeMap::from([("t".to_string(), 2)]);
        let p0 = TopicPartition::new("t", 0);
        let subscriptions = BTreeMap::from([
            (
                "a".to_string(),
                Subscription::new(["t"]).with_owned(vec![p0.clone()], 1),
            ),
            (
                "b".to_string(),
                Subscription::new(["t"]).with_owned(vec![p0.clone()], 2),
            ),
        ]);
        let assignment = sticky(&topics, &subscriptions);
        assert_eq!(assignment["b"], [p0]);
        assert_eq!(assignment["a"], [TopicPartition::new("t", 1)]);
    }

    #[test]
    fn cooperative_assignor_with_nothing_owned_equals_sticky() {
        let topics = BTreeMap::from([("t".to_string(), 5), ("u".to_string(), 3)]);
        let subscriptions = BTreeMap::from([
            ("a".to_string(), Subscription::new(["t", "u"])),
            ("b".to_string(), Subscription::new(["t"])),
            ("c".to_string(), Subscription::new(["u"])),
        ]);
        let round = cooperative_sticky(&topics, &subscriptions);
        assert_eq!(round.assignment, sticky(&topics, &subscriptions));
        assert!(!round.needs_follow_up_rebalance());
    }
}
