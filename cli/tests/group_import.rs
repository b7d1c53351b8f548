//! `kreplay group import --from-log-dir` turns the committed offsets of a
//! log dir's `__consumer_offsets` (last commit wins, tombstones delete,
//! transactional commits wait for their marker) into kreplay group offsets:
//! a dry run writes nothing, `--execute` writes, and `consume --group G -o
//! stored` then resumes exactly there. `group list --from-log-dir` lists
//! Kafka's groups with their last metadata.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use kreplay::state::consumer_offsets::{GroupMetadataValue, MemberMetadata};
use kreplay::writer::{
    fill_offset_deltas, group_metadata_record, offset_commit_record, offset_commit_tombstone,
    PartitionWriter, RecordSpec, StateRecord, WriterOptions,
};

const ORDERS: [(i32, i64); 2] = [(0, 300), (1, 200)];
const PAYMENTS: i64 = 50;

fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn state_specs(records: &[StateRecord]) -> Vec<RecordSpec> {
    let mut specs: Vec<RecordSpec> = records
        .iter()
        .map(|r| RecordSpec::new(1_700_000_000_000, r.key(), r.value()))
        .collect();
    fill_offset_deltas(&mut specs);
    specs
}

fn write_topic(log: &Path, topic: &str, partition: i32, records: i64) {
    let mut w = PartitionWriter::open(log, topic, partition, WriterOptions::default()).unwrap();
    for first in (0..records).step_by(10) {
        let values: Vec<String> = (first..(first + 10).min(records))
            .map(|n| format!("{topic}-{partition}-{n}"))
            .collect();
        let mut specs: Vec<RecordSpec> = values
            .iter()
            .map(|v| RecordSpec::new(1_700_000_000_000 + first, None, Some(v.as_bytes())))
            .collect();
        fill_offset_deltas(&mut specs);
        w.append(&specs).unwrap();
    }
    w.close().unwrap();
}

fn member(id: &str) -> MemberMetadata {
    MemberMetadata {
        member_id: id.into(),
        client_id: "app".into(),
        client_host: "/10.0.0.7".into(),
        rebalance_timeout: 300_000,
        session_timeout: 45_000,
        ..Default::default()
    }
}

/// A dead broker's log dir: `orders` (2 partitions), `payments` (1) and
/// two `__consumer_offsets` partitions. What a coordinator would load:
///
/// - billing: orders-0 → 120 (superseding 100), orders-1 → 50 (a later
///   transactional commit to 180 has no marker); metadata: 2 members.
/// - audit: payments-0 → 20 (superseding 10), gone-0 → 3 (a topic not in
///   the log dir); orders-0 was committed then deleted by a tombstone.
/// - idle: payments-0 → 40, metadata without members (empty).
/// - old: metadata deleted by a tombstone (dead), no offsets.
/// - txonly: one commit, in a transaction without marker: nothing.
fn broker_disk(log: &Path) {
    for (partition, records) in ORDERS {
        write_topic(log, "orders", partition, records);
    }
    write_topic(log, "payments", 0, PAYMENTS);

    let billing = GroupMetadataValue {
        version: 3,
        protocol_type: "consumer".into(),
        generation: 4,
        protocol: Some("range".into()),
        leader: Some("m1".into()),
        current_state_timestamp: 1_700_000_000_000,
        members: vec![member("m1"), member("m2")],
        unknown_tagged_fields: Vec::new(),
    };
    let mut w =
        PartitionWriter::open(log, "__consumer_offsets", 0, WriterOptions::default()).unwrap();
    w.append(&state_specs(&[
        offset_commit_record("billing", "orders", 0, 100, "", 1).unwrap(),
        offset_commit_record("billing", "orders", 1, 50, "", 1).unwrap(),
        offset_commit_record("audit", "payments", 0, 10, "", 1).unwrap(),
        group_metadata_record("billing", Some(&billing)).unwrap(),
    ]))
    .unwrap();
    w.append(&state_specs(&[
        offset_commit_record("billing", "orders", 0, 120, "ckpt-120", 2).unwrap(),
        offset_commit_record("audit", "payments", 0, 20, "", 2).unwrap(),
        offset_commit_record("audit", "orders", 0, 7, "", 2).unwrap(),
        offset_commit_record("audit", "gone", 0, 3, "", 2).unwrap(),
    ]))
    .unwrap();
    w.append(&state_specs(&[offset_commit_tombstone(
        "audit", "orders", 0,
    )
    .unwrap()]))
        .unwrap();
    w.append_transactional(
        5,
        0,
        &state_specs(&[offset_commit_record("billing", "orders", 1, 180, "", 3).unwrap()]),
    )
    .unwrap();
    // A group whose only commit is in an open transaction.
    w.append_transactional(
        6,
        0,
        &state_specs(&[offset_commit_record("txonly", "payments", 0, 30, "", 3).unwrap()]),
    )
    .unwrap();
    w.close().unwrap();

    let idle = GroupMetadataValue {
        version: 3,
        protocol_type: "consumer".into(),
        generation: 9,
        ..Default::default()
    };
    let mut w =
        PartitionWriter::open(log, "__consumer_offsets", 1, WriterOptions::default()).unwrap();
    w.append(&state_specs(&[
        offset_commit_record("idle", "payments", 0, 40, "", 1).unwrap(),
        group_metadata_record("idle", Some(&idle)).unwrap(),
        group_metadata_record("old", Some(&idle)).unwrap(),
        group_metadata_record("old", None).unwrap(),
        // A record type from a newer broker: kept raw, with a warning.
        StateRecord {
            key: vec![0, 99, 1, 2],
            value: Some(b"future".to_vec()),
        },
    ]))
    .unwrap();
    w.close().unwrap();
}

fn import(log: &Path, state: &Path, extra: &[&str]) -> Run {
    let mut args = vec![
        "group",
        "import",
        "--from-log-dir",
        s(log),
        "--state-dir",
        s(state),
    ];
    args.extend_from_slice(extra);
    kreplay(args)
}

/// The JSON plan as (group, topic, partition) → new offset.
fn plan(run: &Run) -> BTreeMap<(String, String, i64), i64> {
    run.json_lines()
        .iter()
        .map(|v| {
            (
                (
                    v["group"].as_str().unwrap().to_string(),
                    v["topic"].as_str().unwrap().to_string(),
                    v["partition"].as_i64().unwrap(),
                ),
                v["new_offset"].as_i64().unwrap(),
            )
        })
        .collect()
}

fn key(group: &str, topic: &str, partition: i64) -> (String, String, i64) {
    (group.into(), topic.into(), partition)
}

/// Every file of `dir` with its bytes (empty when `dir` does not exist).
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path.clone());
                files.insert(format!("{}/", path.display()), Vec::new());
            } else {
                files.insert(path.display().to_string(), std::fs::read(&path).unwrap());
            }
        }
    }
    files
}

/// (topic, partition) → (current offset, log end offset, lag, metadata).
type Described = BTreeMap<(String, i64), (i64, Option<i64>, Option<i64>, String)>;

/// `group describe G --json`.
fn describe(log: &Path, state: &Path, group: &str) -> Described {
    let run = kreplay([
        "group",
        "describe",
        group,
        "--log-dir",
        s(log),
        "--state-dir",
        s(state),
        "--json",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    run.json_lines()
        .iter()
        .map(|v| {
            (
                (
                    v["topic"].as_str().unwrap().to_string(),
                    v["partition"].as_i64().unwrap(),
                ),
                (
                    v["current_offset"].as_i64().unwrap(),
                    v["log_end_offset"].as_i64(),
                    v["lag"].as_i64(),
                    v["metadata"].as_str().unwrap_or("<none>").to_string(),
                ),
            )
        })
        .collect()
}

/// `consume -t topic --group G -o stored -e`: partition → offsets printed.
fn consume_stored(log: &Path, state: &Path, group: &str, topic: &str) -> BTreeMap<i64, Vec<i64>> {
    let run = kreplay([
        "consume",
        "--log-dir",
        s(log),
        "-t",
        topic,
        "--group",
        group,
        "--state-dir",
        s(state),
        "-o",
        "stored",
        "-e",
        "-f",
        "%p %o\n",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let mut by_partition: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    for line in run.stdout.lines() {
        let (p, o) = line.split_once(' ').unwrap();
        by_partition
            .entry(p.parse().unwrap())
            .or_default()
            .push(o.parse().unwrap());
    }
    by_partition
}

#[test]
fn dry_run_writes_nothing_execute_imports_and_consume_resumes_there() {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("broker-1");
    let state = tmp.path().join("state");
    broker_disk(&log);

    // A dry run with no state dir creates none.
    let run = import(&log, &state, &["--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let expected = BTreeMap::from([
        (key("audit", "gone", 0), 3),
        (key("audit", "payments", 0), 20),
        (key("billing", "orders", 0), 120),
        (key("billing", "orders", 1), 50),
        (key("idle", "payments", 0), 40),
    ]);
    assert_eq!(plan(&run), expected, "{}", run.stdout);
    assert!(!state.exists());
    // The uncommitted transaction and the missing topic are reported.
    assert!(
        run.stderr
            .contains("orders-1: a transactional commit of offset 180")
            && run.stderr.contains("producer id 5"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("group 'txonly': payments-0: a transactional commit of offset 30"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("group 'audit': topic gone is not in the log dir (partitions 0)"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("dry run: nothing written"),
        "{}",
        run.stderr
    );

    // kreplay's own billing group has already read all of orders.
    let first = consume_stored(&log, &state, "billing", "orders");
    assert_eq!(first[&0].len(), 300);
    let before = snapshot(&state);
    let run = import(&log, &state, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.stdout,
        "\
GROUP    TOPIC     PARTITION  NEW-OFFSET  CURRENT-OFFSET  LOG-END-OFFSET  LAG
audit    gone      0          3           -               -               -
audit    payments  0          20          -               50              30
billing  orders    0          120         300             300             180
billing  orders    1          50          200             200             150
idle     payments  0          40          -               50              10
"
    );
    assert_eq!(snapshot(&state), before, "a dry run wrote to the state dir");

    let run = import(&log, &state, &["--execute"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("wrote 2 offset(s) for group 'billing'"),
        "{}",
        run.stderr
    );
    let billing = describe(&log, &state, "billing");
    assert_eq!(
        billing,
        BTreeMap::from([
            (
                ("orders".into(), 0),
                (120, Some(300), Some(180), "ckpt-120".into())
            ),
            (("orders".into(), 1), (50, Some(200), Some(150), "".into())),
        ])
    );
    let audit = describe(&log, &state, "audit");
    assert_eq!(audit[&("payments".to_string(), 0)].0, 20);
    assert_eq!(audit[&("gone".to_string(), 0)].0, 3);
    assert!(!audit.contains_key(&("orders".to_string(), 0)));

    // consume resumes exactly at Kafka's committed offsets.
    let resumed = consume_stored(&log, &state, "billing", "orders");
    assert_eq!(resumed[&0], (120..300).collect::<Vec<i64>>());
    assert_eq!(resumed[&1], (50..200).collect::<Vec<i64>>());
    let resumed = consume_stored(&log, &state, "idle", "payments");
    assert_eq!(resumed[&0], (40..PAYMENTS).collect::<Vec<i64>>());
}

#[test]
fn group_selects_what_is_imported() {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("broker-1");
    let state = tmp.path().join("state");
    broker_disk(&log);

    let run = import(&log, &state, &["--group", "audit", "--execute", "--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        plan(&run),
        BTreeMap::from([
            (key("audit", "gone", 0), 3),
            (key("audit", "payments", 0), 20)
        ])
    );
    // billing's pending transaction is not audit's business.
    assert!(!run.stderr.contains("producer id"), "{}", run.stderr);
    let list = kreplay(["group", "list", "--state-dir", s(&state), "--json"]);
    assert_eq!(list.code, 0, "{}", list.stderr);
    let groups: Vec<String> = list
        .json_lines()
        .iter()
        .map(|v| v["group"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(groups, ["audit"]);

    let run = import(
        &log,
        &state,
        &["--group", "billing", "--group", "idle", "--json"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(plan(&run).len(), 3);

    // A group with no committed offsets (or none at all) is a data error.
    for group in ["old", "nobody", "txonly"] {
        let run = import(&log, &state, &["--group", group, "--execute"]);
        assert_eq!(run.code, 1, "{group}: {}", run.stderr);
        assert!(
            run.stderr
                .contains(&format!("group '{group}' has no committed offsets")),
            "{}",
            run.stderr
        );
    }
}

#[test]
fn list_from_log_dir_shows_kafkas_groups() {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("broker-1");
    broker_disk(&log);
    let run = kreplay(["group", "list", "--from-log-dir", s(&log)]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.stdout,
        "\
GROUP    STATE   MEMBERS  PARTITIONS  PROTOCOL-TYPE  PROTOCOL  GENERATION  LEADER
audit    empty   0        2           -              -         -           -
billing  stable  2        2           consumer       range     4           m1
idle     empty   0        1           consumer       -         9           -
old      dead    0        0           -              -         -           -
"
    );
    let run = kreplay(["group", "list", "--from-log-dir", s(&log), "--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let lines = run.json_lines();
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[1]["group"], "billing");
    assert_eq!(lines[1]["offsets_partitions"], serde_json::json!([0]));
    assert_eq!(lines[2]["offsets_partitions"], serde_json::json!([1]));
}

#[test]
fn a_malformed_commit_is_an_error_naming_file_position_and_offset() {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("broker-1");
    let state = tmp.path().join("state");
    broker_disk(&log);
    let mut w =
        PartitionWriter::open(&log, "__consumer_offsets", 2, WriterOptions::default()).unwrap();
    w.append(&state_specs(&[
        offset_commit_record("x", "orders", 0, 1, "", 1).unwrap(),
        // An offset commit key cut inside its group string.
        StateRecord {
            key: vec![0, 1, 0, 5, b'a'],
            value: None,
        },
    ]))
    .unwrap();
    w.close().unwrap();
    for args in [vec!["group", "import", "--execute"], vec!["group", "list"]] {
        let mut args = args;
        args.extend(["--from-log-dir", s(&log)]);
        if args[1] == "import" {
            args.extend(["--state-dir", s(&state)]);
        }
        let run = kreplay(&args);
        assert_eq!(run.code, 1, "{args:?}: {}", run.stderr);
        assert!(
            run.stderr.contains(
                "__consumer_offsets-2/00000000000000000000.log: position 0, offset 1: \
                 malformed __consumer_offsets record: key: field group at byte 2"
            ),
            "{}",
            run.stderr
        );
    }
    assert!(!state.exists(), "nothing is written after a bad record");
}

#[test]
fn a_state_dir_inside_the_log_dir_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("broker-1");
    broker_disk(&log);
    let state = log.join("kreplay-state");
    let run = import(&log, &state, &["--execute"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(!state.exists());
}

#[test]
fn execute_is_refused_while_a_group_has_a_live_member_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("broker-1");
    let state = tmp.path().join("state");
    broker_disk(&log);
    // A member of billing that stays (no -e: it waits for more records).
    let mut child = Command::new(env!("CARGO_BIN_EXE_kreplay"))
        .args(["consume", "--log-dir", s(&log), "-t", "orders"])
        .args(["--group", "billing", "--state-dir", s(&state)])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let run = kreplay(["group", "list", "--json", "--state-dir", s(&state)]);
        let live = run
            .json_lines()
            .iter()
            .any(|v| v["group"] == "billing" && v["members"] == 1);
        if live {
            break;
        }
        assert!(Instant::now() < deadline, "the member never joined");
        std::thread::sleep(Duration::from_millis(50));
    }
    let dry = import(&log, &state, &[]);
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    assert!(
        dry.stderr
            .contains("group 'billing' has 1 live member(s), so --execute would be refused"),
        "{}",
        dry.stderr
    );
    let run = import(&log, &state, &["--execute"]);
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("1 live member"), "{}", run.stderr);
    // All or nothing: the other groups were not written either.
    let list = kreplay(["group", "list", "--json", "--state-dir", s(&state)]);
    assert!(
        list.json_lines().iter().all(|v| v["group"] == "billing"),
        "{}",
        list.stdout
    );
    // Once the member is gone, the import goes through.
    let run = import(&log, &state, &["--execute", "--group", "billing"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let billing = describe(&log, &state, "billing");
    assert_eq!(billing[&("orders".to_string(), 0)].0, 120);
    assert_eq!(billing[&("orders".to_string(), 1)].0, 50);
}
