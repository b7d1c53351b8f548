//! `kreplay group delete` removes a group and its offsets; deleting a group
//! that does not exist is exit 1, "group not found".

mod common;
mod group_common;

use group_common::*;

#[test]
fn delete_removes_the_group() {
    let state = tempfile::tempdir().unwrap();
    consume_group(state.path(), "gone", "orders", 0, 4);
    consume_group(state.path(), "kept", "orders", 0, 2);
    let run = kreplay(["group", "delete", "gone", "--state-dir", s(state.path())]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = kreplay(["group", "list", "--state-dir", s(state.path()), "--json"]);
    assert_eq!(
        run.stdout,
        "{\"group\":\"kept\",\"state\":\"empty\",\"members\":0,\"generation\":0,\"protocol\":null,\"partitions\":1}\n"
    );
    // The other group is untouched; the deleted one starts over.
    assert_eq!(committed(state.path(), "kept")[&tp("orders", 0)], 2);
    assert_eq!(consume_group(state.path(), "gone", "orders", 0, 1), [0]);

    let run = kreplay(["group", "delete", "never", "--state-dir", s(state.path())]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("group not found"), "{}", run.stderr);
}
