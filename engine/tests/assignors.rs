//! Kafka's partition assignors against their invariants and naive oracles:
//! each partition owned once, only by subscribers, balanced within one
//! (`roundrobin`, `sticky`), `range`'s exact split, determinism, stickiness,
//! and `cooperative-sticky`'s revoke-before-reassign.

use std::collections::{BTreeMap, BTreeSet};

use kreplay::{Assignor, GroupAssignment, Subscription, TopicPartition};
use proptest::prelude::*;

type Topics = BTreeMap<String, i32>;
type Members = BTreeMap<String, Subscription>;

fn tp(topic: &str, partition: i32) -> TopicPartition {
    TopicPartition::new(topic, partition)
}

fn topics(list: &[(&str, i32)]) -> Topics {
    list.iter().map(|(t, n)| (t.to_string(), *n)).collect()
}

fn members(list: &[(&str, &[&str])]) -> Members {
    list.iter()
        .map(|(m, ts)| (m.to_string(), Subscription::new(ts.iter().copied())))
        .collect()
}

/// Every partition of a subscribed topic, sorted.
fn subscribed(partitions_per_topic: &Topics, subscriptions: &Members) -> BTreeSet<TopicPartition> {
    subscriptions
        .values()
        .flat_map(|s| s.topics.iter())
        .filter_map(|t| partitions_per_topic.get(t).map(|n| (t, *n)))
        .flat_map(|(t, n)| (0..n).map(move |p| tp(t, p)))
        .collect()
}

fn owner_of(assignment: &GroupAssignment) -> BTreeMap<TopicPartition, String> {
    assignment
        .iter()
        .flat_map(|(m, tps)| tps.iter().map(move |tp| (tp.clone(), m.clone())))
        .collect()
}

/// Every member present; every subscribed partition owned exactly once, by a
/// subscriber; lists sorted.
fn check_valid(partitions_per_topic: &Topics, subscriptions: &Members, a: &GroupAssignment) {
    assert_eq!(
        a.keys().collect::<Vec<_>>(),
        subscriptions.keys().collect::<Vec<_>>()
    );
    let mut seen = BTreeSet::new();
    for (m, tps) in a {
        assert!(tps.windows(2).all(|w| w[0] < w[1]), "{m}: unsorted {tps:?}");
        for tp in tps {
            assert!(
                subscriptions[m].topics.contains(&tp.topic),
                "{m} owns {tp:?} without subscribing"
            );
            assert!(seen.insert(tp.clone()), "{tp:?} owned twice");
        }
    }
    assert_eq!(seen, subscribed(partitions_per_topic, subscriptions));
}

fn counts(a: &GroupAssignment) -> Vec<usize> {
    a.values().map(Vec::len).collect()
}

fn check_balanced(a: &GroupAssignment) {
    let c = counts(a);
    if let (Some(max), Some(min)) = (c.iter().max(), c.iter().min()) {
        assert!(max - min <= 1, "unbalanced: {c:?}");
    }
}

/// Naive `range`: per topic, subscribers sorted by member id (no static
/// members here), contiguous ranges, the first `n % m` one longer.
fn range_oracle(partitions_per_topic: &Topics, subscriptions: &Members) -> GroupAssignment {
    let mut out: GroupAssignment = subscriptions.keys().map(|m| (m.clone(), vec![])).collect();
    for (topic, &n) in partitions_per_topic {
        let subs: Vec<&String> = subscriptions
            .iter()
            .filter(|(_, s)| s.topics.contains(topic))
            .map(|(m, _)| m)
            .collect();
        let mut next = 0;
        for (i, m) in subs.iter().enumerate() {
            let len = n as usize / subs.len() + usize::from(i < n as usize % subs.len());
            for p in next..next + len {
                out.get_mut(*m).unwrap().push(tp(topic, p as i32));
            }
            next += len;
        }
    }
    for v in out.values_mut() {
        v.sort();
    }
    out
}

/// Naive `roundrobin`: a circular walk over sorted members, skipping those
/// not subscribed to the partition's topic.
fn round_robin_oracle(partitions_per_topic: &Topics, subscriptions: &Members) -> GroupAssignment {
    let mut out: GroupAssignment = subscriptions.keys().map(|m| (m.clone(), vec![])).collect();
    let ids: Vec<&String> = subscriptions.keys().collect();
    let mut cursor = 0;
    for tp in subscribed(partitions_per_topic, subscriptions) {
        while !subscriptions[ids[cursor % ids.len()]]
            .topics
            .contains(&tp.topic)
        {
            cursor += 1;
        }
        out.get_mut(ids[cursor % ids.len()]).unwrap().push(tp);
        cursor += 1;
    }
    for v in out.values_mut() {
        v.sort();
    }
    out
}

/// Topics `t0..`, members `m00..`, each subscribed to every topic or to a
/// non-empty subset.
fn group(identical: bool) -> impl Strategy<Value = (Topics, Members)> {
    (
        prop::collection::vec(0..30i32, 0..6),
        0..20usize,
        any::<u64>(),
    )
        .prop_map(move |(sizes, n_members, seed)| {
            let partitions_per_topic: Topics = sizes
                .iter()
                .enumerate()
                .map(|(i, n)| (format!("t{i}"), *n))
                .collect();
            let names: Vec<String> = partitions_per_topic.keys().cloned().collect();
            let mut rng = fastrand_like(seed);
            let subscriptions = (0..n_members)
                .map(|i| {
                    let topics: Vec<String> = if identical || rng() % 3 == 0 {
                        names.clone()
                    } else {
                        names.iter().filter(|_| rng() % 2 == 0).cloned().collect()
                    };
                    (format!("m{i:02}"), Subscription::new(topics))
                })
                .collect();
            (partitions_per_topic, subscriptions)
        })
}

/// A tiny deterministic generator (xorshift) so strategies stay shrinkable
/// by their seed.
fn fastrand_like(seed: u64) -> impl FnMut() -> u64 {
    let mut x = seed | 1;
    move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    }
}

/// The same group with every member's topic and owned lists reversed.
fn permuted(subscriptions: &Members) -> Members {
    subscriptions
        .iter()
        .map(|(m, s)| {
            let mut s = s.clone();
            s.topics.reverse();
            s.owned_partitions.reverse();
            (m.clone(), s)
        })
        .collect()
}

/// Each member now owns what `a` gave it, in generation `generation`.
fn owning(subscriptions: &Members, a: &GroupAssignment, generation: i32) -> Members {
    subscriptions
        .iter()
        .map(|(m, s)| {
            let s = s.clone().with_owned(a[m].clone(), generation);
            (m.clone(), s)
        })
        .collect()
}

/// Fewest partitions that must move off `owned` members to reach a balanced
/// split of `total` partitions over them (identical subscriptions): the
/// `total % n` members allowed one extra are the ones that own the most.
fn min_balancing_moves(mut owned: Vec<usize>, total: usize) -> usize {
    let n = owned.len();
    if n == 0 {
        return 0;
    }
    owned.sort_unstable_by(|a, b| b.cmp(a));
    let (q, r) = (total / n, total % n);
    owned
        .iter()
        .enumerate()
        .map(|(i, o)| o.saturating_sub(q + usize::from(i < r)))
        .sum()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn every_assignor_assigns_each_partition_once((t, m) in group(false)) {
        for assignor in Assignor::ALL {
            let a = assignor.assign(&t, &m);
            check_valid(&t, &m, &a);
            prop_assert_eq!(&a, &assignor.assign(&t, &m), "{} not deterministic", assignor);
            prop_assert_eq!(&a, &assignor.assign(&t, &permuted(&m)), "{} depends on order", assignor);
        }
    }

    #[test]
    fn range_is_kafkas_split((t, m) in group(false)) {
        prop_assert_eq!(Assignor::Range.assign(&t, &m), range_oracle(&t, &m));
    }

    #[test]
    fn roundrobin_is_kafkas_deal((t, m) in group(false)) {
        prop_assert_eq!(Assignor::RoundRobin.assign(&t, &m), round_robin_oracle(&t, &m));
    }

    #[test]
    fn identical_subscriptions_balance_within_one((t, m) in group(true)) {
        let total = subscribed(&t, &m).len();
        for assignor in [Assignor::RoundRobin, Assignor::Sticky, Assignor::CooperativeSticky] {
            let a = assignor.assign(&t, &m);
            check_balanced(&a);
            // Members beyond the partition count own nothing.
            if m.len() >= total {
                prop_assert_eq!(a.values().filter(|v| !v.is_empty()).count(), total);
            }
        }
        // Range: per topic, members beyond its partition count get none of it.
        let a = Assignor::Range.assign(&t, &m);
        for (topic, &n) in &t {
            let holders = a.values().filter(|v| v.iter().any(|p| &p.topic == topic)).count();
            prop_assert_eq!(holders, (n as usize).min(m.len()));
        }
    }

    #[test]
    fn sticky_balances_any_prior_ownership((t, m) in group(true), seed in any::<u64>()) {
        // Arbitrary (even conflicting, stale or foreign) prior ownership.
        let all: Vec<TopicPartition> = subscribed(&t, &m).into_iter().collect();
        let mut rng = fastrand_like(seed);
        let m: Members = m
            .into_iter()
            .map(|(id, s)| {
                let owned = all.iter().filter(|_| rng() % 4 == 0).cloned().collect();
                let generation = (rng() % 3) as i32;
                (id, s.with_owned(owned, generation))
            })
            .collect();
        let a = Assignor::Sticky.assign(&t, &m);
        check_valid(&t, &m, &a);
        check_balanced(&a);
        prop_assert_eq!(&a, &Assignor::Sticky.assign(&t, &permuted(&m)));
    }

    #[test]
    fn sticky_moves_the_minimum_when_a_member_leaves(
        (t, m) in group(true),
        leaver in any::<prop::sample::Index>(),
    ) {
        prop_assume!(m.len() >= 2);
        let before = Assignor::Sticky.assign(&t, &m);
        let leaver = m.keys().nth(leaver.index(m.len())).unwrap().clone();
        let mut next = owning(&m, &before, 1);
        next.remove(&leaver);
        let after = Assignor::Sticky.assign(&t, &next);
        check_valid(&t, &next, &after);
        check_balanced(&after);
        check_sticky(&before, &after, &t, &next);
    }

    #[test]
    fn sticky_moves_the_minimum_when_a_member_joins((t, m) in group(true)) {
        let before = Assignor::Sticky.assign(&t, &m);
        let mut next = owning(&m, &before, 1);
        next.insert("joiner".into(), Subscription::new(t.keys().cloned()));
        let after = Assignor::Sticky.assign(&t, &next);
        check_valid(&t, &next, &after);
        check_balanced(&after);
        check_sticky(&before, &after, &t, &next);
    }

    #[test]
    fn cooperative_revokes_only_what_moves_and_never_hands_over_in_one_round(
        (t, m) in group(false),
        change in 0..3u8,
    ) {
        let first = Assignor::CooperativeSticky.assign_cooperative(&t, &m);
        prop_assert!(!first.needs_follow_up_rebalance(), "nothing owned, nothing to revoke");
        let mut next = owning(&m, &first.assignment, 1);
        match change {
            0 => { next.pop_first(); }
            1 => { next.insert("joiner".into(), Subscription::new(t.keys().cloned())); }
            _ => { next.pop_last(); next.insert("joiner".into(), Subscription::new(t.keys().cloned())); }
        }
        let round = Assignor::CooperativeSticky.assign_cooperative(&t, &next);
        let target = Assignor::Sticky.assign(&t, &next);
        for (member, s) in &next {
            let owned: BTreeSet<&TopicPartition> = s.owned_partitions.iter().collect();
            let assigned: BTreeSet<&TopicPartition> = round.assignment[member].iter().collect();
            let revoked: BTreeSet<&TopicPartition> = round.revoked[member].iter().collect();
            let targeted: BTreeSet<&TopicPartition> = target[member].iter().collect();
            // Revoked: exactly what it owned and does not keep.
            let moving: BTreeSet<&TopicPartition> = owned.difference(&targeted).copied().collect();
            prop_assert_eq!(&revoked, &moving);
            // Kept: everything else it owned.
            prop_assert!(owned.difference(&revoked).all(|p| assigned.contains(p)));
            // New partitions only if nobody else owns them right now.
            for p in assigned.difference(&owned) {
                prop_assert!(
                    next.iter().all(|(o, s)| o == member || !s.owned_partitions.contains(p)),
                    "{p:?} handed to {member} while still owned"
                );
            }
            // Round one is a subset of the sticky target.
            prop_assert!(assigned.is_subset(&targeted));
        }
        // Follow-up rounds, each after the revocations: with identical
        // subscriptions the second round completes (nothing more to revoke,
        // every partition owned, balanced); otherwise the group still
        // settles within a few rounds, never handing over in one round.
        let identical = next.values().all(|s| s.topics.len() == t.len());
        let mut current = owning(&next, &round.assignment, 2);
        let mut settled = None;
        for generation in 3..8 {
            let r = Assignor::CooperativeSticky.assign_cooperative(&t, &current);
            for (member, tps) in &r.assignment {
                for p in tps {
                    prop_assert!(current
                        .iter()
                        .all(|(o, s)| o == member || !s.owned_partitions.contains(p)));
                }
            }
            if !r.needs_follow_up_rebalance() {
                settled = Some((generation, r.assignment));
                break;
            }
            current = owning(&current, &r.assignment, generation);
        }
        let Some((generation, last)) = settled else {
            return Err(TestCaseError::fail("cooperative rounds did not settle"));
        };
        check_valid(&t, &current, &last);
        if identical {
            prop_assert_eq!(generation, 3);
            check_balanced(&last);
        }
    }
}

/// After one member left or joined (identical subscriptions): partitions
/// changing owner are at most the leaver's plus the fewest balancing moves,
/// and every remaining member keeps at least min(owned, fair share).
fn check_sticky(before: &GroupAssignment, after: &GroupAssignment, t: &Topics, next: &Members) {
    let total = subscribed(t, next).len();
    let owned_now: Vec<usize> = next
        .keys()
        .map(|m| before.get(m).map_or(0, Vec::len))
        .collect();
    let leavers_partitions: usize = before
        .iter()
        .filter(|(m, _)| !next.contains_key(*m))
        .map(|(_, v)| v.len())
        .sum();
    let before_owner = owner_of(before);
    let after_owner = owner_of(after);
    let moved_from_stayers = after_owner
        .iter()
        .filter(|(p, o)| {
            before_owner
                .get(*p)
                .is_some_and(|b| b != *o && next.contains_key(b))
        })
        .count();
    let minimum = min_balancing_moves(owned_now, total);
    assert!(
        moved_from_stayers <= minimum,
        "{moved_from_stayers} moved off staying members, {minimum} needed"
    );
    let changed = after_owner
        .iter()
        .filter(|(p, o)| before_owner.get(*p) != Some(*o))
        .count();
    assert!(changed <= leavers_partitions + minimum + total.saturating_sub(before_owner.len()));
    let fair = if next.is_empty() {
        0
    } else {
        total / next.len()
    };
    for (m, tps) in after {
        let had: BTreeSet<&TopicPartition> = before
            .get(m)
            .map(|v| v.iter().collect())
            .unwrap_or_default();
        let kept = tps.iter().filter(|p| had.contains(p)).count();
        assert!(
            kept >= had.len().min(fair),
            "{m} kept {kept} of {}",
            had.len()
        );
    }
}

// Kafka's own unit-test examples.

#[test]
fn range_two_members_one_topic_of_three() {
    // RangeAssignorTest.testTwoConsumersOneTopicThreePartitions
    let a = Assignor::Range.assign(
        &topics(&[("t", 3)]),
        &members(&[("c0", &["t"]), ("c1", &["t"])]),
    );
    assert_eq!(a["c0"], [tp("t", 0), tp("t", 1)]);
    assert_eq!(a["c1"], [tp("t", 2)]);
}

#[test]
fn range_two_members_two_topics_of_three() {
    // RangeAssignorTest.testTwoConsumersTwoTopicsSixPartitions
    let a = Assignor::Range.assign(
        &topics(&[("t1", 3), ("t2", 3)]),
        &members(&[("c0", &["t1", "t2"]), ("c1", &["t1", "t2"])]),
    );
    assert_eq!(
        a["c0"],
        [tp("t1", 0), tp("t1", 1), tp("t2", 0), tp("t2", 1)]
    );
    assert_eq!(a["c1"], [tp("t1", 2), tp("t2", 2)]);
}

#[test]
fn range_only_assigns_to_subscribers() {
    // RangeAssignorTest.testOnlyAssignsPartitionsFromSubscribedTopics
    let a = Assignor::Range.assign(
        &topics(&[("t", 3), ("other", 3)]),
        &members(&[("c", &["t"])]),
    );
    assert_eq!(a["c"], [tp("t", 0), tp("t", 1), tp("t", 2)]);
}

#[test]
fn range_orders_static_members_by_instance_id() {
    // AbstractPartitionAssignorTest's MemberInfo sorting: static members
    // first, ordered by instance id (not member id), then dynamic members.
    let m: Members = [
        (
            "consumer-b",
            Subscription::new(["t"]).with_group_instance_id("instance-1"),
        ),
        (
            "consumer-a",
            Subscription::new(["t"]).with_group_instance_id("instance-2"),
        ),
        ("consumer-0", Subscription::new(["t"])),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let a = Assignor::Range.assign(&topics(&[("t", 3)]), &m);
    assert_eq!(a["consumer-b"], [tp("t", 0)]);
    assert_eq!(a["consumer-a"], [tp("t", 1)]);
    assert_eq!(a["consumer-0"], [tp("t", 2)]);
}

#[test]
fn roundrobin_two_members_two_topics() {
    // RoundRobinAssignorTest.testTwoConsumersTwoTopicsSixPartitions
    let a = Assignor::RoundRobin.assign(
        &topics(&[("t1", 3), ("t2", 3)]),
        &members(&[("c0", &["t1", "t2"]), ("c1", &["t1", "t2"])]),
    );
    assert_eq!(a["c0"], [tp("t1", 0), tp("t1", 2), tp("t2", 1)]);
    assert_eq!(a["c1"], [tp("t1", 1), tp("t2", 0), tp("t2", 2)]);
}

#[test]
fn roundrobin_multiple_subscriptions() {
    // RoundRobinAssignorTest.testMultipleConsumersMixedTopics
    let a = Assignor::RoundRobin.assign(
        &topics(&[("t1", 3), ("t2", 2)]),
        &members(&[("c0", &["t1"]), ("c1", &["t1", "t2"]), ("c2", &["t1"])]),
    );
    assert_eq!(a["c0"], [tp("t1", 0)]);
    assert_eq!(a["c1"], [tp("t1", 1), tp("t2", 0), tp("t2", 1)]);
    assert_eq!(a["c2"], [tp("t1", 2)]);
}

#[test]
fn sticky_keeps_partitions_when_a_member_joins() {
    // AbstractStickyAssignorTest.testAddRemoveConsumerOneTopic
    let t = topics(&[("t", 3)]);
    let one = members(&[("c1", &["t"])]);
    let a = Assignor::Sticky.assign(&t, &one);
    assert_eq!(a["c1"], [tp("t", 0), tp("t", 1), tp("t", 2)]);
    let mut two = owning(&one, &a, 1);
    two.insert("c2".into(), Subscription::new(["t"]));
    let b = Assignor::Sticky.assign(&t, &two);
    assert_eq!(b["c1"].len(), 2);
    assert_eq!(b["c2"].len(), 1);
    assert!(b["c1"].iter().all(|p| a["c1"].contains(p)));
}

#[test]
fn cooperative_revokes_first_then_assigns() {
    let t = topics(&[("t", 4)]);
    let one = members(&[("c1", &["t"])]);
    let a = Assignor::CooperativeSticky.assign(&t, &one);
    let mut two = owning(&one, &a, 1);
    two.insert("c2".into(), Subscription::new(["t"]));
    let first = Assignor::CooperativeSticky.assign_cooperative(&t, &two);
    assert_eq!(first.revoked["c1"].len(), 2);
    assert!(first.revoked["c2"].is_empty());
    assert!(
        first.assignment["c2"].is_empty(),
        "nothing handed over in round one"
    );
    assert!(first.needs_follow_up_rebalance());
    let second =
        Assignor::CooperativeSticky.assign_cooperative(&t, &owning(&two, &first.assignment, 2));
    assert!(!second.needs_follow_up_rebalance());
    assert_eq!(second.assignment["c2"], first.revoked["c1"]);
}

#[test]
fn names_round_trip_and_unknown_names_list_the_valid_ones() {
    for a in Assignor::ALL {
        assert_eq!(a.to_string().parse::<Assignor>().unwrap(), a);
    }
    assert_eq!(
        ["range", "roundrobin", "sticky", "cooperative-sticky"]
            .map(|n| n.parse::<Assignor>().unwrap().name()),
        ["range", "roundrobin", "sticky", "cooperative-sticky"]
    );
    let err = "round-robin".parse::<Assignor>().unwrap_err().to_string();
    assert!(err.contains("\"round-robin\""), "{err}");
    for name in ["range", "roundrobin", "sticky", "cooperative-sticky"] {
        assert!(err.contains(name), "{err}");
    }
    assert!("Range".parse::<Assignor>().is_err());
}
