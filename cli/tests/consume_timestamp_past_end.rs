//! `-o s@TS` past every record's timestamp starts at the log end, as kcat
//! does, and says so: a note per partition naming its last timestamp.

mod common;

use common::*;

#[test]
fn a_timestamp_past_the_end_notes_each_partitions_last_timestamp() {
    let dir = tempfile::tempdir().unwrap();
    let log_dir = dir.path().join("logs");
    let run = kreplay([
        "gen".as_ref(),
        "--topics".as_ref(),
        "t".as_ref(),
        "--partitions".as_ref(),
        "2".as_ref(),
        "--records".as_ref(),
        "300".as_ref(),
        log_dir.as_os_str(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    // Each partition's last timestamp, read as a record (the generator's
    // timestamps grow with the offset).
    let last: Vec<i64> = (0..2)
        .map(|p| {
            let p = p.to_string();
            let run = consume(&log_dir, &["-p", &p, "-e", "-o", "-1", "-f", "%T\n"]);
            assert_eq!(run.code, 0, "{}", run.stderr);
            run.stdout.trim().parse().unwrap()
        })
        .collect();
    let past = last.iter().max().unwrap() + 1;
    let run = consume(&log_dir, &["-e", "-o", &format!("s@{past}")]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, "");
    for (p, last) in last.iter().enumerate() {
        let note = run
            .stderr
            .lines()
            .find(|l| l.contains(&format!("t-{p}:")))
            .unwrap_or_else(|| panic!("no note for t-{p}: {}", run.stderr));
        assert!(
            note.contains(&format!("last timestamp is {last}")),
            "{note}"
        );
    }
    // A timestamp inside the log: no note.
    let run = consume(
        &log_dir,
        &["-e", "-o", &format!("s@{}", last[0]), "-c", "1"],
    );
    assert!(!run.stderr.contains("last timestamp"), "{}", run.stderr);
}
