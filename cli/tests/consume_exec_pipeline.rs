//! Two sinks, two groups, one log, end to end: `hadoop`'s `--exec` sink
//! always succeeds and gets every record exactly once; `es`'s sink breaks
//! from its 5th batch on (it keeps what it read, then exits 1), so `es`
//! stops with status 1, committed exactly where its sink last succeeded.
//! Once repaired, a rerun of `es` resumes from that commit: es then holds
//! every record, the only duplicates being those of the failed batch. The
//! log dir is byte for byte what `kreplay gen` wrote.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::*;
use kreplay::OffsetStore;
use serde_json::Value;

const PARTITIONS: i32 = 4;
const PER_PARTITION: i64 = 1000;
/// The first run of the es sink that fails while it is broken.
const BREAKS_AT: usize = 5;
const RETRIES: usize = 2;

fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// `kreplay consume` of `metrics` as `group`, sinking into `command`.
fn consume_into(log: &Path, state: &Path, group: &str, command: &str) -> Run {
    kreplay([
        "consume",
        "--log-dir",
        s(log),
        "-t",
        "metrics",
        "--group",
        group,
        "--state-dir",
        s(state),
        "-e",
        "--max-poll-records",
        "30",
        "--format",
        "json",
        "--exec",
        command,
        "--retries",
        &RETRIES.to_string(),
        "--retry-backoff",
        "10ms",
    ])
}

fn committed(state: &Path, log: &Path, group: &str) -> BTreeMap<i64, i64> {
    OffsetStore::open(state, &[log.to_path_buf()])
        .unwrap()
        .committed_all(group)
        .unwrap()
        .into_iter()
        .map(|(tp, offset)| (i64::from(tp.partition), offset.offset))
        .collect()
}

fn records(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn key(record: &Value) -> (i64, i64) {
    (
        record["partition"].as_i64().unwrap(),
        record["offset"].as_i64().unwrap(),
    )
}

/// One run of the es sink, from its log line `N ATTEMPT PARTITIONS ok|failed`.
#[derive(Debug, PartialEq)]
struct EsRun {
    n: usize,
    attempt: u32,
    /// partition -> (first, last), from `KREPLAY_PARTITIONS`.
    ranges: BTreeMap<i64, (i64, i64)>,
    ok: bool,
}

fn es_runs(path: &Path) -> Vec<EsRun> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|line| {
            let fields: Vec<&str> = line.split(' ').collect();
            let ranges = fields[2]
                .split(',')
                .map(|range| {
                    let (tp, offsets) = range.split_once(':').unwrap();
                    let partition = tp.strip_prefix("metrics-").unwrap().parse().unwrap();
                    let (first, last) = offsets.split_once('-').unwrap();
                    (partition, (first.parse().unwrap(), last.parse().unwrap()))
                })
                .collect();
            EsRun {
                n: fields[0].parse().unwrap(),
                attempt: fields[1].parse().unwrap(),
                ranges,
                ok: fields[3] == "ok",
            }
        })
        .collect()
}

#[test]
fn two_groups_two_sinks_one_breaks_and_catches_up() {
    let log = tempfile::tempdir().unwrap();
    let run = kreplay([
        "gen",
        s(log.path()),
        "--topics",
        "metrics",
        "--partitions",
        &PARTITIONS.to_string(),
        "--records",
        &(i64::from(PARTITIONS) * PER_PARTITION).to_string(),
        "--batch-records",
        "50",
        "--segment-bytes",
        "65536",
        "--seed",
        "5",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let before = tree_digest(log.path());
    assert!(
        before
            .keys()
            .filter(|p| p.extension().is_some_and(|e| e == "log"))
            .count()
            > 8
    );

    let all = kreplay([
        "consume",
        "--log-dir",
        s(log.path()),
        "-t",
        "metrics",
        "-e",
        "--format",
        "json",
    ]);
    assert_eq!(all.code, 0, "{}", all.stderr);
    let all = all.json_lines();
    assert_eq!(all.len() as i64, i64::from(PARTITIONS) * PER_PARTITION);
    let by_key: BTreeMap<(i64, i64), &Value> = all.iter().map(|r| (key(r), r)).collect();
    let ends: BTreeMap<i64, i64> = (0..i64::from(PARTITIONS))
        .map(|p| (p, PER_PARTITION))
        .collect();

    let sinks = tempfile::tempdir().unwrap();
    let dir = s(sinks.path());
    let hadoop_sh = sinks.path().join("hadoop.sh");
    std::fs::write(&hadoop_sh, format!("cat >> '{dir}/hadoop.jsonl'\n")).unwrap();
    // It keeps what it read even when it fails: a bulk request half applied.
    let es_sh = sinks.path().join("es.sh");
    std::fs::write(
        &es_sh,
        format!(
            r#"dir='{dir}'
n=$(( $(cat "$dir/es.count" 2>/dev/null || echo 0) + 1 ))
echo "$n" > "$dir/es.count"
cat >> "$dir/es.jsonl"
if [ -e "$dir/es.broken" ] && [ "$n" -ge {BREAKS_AT} ]; then
  echo "$n $KREPLAY_ATTEMPT $KREPLAY_PARTITIONS failed" >> "$dir/es.log"
  echo "es: bulk request rejected" >&2
  exit 1
fi
echo "$n $KREPLAY_ATTEMPT $KREPLAY_PARTITIONS ok" >> "$dir/es.log"
"#
        ),
    )
    .unwrap();
    std::fs::write(sinks.path().join("es.broken"), "").unwrap();
    let hadoop_command = format!("sh {}", s(&hadoop_sh));
    let es_command = format!("sh {}", s(&es_sh));
    let state = tempfile::tempdir().unwrap();

    // Both groups at once, over the same log and state dir.
    let (hadoop, es) = std::thread::scope(|scope| {
        let hadoop =
            scope.spawn(|| consume_into(log.path(), state.path(), "hadoop", &hadoop_command));
        let es = scope.spawn(|| consume_into(log.path(), state.path(), "es", &es_command));
        (hadoop.join().unwrap(), es.join().unwrap())
    });

    // hadoop: every record exactly once, in order within each partition.
    assert_eq!(hadoop.code, 0, "{}", hadoop.stderr);
    assert_eq!(hadoop.stdout, "");
    let got = records(&sinks.path().join("hadoop.jsonl"));
    assert_eq!(got.len(), all.len(), "hadoop got every record once");
    assert!(
        by_partition(&got) == by_partition(&all),
        "hadoop's records differ"
    );
    assert_eq!(committed(state.path(), log.path(), "hadoop"), ends);

    // es: runs 1 to 4 succeeded, run 5 failed, and so did its 2 retries.
    assert_eq!(es.code, 1, "{}", es.stderr);
    assert_eq!(es.stdout, "");
    let runs = es_runs(&sinks.path().join("es.log"));
    assert_eq!(runs.len(), BREAKS_AT + RETRIES, "{runs:?}");
    let (accepted, failed) = runs.split_at(BREAKS_AT - 1);
    assert!(accepted.iter().all(|r| r.ok && r.attempt == 1), "{runs:?}");
    for (retry, run) in failed.iter().enumerate() {
        assert!(!run.ok);
        assert_eq!(run.attempt as usize, retry + 1);
        assert_eq!(
            run.ranges, failed[0].ranges,
            "a retry gets the same records"
        );
    }
    let failed_ranges = &failed[0].ranges;
    let failed_partitions = failed_ranges
        .iter()
        .map(|(p, (first, last))| format!("metrics-{p}:{first}-{last}"))
        .collect::<Vec<_>>()
        .join(",");
    let message = format!(
        "kreplay: error: --exec command '{es_command}' exited with status 1 (attempt 3 of 3, giving up)"
    );
    assert!(es.stderr.contains(&message), "{}", es.stderr);
    assert!(
        es.stderr.contains(&format!(
            "not accepted: {failed_partitions}; group 'es' keeps the offsets committed before them"
        )),
        "{}",
        es.stderr
    );
    assert_eq!(es.stderr.matches("es: bulk request rejected").count(), 3);
    // Committed: just after what the sink accepted, per partition (the
    // starting offset, 0, for partitions it got nothing of).
    let mut want: BTreeMap<i64, i64> = ends.keys().map(|&p| (p, 0)).collect();
    for run in accepted {
        for (&p, &(_, last)) in &run.ranges {
            want.insert(p, last + 1);
        }
    }
    let es_committed = committed(state.path(), log.path(), "es");
    assert_eq!(es_committed, want);
    for (p, (first, _)) in failed_ranges {
        assert_eq!(
            es_committed[p], *first,
            "the failed batch starts at the commit"
        );
    }
    let written_before_repair = records(&sinks.path().join("es.jsonl")).len();

    // Repaired: the rerun resumes from the commit.
    std::fs::remove_file(sinks.path().join("es.broken")).unwrap();
    let rerun = consume_into(log.path(), state.path(), "es", &es_command);
    assert_eq!(rerun.code, 0, "{}", rerun.stderr);
    assert_eq!(rerun.stdout, "");
    let es_all = records(&sinks.path().join("es.jsonl"));
    let mut first_in_rerun: BTreeMap<i64, i64> = BTreeMap::new();
    for r in &es_all[written_before_repair..] {
        let (p, o) = key(r);
        first_in_rerun.entry(p).or_insert(o);
    }
    for (p, first) in &first_in_rerun {
        assert_eq!(*first, es_committed[p], "partition {p} resumed elsewhere");
    }
    assert!(es_runs(&sinks.path().join("es.log"))[BREAKS_AT + RETRIES..]
        .iter()
        .all(|r| r.ok && r.attempt == 1));
    assert_eq!(committed(state.path(), log.path(), "es"), ends);

    // Every record reached es, each as it is in the log; the duplicates
    // are the failed batch, once per failed run and once more in the rerun.
    let mut seen: BTreeMap<(i64, i64), usize> = BTreeMap::new();
    for r in &es_all {
        assert_eq!(
            Some(&r),
            by_key.get(&key(r)),
            "a record es got is not in the log"
        );
        *seen.entry(key(r)).or_default() += 1;
    }
    assert_eq!(seen.len(), all.len(), "es lacks records");
    let in_failed_batch = |(p, o): (i64, i64)| {
        failed_ranges
            .get(&p)
            .is_some_and(|&(first, last)| (first..=last).contains(&o))
    };
    let mut duplicated = 0;
    for (&k, &count) in &seen {
        if in_failed_batch(k) {
            assert_eq!(count, 1 + RETRIES + 1, "{k:?}");
            duplicated += 1;
        } else {
            assert_eq!(count, 1, "{k:?} duplicated outside the failed batch");
        }
    }
    assert!(duplicated > 0 && duplicated <= 30);

    assert_eq!(tree_digest(log.path()), before, "the log dir changed");
}
