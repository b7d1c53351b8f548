//! Consumer-group membership with members as threads of one process:
//! exclusive ownership at every instant, hand-over at the committed offset,
//! idle members, static members, fencing, cooperative rebalances.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kreplay::writer::{fill_offset_deltas, PartitionWriter, RecordSpec, WriterOptions};
use kreplay::{
    Assignor, AutoOffsetReset, Consumer, ConsumerConfig, ConsumerGroupState,
    ConsumerRebalanceListener, Error, OffsetAndMetadata, OffsetStore, TopicPartition,
};

const TOPIC: &str = "metrics";

/// `partitions` partitions of `per_partition` records each; values `p<n>-<i>`.
fn write_topic(dir: &Path, partitions: i32, per_partition: usize) {
    for p in 0..partitions {
        let mut writer = PartitionWriter::open(dir, TOPIC, p, WriterOptions::default()).unwrap();
        for chunk in (0..per_partition).collect::<Vec<_>>().chunks(50) {
            let mut specs: Vec<RecordSpec> = chunk
                .iter()
                .map(|i| RecordSpec::new(*i as i64, None, Some(format!("p{p}-{i}").as_bytes())))
                .collect();
            fill_offset_deltas(&mut specs);
            writer.append(&specs).unwrap();
        }
        writer.close().unwrap();
    }
}

fn config(log_dir: &Path, state_dir: &Path, group: &str) -> ConsumerConfig {
    let mut config = ConsumerConfig::new([log_dir]);
    config.group_id = Some(group.into());
    config.state_dir = Some(state_dir.to_path_buf());
    config.auto_offset_reset = AutoOffsetReset::Earliest;
    config.heartbeat_interval = Duration::from_millis(20);
    config.session_timeout = Duration::from_millis(2_000);
    config.max_poll_records = 7;
    config
}

/// Who owns what, across every member of the test: a partition may be
/// entered only when nobody holds it.
#[derive(Default)]
struct Ledger {
    owners: Mutex<BTreeMap<TopicPartition, String>>,
    violations: Mutex<Vec<String>>,
}

impl Ledger {
    fn enter(&self, member: &str, partitions: &[TopicPartition]) {
        let mut owners = self.owners.lock().unwrap();
        for tp in partitions {
            if let Some(other) = owners.insert(tp.clone(), member.to_string()) {
                self.violations
                    .lock()
                    .unwrap()
                    .push(format!("{member} took {tp} while {other} held it"));
            }
        }
    }

    fn leave(&self, member: &str, partitions: &[TopicPartition]) {
        let mut owners = self.owners.lock().unwrap();
        for tp in partitions {
            match owners.remove(tp) {
                Some(owner) if owner == member => {}
                other => self
                    .violations
                    .lock()
                    .unwrap()
                    .push(format!("{member} gave up {tp} held by {other:?}")),
            }
        }
    }

    fn check_owns(&self, member: &str, tp: &TopicPartition) {
        if self.owners.lock().unwrap().get(tp).map(String::as_str) != Some(member) {
            self.violations
                .lock()
                .unwrap()
                .push(format!("{member} read {tp} without owning it"));
        }
    }
}

/// Commits on revoke (the hand-over), keeps the ledger.
struct Listener {
    name: String,
    ledger: Arc<Ledger>,
    revoked: Arc<Mutex<Vec<Vec<TopicPartition>>>>,
}

impl ConsumerRebalanceListener for Listener {
    fn on_partitions_revoked(&mut self, consumer: &mut Consumer, partitions: &[TopicPartition]) {
        consumer.commit_sync().unwrap();
        self.revoked.lock().unwrap().push(partitions.to_vec());
        self.ledger.leave(&self.name, partitions);
    }

    fn on_partitions_assigned(&mut self, _: &mut Consumer, partitions: &[TopicPartition]) {
        self.ledger.enter(&self.name, partitions);
    }

    fn on_partitions_lost(&mut self, _: &mut Consumer, partitions: &[TopicPartition]) {
        self.ledger.leave(&self.name, partitions);
    }
}

fn member(
    log_dir: &Path,
    state_dir: &Path,
    group: &str,
    name: &str,
    ledger: &Arc<Ledger>,
    tweak: impl FnOnce(&mut ConsumerConfig),
) -> (Consumer, Arc<Mutex<Vec<Vec<TopicPartition>>>>) {
    let mut config = config(log_dir, state_dir, group);
    tweak(&mut config);
    let mut consumer = Consumer::new(config).unwrap();
    let revoked = Arc::new(Mutex::new(Vec::new()));
    consumer
        .subscribe_with_listener(
            &[TOPIC],
            Box::new(Listener {
                name: name.to_string(),
                ledger: Arc::clone(ledger),
                revoked: Arc::clone(&revoked),
            }),
        )
        .unwrap();
    (consumer, revoked)
}

/// One poll: its records as (partition, offset, value), checked against
/// the ledger; commits after it.
fn poll_once(consumer: &mut Consumer, name: &str, ledger: &Ledger) -> Vec<(i32, i64, String)> {
    let records = consumer.poll(Duration::from_millis(20)).unwrap();
    let mut out = Vec::new();
    for r in &records {
        let r = r.unwrap();
        ledger.check_owns(name, r.topic_partition);
        out.push((
            r.topic_partition.partition,
            r.offset(),
            String::from_utf8(r.value().unwrap().to_vec()).unwrap(),
        ));
    }
    if !out.is_empty() {
        consumer.commit_sync().unwrap();
    }
    out
}

fn all_values(partitions: i32, per_partition: usize) -> BTreeSet<String> {
    (0..partitions)
        .flat_map(|p| (0..per_partition).map(move |i| format!("p{p}-{i}")))
        .collect()
}

#[test]
fn threads_share_partitions_exclusively_and_lose_nothing_as_members_come_and_go() {
    for assignor in Assignor::ALL {
        let logs = tempfile::tempdir().unwrap();
        let state = tempfile::tempdir().unwrap();
        write_topic(logs.path(), 6, 400);
        let ledger = Arc::new(Ledger::default());
        let delivered = Arc::new(Mutex::new(Vec::<String>::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let total = 6 * 400;
        let count = Arc::new(AtomicUsize::new(0));
        let mut threads = Vec::new();
        // Members join one after another; member 1 leaves after a while.
        for m in 0..4 {
            let (logs, state) = (logs.path().to_path_buf(), state.path().to_path_buf());
            let (ledger, delivered, stop, count) = (
                Arc::clone(&ledger),
                Arc::clone(&delivered),
                Arc::clone(&stop),
                Arc::clone(&count),
            );
            threads.push(std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(30 * m));
                let name = format!("m{m}");
                let (mut consumer, _) = member(&logs, &state, "g", &name, &ledger, |c| {
                    c.partition_assignment_strategy = assignor;
                });
                let started = Instant::now();
                while !stop.load(Ordering::Acquire) {
                    let got = poll_once(&mut consumer, &name, &ledger);
                    count.fetch_add(got.len(), Ordering::AcqRel);
                    delivered
                        .lock()
                        .unwrap()
                        .extend(got.into_iter().map(|(_, _, v)| v));
                    // Slow enough that rebalances happen mid-stream.
                    std::thread::sleep(Duration::from_millis(1));
                    if m == 1 && started.elapsed() > Duration::from_millis(150) {
                        break;
                    }
                }
                consumer.close().unwrap();
            }));
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        while count.load(Ordering::Acquire) < total && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        stop.store(true, Ordering::Release);
        for t in threads {
            t.join().unwrap();
        }
        let violations = ledger.violations.lock().unwrap().clone();
        assert!(violations.is_empty(), "{assignor}: {violations:?}");
        // Four joins and five leaves, each a generation (joins close
        // together may share one).
        let group = OffsetStore::open(state.path(), &[logs.path().to_path_buf()])
            .unwrap()
            .describe_group("g")
            .unwrap()
            .unwrap();
        assert!(
            group.generation >= 5,
            "{assignor}: generation {}",
            group.generation
        );
        assert_eq!(group.state, ConsumerGroupState::Empty);
        let delivered = delivered.lock().unwrap().clone();
        let unique: BTreeSet<String> = delivered.iter().cloned().collect();
        assert_eq!(unique, all_values(6, 400), "{assignor}: records lost");
        // Commit on revoke and after every poll: a hand-over re-delivers nothing.
        assert_eq!(delivered.len(), total, "{assignor}: duplicates");
    }
}

#[test]
fn members_beyond_the_partition_count_idle_and_take_over_when_an_owner_leaves() {
    let logs = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    write_topic(logs.path(), 2, 100);
    let ledger = Arc::new(Ledger::default());
    let mut members: Vec<(String, Consumer)> = (0..4)
        .map(|m| {
            let name = format!("m{m}");
            let (consumer, _) = member(logs.path(), state.path(), "g", &name, &ledger, |_| {});
            (name, consumer)
        })
        .collect();
    // Let everyone sync until the two partitions are owned and stable.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        for (_, consumer) in &mut members {
            let _ = consumer.poll(Duration::from_millis(5)).unwrap();
        }
        let owned: usize = members.iter().map(|(_, c)| c.assignment().len()).sum();
        let generations: BTreeSet<_> = members.iter().map(|(_, c)| c.generation()).collect();
        if owned == 2 && generations.len() == 1 {
            break;
        }
        assert!(Instant::now() < deadline, "never settled");
    }
    let idle: Vec<usize> = (0..4)
        .filter(|&i| members[i].1.assignment().is_empty())
        .collect();
    assert_eq!(idle.len(), 2);
    for &i in &idle {
        assert!(members[i]
            .1
            .poll(Duration::from_millis(5))
            .unwrap()
            .is_empty());
    }
    let describe = OffsetStore::open(state.path(), &[logs.path().to_path_buf()])
        .unwrap()
        .describe_group("g")
        .unwrap()
        .unwrap();
    assert_eq!(describe.live_members(), 4);
    assert_eq!(describe.state, ConsumerGroupState::Stable);
    // An owner leaves: an idle member takes its partition over.
    let owner = (0..4).find(|i| !idle.contains(i)).unwrap();
    let (_, leaving) = members.remove(owner);
    leaving.close().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        for (_, consumer) in &mut members {
            let _ = consumer.poll(Duration::from_millis(5)).unwrap();
        }
        let owned: usize = members.iter().map(|(_, c)| c.assignment().len()).sum();
        if owned == 2 {
            break;
        }
        assert!(Instant::now() < deadline, "never taken over");
    }
    assert!(ledger.violations.lock().unwrap().is_empty());
}

#[test]
fn new_owner_starts_at_the_committed_offset_of_the_old_one() {
    let logs = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    write_topic(logs.path(), 1, 100);
    let ledger = Arc::new(Ledger::default());
    let (mut a, _) = member(logs.path(), state.path(), "g", "a", &ledger, |_| {});
    let mut got = Vec::new();
    while got.len() < 20 {
        got.extend(poll_once(&mut a, "a", &ledger));
    }
    // Read 7 more but do not commit them; then crash (drop without close).
    let records = a.poll(Duration::from_millis(100)).unwrap();
    let uncommitted: Vec<i64> = records.iter().map(|r| r.unwrap().offset()).collect();
    assert!(!uncommitted.is_empty());
    let committed = got.len() as i64;
    drop(a);
    let (mut b, _) = member(logs.path(), state.path(), "g", "b", &ledger, |_| {});
    let mut first = None;
    let deadline = Instant::now() + Duration::from_secs(20);
    while first.is_none() && Instant::now() < deadline {
        let records = b.poll(Duration::from_millis(20)).unwrap();
        first = records.iter().next().map(|r| r.unwrap().offset());
    }
    assert_eq!(
        first,
        Some(committed),
        "resumes at the last commit (at-least-once)"
    );
}

#[test]
fn commits_for_partitions_not_owned_are_refused() {
    let logs = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    write_topic(logs.path(), 2, 10);
    let ledger = Arc::new(Ledger::default());
    let (mut a, _) = member(logs.path(), state.path(), "g", "a", &ledger, |_| {});
    let deadline = Instant::now() + Duration::from_secs(20);
    while a.assignment().len() < 2 {
        let _ = a.poll(Duration::from_millis(5)).unwrap();
        assert!(Instant::now() < deadline);
    }
    let other = TopicPartition::new("other", 0);
    let offsets = BTreeMap::from([(other.clone(), OffsetAndMetadata::new(1))]);
    let error = a.commit_offsets(&offsets).unwrap_err();
    assert!(matches!(error, Error::Group { .. }), "{error}");
    assert!(error.to_string().contains("not owned"), "{error}");
    // A consumer with a manual assignment cannot commit for a live group.
    let mut manual = Consumer::new(config(logs.path(), state.path(), "g")).unwrap();
    let tp = TopicPartition::new(TOPIC, 0);
    manual.assign(std::slice::from_ref(&tp)).unwrap();
    let error = manual.commit_sync().unwrap_err();
    assert!(error.to_string().contains("live member"), "{error}");
    // Nor can the group be deleted or reset meanwhile.
    let store = OffsetStore::open(state.path(), &[logs.path().to_path_buf()]).unwrap();
    let error = store.delete_group("g").unwrap_err();
    assert!(error.to_string().contains("live member"), "{error}");
    let reset = BTreeMap::from([(tp.clone(), OffsetAndMetadata::new(0))]);
    assert!(store.alter_offsets("g", &reset, &[]).is_err());
    // Once the member is gone, all of it is allowed.
    a.close().unwrap();
    manual.commit_sync().unwrap();
    store.alter_offsets("g", &reset, &[]).unwrap();
    assert!(store.delete_group("g").unwrap());
}

#[test]
fn a_static_member_back_within_its_session_timeout_gets_its_partitions_without_a_rebalance() {
    let logs = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    write_topic(logs.path(), 4, 10);
    let ledger = Arc::new(Ledger::default());
    let statik = |c: &mut ConsumerConfig| {
        c.group_instance_id = Some("box-1".into());
        c.session_timeout = Duration::from_secs(30);
    };
    let (mut s, _) = member(logs.path(), state.path(), "g", "s", &ledger, statik);
    let (mut d, _) = member(logs.path(), state.path(), "g", "d", &ledger, |_| {});
    let deadline = Instant::now() + Duration::from_secs(20);
    while s.assignment().len() + d.assignment().len() < 4 || s.generation() != d.generation() {
        let _ = s.poll(Duration::from_millis(5)).unwrap();
        let _ = d.poll(Duration::from_millis(5)).unwrap();
        assert!(Instant::now() < deadline);
    }
    let held = s.assignment();
    let generation = d.generation();
    assert_eq!(held.len(), 2);
    // The static member's process "restarts".
    drop(s);
    for _ in 0..10 {
        let _ = d.poll(Duration::from_millis(5)).unwrap();
    }
    assert_eq!(d.assignment().len(), 2, "its partitions wait for it");
    let (mut s, _) = member(logs.path(), state.path(), "g", "s2", &ledger, statik);
    let deadline = Instant::now() + Duration::from_secs(20);
    while s.assignment().len() < 2 {
        let _ = s.poll(Duration::from_millis(5)).unwrap();
        let _ = d.poll(Duration::from_millis(5)).unwrap();
        assert!(Instant::now() < deadline);
    }
    assert_eq!(s.assignment(), held);
    assert_eq!(d.generation(), generation, "no rebalance");
    assert_eq!(s.generation(), generation);
    // Another live member with the same instance id is refused.
    let mut config = config(logs.path(), state.path(), "g");
    statik(&mut config);
    let mut twin = Consumer::new(config).unwrap();
    let error = twin.subscribe(&[TOPIC]).unwrap_err();
    assert!(error.to_string().contains("in use"), "{error}");
}

#[test]
fn cooperative_sticky_revokes_only_what_moves() {
    let logs = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    write_topic(logs.path(), 6, 200);
    let ledger = Arc::new(Ledger::default());
    let coop =
        |c: &mut ConsumerConfig| c.partition_assignment_strategy = Assignor::CooperativeSticky;
    let (mut a, revoked) = member(logs.path(), state.path(), "g", "a", &ledger, coop);
    let mut seen_a = Vec::new();
    while a.assignment().len() < 6 || seen_a.len() < 60 {
        seen_a.extend(poll_once(&mut a, "a", &ledger));
    }
    let before = a.assignment();
    let (mut b, _) = member(logs.path(), state.path(), "g", "b", &ledger, coop);
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut seen_b = Vec::new();
    while a.assignment().len() != 3 || b.assignment().len() != 3 {
        seen_a.extend(poll_once(&mut a, "a", &ledger));
        seen_b.extend(poll_once(&mut b, "b", &ledger));
        assert!(Instant::now() < deadline);
    }
    let revoked = revoked.lock().unwrap().clone();
    let revoked: Vec<TopicPartition> = revoked.into_iter().flatten().collect();
    let kept: BTreeSet<TopicPartition> = a.assignment().into_iter().collect();
    assert!(kept.iter().all(|tp| before.contains(tp)));
    assert_eq!(revoked.len(), 3, "only the moved partitions: {revoked:?}");
    assert!(revoked
        .iter()
        .all(|tp| !kept.contains(tp) && b.assignment().contains(tp)));
    // No record came twice: kept partitions kept their positions.
    let mut all: Vec<String> = seen_a
        .iter()
        .chain(&seen_b)
        .map(|(_, _, v)| v.clone())
        .collect();
    let n = all.len();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), n);
    assert!(ledger.violations.lock().unwrap().is_empty());
}

#[test]
fn members_must_agree_on_the_assignor() {
    let logs = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    write_topic(logs.path(), 2, 10);
    let ledger = Arc::new(Ledger::default());
    let (_a, _) = member(logs.path(), state.path(), "g", "a", &ledger, |_| {});
    let mut round_robin = config(logs.path(), state.path(), "g");
    round_robin.partition_assignment_strategy = Assignor::RoundRobin;
    let mut b = Consumer::new(round_robin).unwrap();
    let error = b.subscribe(&[TOPIC]).unwrap_err();
    assert!(
        error.to_string().contains("inconsistent group protocol"),
        "{error}"
    );
    // Another group is another matter.
    let mut other = config(logs.path(), state.path(), "other");
    other.partition_assignment_strategy = Assignor::RoundRobin;
    Consumer::new(other).unwrap().subscribe(&[TOPIC]).unwrap();
}

#[test]
fn groups_are_isolated() {
    let logs = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    write_topic(logs.path(), 3, 50);
    let ledger_es = Arc::new(Ledger::default());
    let ledger_hadoop = Arc::new(Ledger::default());
    let (mut es, _) = member(logs.path(), state.path(), "es", "es", &ledger_es, |_| {});
    let (mut hadoop, _) = member(
        logs.path(),
        state.path(),
        "hadoop",
        "h",
        &ledger_hadoop,
        |_| {},
    );
    let mut got_hadoop = Vec::new();
    let mut got_es = Vec::new();
    while got_hadoop.len() < 150 {
        got_hadoop.extend(poll_once(&mut hadoop, "h", &ledger_hadoop));
        if got_es.len() < 40 {
            got_es.extend(poll_once(&mut es, "es", &ledger_es));
        }
    }
    // es "fails" and stops; hadoop finished everything meanwhile, alone.
    let es_committed = got_es.len();
    drop(es);
    assert_eq!(hadoop.assignment().len(), 3);
    let (mut es, _) = member(logs.path(), state.path(), "es", "es2", &ledger_es, |_| {});
    while got_es.len() < 150 {
        got_es.extend(poll_once(&mut es, "es2", &ledger_es));
    }
    let unique: BTreeSet<&String> = got_es.iter().map(|(_, _, v)| v).collect();
    assert_eq!(unique.len(), 150);
    assert_eq!(
        got_es.len(),
        150,
        "es resumed at its own commit ({es_committed} before)"
    );
}

#[test]
fn reassigning_drops_fetches_of_the_previous_assignment() {
    let logs = tempfile::tempdir().unwrap();
    write_topic(logs.path(), 4, 300);
    let mut config = ConsumerConfig::new([logs.path()]);
    config.auto_offset_reset = AutoOffsetReset::Earliest;
    config.max_poll_records = 5;
    // Small fetches: the ring holds many of the old partitions' fetches.
    config.max_partition_fetch_bytes = 256;
    let mut consumer = Consumer::new(config).unwrap();
    let tps: Vec<TopicPartition> = (0..4).map(|p| TopicPartition::new(TOPIC, p)).collect();
    consumer.assign(&tps[..2]).unwrap();
    let first = consumer.poll(Duration::from_secs(5)).unwrap();
    assert!(!first.is_empty());
    // Give the fetcher time to fill the ring with the old partitions.
    std::thread::sleep(Duration::from_millis(50));
    consumer.assign(&tps[2..]).unwrap();
    let mut seen = BTreeMap::<i32, Vec<i64>>::new();
    for _ in 0..200 {
        let records = consumer.poll(Duration::from_secs(1)).unwrap();
        for r in &records {
            let r = r.unwrap();
            seen.entry(r.topic_partition.partition)
                .or_default()
                .push(r.offset());
            let value = String::from_utf8(r.value().unwrap().to_vec()).unwrap();
            assert_eq!(
                value,
                format!("p{}-{}", r.topic_partition.partition, r.offset())
            );
        }
    }
    assert!(seen.keys().all(|p| *p >= 2), "{:?}", seen.keys());
}

/// A member at its end leaves only in the group's current generation: when
/// another member left after this one's last sync (its partitions unread),
/// `leave_at_end` keeps this one in the group, and its next polls read them.
#[test]
fn a_member_at_its_end_does_not_leave_partitions_nobody_reads() {
    let logs = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    write_topic(logs.path(), 2, 20);
    let mut a = Consumer::new(config(logs.path(), state.path(), "g")).unwrap();
    a.subscribe(&[TOPIC]).unwrap();
    let mut b = Consumer::new(config(logs.path(), state.path(), "g")).unwrap();
    b.subscribe(&[TOPIC]).unwrap();
    let values = |consumer: &mut Consumer| -> Vec<String> {
        let polled = consumer.poll(Duration::from_millis(50)).unwrap();
        polled
            .iter()
            .map(|r| String::from_utf8(r.unwrap().record.value().unwrap().to_vec()).unwrap())
            .collect()
    };
    let mut seen = Vec::new();
    // Both members own a partition; `a` reads its own to the end, `b` only
    // takes its partition over.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        assert!(Instant::now() < deadline, "the group never settled");
        let got = values(&mut a);
        let empty = got.is_empty();
        seen.extend(got);
        if b.assignment().is_empty() {
            seen.extend(values(&mut b));
        }
        if empty && a.at_end() && a.assignment().len() == 1 && b.assignment().len() == 1 {
            break;
        }
    }
    assert!(seen.len() < 40, "b read its partition: {}", seen.len());
    // `b` leaves with its partition unread; `a`, at its end in the
    // generation it synced, must not leave too.
    b.close().unwrap();
    assert!(
        !a.leave_at_end().unwrap(),
        "a left with b's partition unread"
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        assert!(Instant::now() < deadline, "a never read b's partition");
        let got = values(&mut a);
        let empty = got.is_empty();
        seen.extend(got);
        if empty && a.at_end() && a.leave_at_end().unwrap() {
            break;
        }
    }
    assert!(a.member_id().is_none(), "a is still a member");
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 40, "records missing: {seen:?}");
}
