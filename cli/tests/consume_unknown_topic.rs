//! An unknown topic's error lists the topics found, as a bad partition's
//! error lists the partitions.

mod common;

use common::*;

#[test]
fn an_unknown_topic_lists_the_topics_found() {
    let dir = tempfile::tempdir().unwrap();
    let log_dir = dir.path().join("logs");
    let run = kreplay([
        "gen".as_ref(),
        "--topics".as_ref(),
        "alpha,beta".as_ref(),
        "--partitions".as_ref(),
        "1".as_ref(),
        "--records".as_ref(),
        "10".as_ref(),
        log_dir.as_os_str(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = kreplay([
        "consume".as_ref(),
        "--log-dir".as_ref(),
        log_dir.as_os_str(),
        "-t".as_ref(),
        "gamma".as_ref(),
        "-e".as_ref(),
    ]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("'gamma'"), "{}", run.stderr);
    assert!(run.stderr.contains("alpha, beta"), "{}", run.stderr);
}
