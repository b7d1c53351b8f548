//! `kreplay group reset` only prints its plan by default and with
//! --dry-run; --execute writes it, and `consume -o stored` then starts at
//! the new offset.

mod common;
mod group_common;

use group_common::*;

#[test]
fn dry_run_writes_nothing_and_execute_writes_the_plan() {
    let state = tempfile::tempdir().unwrap();
    consume_group(state.path(), "g", "orders", 1, 10);
    let offsets_file = state.path().join("groups/g/offsets");
    let before = std::fs::read(&offsets_file).unwrap();
    for dry in [
        &["--to-offset", "700"][..],
        &["--to-offset", "700", "--dry-run"],
    ] {
        let mut args = vec!["--topic", "orders:1"];
        args.extend_from_slice(dry);
        let (run, plan) = reset(state.path(), "g", &args);
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert_eq!(plan, [(tp("orders", 1), 700)].into());
        assert!(run.stderr.contains("dry run"), "{}", run.stderr);
        assert_eq!(std::fs::read(&offsets_file).unwrap(), before);
        assert_eq!(committed(state.path(), "g")[&tp("orders", 1)], 10);
    }

    let (run, plan) = reset(
        state.path(),
        "g",
        &["--topic", "orders:1", "--to-offset", "700", "--execute"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(plan, [(tp("orders", 1), 700)].into());
    assert_eq!(committed(state.path(), "g")[&tp("orders", 1)], 700);
    assert_eq!(
        consume_group(state.path(), "g", "orders", 1, 3),
        [700, 701, 702]
    );
}

#[test]
fn text_plan_is_a_table() {
    let state = tempfile::tempdir().unwrap();
    let run = kreplay([
        "group",
        "reset",
        "new",
        "--log-dir",
        s(&demo()),
        "--state-dir",
        s(state.path()),
        "--topic",
        "orders:0,2",
        "--to-earliest",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.stdout,
        "GROUP  TOPIC   PARTITION  NEW-OFFSET\nnew    orders  0          0\nnew    orders  2          0\n"
    );
    // A dry run of a new group creates no group.
    let run = kreplay(["group", "list", "--state-dir", s(state.path()), "--json"]);
    assert_eq!(run.stdout, "");
}
