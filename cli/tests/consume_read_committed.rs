//! `--isolation-level read_committed` hides the aborted transaction of
//! v2-transactional (offsets 11-15); read_uncommitted shows it. Control
//! records (10, 19) are never printed.

mod common;

use common::*;

#[test]
fn isolation_levels() {
    let case = corpus_case("v2-transactional");
    let run = consume(
        &case,
        &["-e", "-f", "%o\n", "--isolation-level", "read_committed"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let got: Vec<i64> = run.stdout.lines().map(|l| l.parse().unwrap()).collect();
    let want: Vec<i64> = (0..=9).chain(16..=18).chain(20..=21).collect();
    assert_eq!(got, want);

    for args in [
        vec!["-e", "-f", "%o\n"],
        vec!["-e", "-f", "%o\n", "--isolation-level", "read_uncommitted"],
    ] {
        let run = consume(&case, &args);
        assert_eq!(run.code, 0, "{}", run.stderr);
        let got: Vec<i64> = run.stdout.lines().map(|l| l.parse().unwrap()).collect();
        let want: Vec<i64> = (0..=21).filter(|o| *o != 10 && *o != 19).collect();
        assert_eq!(got, want, "{args:?}");
    }
}
