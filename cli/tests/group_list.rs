//! `kreplay group list` shows every group of the state dir, its state and
//! live members, with the number of partitions it committed.

mod common;
mod group_common;

use group_common::*;

#[test]
fn list_shows_groups_and_committed_partitions() {
    let state = tempfile::tempdir().unwrap();
    let run = kreplay(["group", "list", "--state-dir", s(state.path())]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, "GROUP  STATE  MEMBERS  PARTITIONS\n");

    consume_group(state.path(), "es", "orders", 0, 2);
    consume_group(state.path(), "es", "orders", 1, 2);
    consume_group(state.path(), "hadoop", "metrics", 2, 1);
    let run = kreplay(["group", "list", "--state-dir", s(state.path())]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.stdout,
        "GROUP   STATE  MEMBERS  PARTITIONS\nes      empty  0        2\nhadoop  empty  0        1\n"
    );
    let run = kreplay(["group", "list", "--state-dir", s(state.path()), "--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.stdout,
        "{\"group\":\"es\",\"state\":\"empty\",\"members\":0,\"generation\":0,\"protocol\":null,\"partitions\":2}\n\
         {\"group\":\"hadoop\",\"state\":\"empty\",\"members\":0,\"generation\":0,\"protocol\":null,\"partitions\":1}\n"
    );
}

#[test]
fn list_of_a_missing_state_dir_is_empty_and_creates_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("absent");
    let run = kreplay(["group", "list", "--state-dir", s(&state), "--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, "");
    assert!(!state.exists());
}
