//! Every `kreplay group reset` mode gives exactly the offsets Kafka's would:
//! earliest, latest, offset and shift (clamped to the log), datetime and
//! duration (the first record at or after the time, else the log end).

mod common;
mod group_common;

use group_common::*;

/// The offset `consume -o s@TS` starts at (the engine's offset for a timestamp).
fn first_at_or_after(topic: &str, partition: i32, ts: i64) -> i64 {
    let run = kreplay([
        "consume",
        "--log-dir",
        s(&demo()),
        "-t",
        topic,
        "-p",
        &partition.to_string(),
        "-e",
        "-c",
        "1",
        "-o",
        &format!("s@{ts}"),
        "-f",
        "%o\n",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    run.stdout.trim().parse().unwrap()
}

#[test]
fn each_mode_gives_exact_offsets() {
    let state = tempfile::tempdir().unwrap();
    let st = state.path();
    consume_group(st, "g", "orders", 0, 100);
    consume_group(st, "g", "orders", 1, 10);
    let logs = log_offsets();
    let end = |t: &str, p: i64| logs[&tp(t, p)].1;
    let start = |t: &str, p: i64| logs[&tp(t, p)].0;

    let (run, plan) = reset(st, "g", &["--all-topics", "--to-latest"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        plan,
        [
            (tp("orders", 0), end("orders", 0)),
            (tp("orders", 1), end("orders", 1))
        ]
        .into(),
        "--all-topics: the committed partitions"
    );

    let (_, plan) = reset(st, "g", &["--topic", "metrics", "--to-earliest"]);
    assert_eq!(
        plan,
        (0..3)
            .map(|p| (tp("metrics", p), start("metrics", p)))
            .collect()
    );

    // --to-offset clamps to [log start, log end].
    let (_, plan) = reset(st, "g", &["--topic", "orders:0,1", "--to-offset", "1500"]);
    assert_eq!(
        plan,
        [(tp("orders", 0), 1500), (tp("orders", 1), 1500)].into()
    );
    let (_, plan) = reset(st, "g", &["--topic", "orders:2", "--to-offset", "99999999"]);
    assert_eq!(plan, [(tp("orders", 2), end("orders", 2))].into());

    // --shift-by from the committed offsets, clamped.
    let (_, plan) = reset(st, "g", &["--all-topics", "--shift-by", "-30"]);
    assert_eq!(plan, [(tp("orders", 0), 70), (tp("orders", 1), 0)].into());
    let (_, plan) = reset(st, "g", &["--topic", "orders:0", "--shift-by", "5"]);
    assert_eq!(plan, [(tp("orders", 0), 105)].into());

    // --to-datetime: the first record at or after the time, in the middle
    // of orders-1; before every record: the log start; after: the log end.
    let ts = 1_700_000_025_000; // 2023-11-14T22:13:45Z
    let (run, plan) = reset(
        st,
        "g",
        &[
            "--topic",
            "orders:1",
            "--to-datetime",
            "2023-11-14T22:13:45.000Z",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let expected = first_at_or_after("orders", 1, ts);
    assert!(expected > 0 && expected < end("orders", 1));
    assert_eq!(plan, [(tp("orders", 1), expected)].into());
    let (_, plan) = reset(
        st,
        "g",
        &[
            "--topic",
            "orders:1",
            "--to-datetime",
            "2023-11-14T23:13:45+01:00",
        ],
    );
    assert_eq!(plan, [(tp("orders", 1), expected)].into());
    let (_, plan) = reset(
        st,
        "g",
        &[
            "--topic",
            "orders:1",
            "--to-datetime",
            "2000-01-01T00:00:00Z",
        ],
    );
    assert_eq!(plan, [(tp("orders", 1), start("orders", 1))].into());
    let (_, plan) = reset(
        st,
        "g",
        &[
            "--topic",
            "orders:1",
            "--to-datetime",
            "2030-01-01T00:00:00Z",
        ],
    );
    assert_eq!(plan, [(tp("orders", 1), end("orders", 1))].into());

    // --by-duration: now minus the duration. Every record is from 2023: a
    // day ago is after them all (the log end), 100000 days ago before them.
    let (_, plan) = reset(
        st,
        "g",
        &["--topic", "orders:1", "--by-duration", "P1DT2H30M"],
    );
    assert_eq!(plan, [(tp("orders", 1), end("orders", 1))].into());
    let (_, plan) = reset(
        st,
        "g",
        &["--topic", "orders:1", "--by-duration", "P100000D"],
    );
    assert_eq!(plan, [(tp("orders", 1), start("orders", 1))].into());

    // Nothing was written by any of these dry runs.
    assert_eq!(
        committed(st, "g"),
        [(tp("orders", 0), 100), (tp("orders", 1), 10)].into()
    );
}
