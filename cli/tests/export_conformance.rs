//! `kreplay export` over every conformance case, in each format: the files,
//! read back with arrow-rs's own Parquet and IPC readers (and as JSON
//! lines), hold exactly the records `expected.jsonl` says a consumer gets,
//! per partition in order; files are named by their first and last
//! offsets, roll at --max-file-records without losing or repeating a
//! record, leave no temporary file, and never touch the log dir.

mod common;

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use arrow_array::cast::AsArray;
use arrow_array::types::{Int16Type, Int32Type, Int64Type, Int8Type, TimestampMillisecondType};
use arrow_array::{Array, RecordBatch};
use base64::Engine as _;
use common::*;
use serde_json::{json, Value};

fn b64(bytes: &[u8]) -> Value {
    Value::String(base64::engine::general_purpose::STANDARD.encode(bytes))
}

/// The rows of an Arrow batch in export's schema, as consume's JSON objects
/// (base64 bytes).
fn rows(batch: &RecordBatch) -> Vec<Value> {
    let column = |name: &str| {
        batch
            .column_by_name(name)
            .unwrap_or_else(|| panic!("no {name}"))
    };
    let topic = column("topic").as_dictionary::<Int32Type>();
    let names = topic.values().as_string::<i32>();
    let partition = column("partition").as_primitive::<Int32Type>();
    let offset = column("offset").as_primitive::<Int64Type>();
    let timestamp = column("timestamp").as_primitive::<TimestampMillisecondType>();
    let timestamp_type = column("timestamp_type").as_primitive::<Int8Type>();
    let key = column("key").as_binary::<i32>();
    let value = column("value").as_binary::<i32>();
    let headers = column("headers").as_list::<i32>();
    // Present and typed, even where these cases have no value to compare.
    column("leader_epoch").as_primitive::<Int32Type>();
    column("producer_id").as_primitive::<Int64Type>();
    column("producer_epoch").as_primitive::<Int16Type>();
    let bytes = |array: &arrow_array::BinaryArray, i: usize| {
        if array.is_null(i) {
            Value::Null
        } else {
            b64(array.value(i))
        }
    };
    (0..batch.num_rows())
        .map(|i| {
            let list = headers.value(i);
            let list = list.as_struct();
            let header_keys = list.column(0).as_string::<i32>();
            let header_values = list.column(1).as_binary::<i32>();
            let headers: Vec<Value> = (0..list.len())
                .map(|h| json!([header_keys.value(h), bytes(header_values, h)]))
                .collect();
            json!({
                "topic": names.value(topic.keys().value(i) as usize),
                "partition": partition.value(i),
                "offset": offset.value(i),
                "timestamp": if timestamp.is_null(i) { Value::Null } else { json!(timestamp.value(i)) },
                "timestamp_type": if timestamp_type.is_null(i) { Value::Null } else { json!(timestamp_type.value(i)) },
                "key": bytes(key, i),
                "value": bytes(value, i),
                "headers": headers,
            })
        })
        .collect()
}

/// The records in one exported file.
fn read_file(path: &Path) -> Vec<Value> {
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default();
    match extension {
        "parquet" => {
            let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
                File::open(path).unwrap(),
            )
            .unwrap()
            .build()
            .unwrap();
            reader.flat_map(|batch| rows(&batch.unwrap())).collect()
        }
        "arrow" => {
            let reader =
                arrow_ipc::reader::FileReader::try_new(File::open(path).unwrap(), None).unwrap();
            reader.flat_map(|batch| rows(&batch.unwrap())).collect()
        }
        "jsonl" => std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect(),
        other => panic!("unexpected file {} ({other})", path.display()),
    }
}

/// Runs export of every topic of `case` into `out`, with `args`.
fn export(case: &Path, out: &Path, args: &[&str]) -> Run {
    let mut all: Vec<std::ffi::OsString> = vec![
        "export".into(),
        "--log-dir".into(),
        case.into(),
        "--out-dir".into(),
        out.into(),
    ];
    for topic in topics_of(case) {
        all.push("-t".into());
        all.push(topic.into());
    }
    all.extend(args.iter().map(Into::into));
    kreplay(all)
}

/// The files export listed on stdout, checked against the directory: the
/// names say partition, first and last offset, every file is listed, and
/// no temporary file is left. Returns the records by partition.
fn check_files(
    run: &Run,
    out: &Path,
    max_records: Option<usize>,
) -> BTreeMap<(String, i64), Vec<Value>> {
    let mut listed: Vec<PathBuf> = Vec::new();
    let mut records: Vec<Value> = Vec::new();
    for line in run.stdout.lines() {
        let fields: Vec<&str> = line.split('\t').collect();
        assert_eq!(fields.len(), 6, "{line}");
        let path = PathBuf::from(fields[5]);
        let got = read_file(&path);
        assert_eq!(got.len().to_string(), fields[3], "{line}");
        assert!(!got.is_empty(), "an empty file: {line}");
        if let Some(max) = max_records {
            assert!(got.len() <= max, "{line}");
        }
        let (first, last) = (
            got[0]["offset"].as_i64().unwrap(),
            got[got.len() - 1]["offset"].as_i64().unwrap(),
        );
        assert_eq!(
            (first.to_string(), last.to_string()),
            (fields[1].to_string(), fields[2].to_string())
        );
        let name = path.file_name().unwrap().to_str().unwrap();
        let tp = format!(
            "{}-{}",
            got[0]["topic"].as_str().unwrap(),
            got[0]["partition"]
        );
        assert_eq!(fields[0], tp);
        assert!(
            name.starts_with(&format!("{tp}-{first:020}-{last:020}.")),
            "{name}"
        );
        assert_eq!(
            std::fs::metadata(&path).unwrap().len().to_string(),
            fields[4]
        );
        listed.push(path);
        records.extend(got);
    }
    let mut present: Vec<PathBuf> = std::fs::read_dir(out)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    present.sort();
    listed.sort();
    assert_eq!(
        present,
        listed,
        "files in {} that export did not list (or the reverse)",
        out.display()
    );
    by_partition(&records)
}

#[test]
fn export_matches_expected_jsonl_in_every_format() {
    let mut checked = 0;
    let mut failures = Vec::new();
    for root in corpus_roots("corpus") {
        for case in cases_under(&root) {
            let digest = tree_digest(&case);
            let expected = by_partition(&expected_consumed(&case));
            for format in ["parquet", "arrow", "jsonl"] {
                let tmp = tempfile::tempdir().unwrap();
                let out = tmp.path().join("out");
                let run = export(&case, &out, &["--format", format, "--bytes", "base64"]);
                if run.code != 0 || !run.stderr.is_empty() {
                    failures.push(format!(
                        "{} {format}: exit {}: {}",
                        case.display(),
                        run.code,
                        run.stderr
                    ));
                    continue;
                }
                let got = check_files(&run, &out, None);
                if got != expected {
                    failures.push(format!("{} {format}: records differ", case.display()));
                }
            }
            assert_eq!(
                tree_digest(&case),
                digest,
                "{} was modified",
                case.display()
            );
            checked += 1;
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(checked >= 26, "only {checked} cases found");
}

#[test]
fn files_roll_at_max_file_records_and_count_applies_per_partition() {
    let case = corpus_case("v2-four-partitions");
    let expected = by_partition(&expected_consumed(&case));
    for format in ["parquet", "arrow", "jsonl"] {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        let run = export(
            &case,
            &out,
            &[
                "--format",
                format,
                "--bytes",
                "base64",
                "--max-file-records",
                "7",
                "--jobs",
                "3",
            ],
        );
        assert_eq!((run.code, run.stderr.as_str()), (0, ""), "{format}");
        assert_eq!(check_files(&run, &out, Some(7)), expected, "{format}");
        assert!(
            run.stdout.lines().count() > expected.len(),
            "{format}: nothing rolled"
        );

        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        let run = export(
            &case,
            &out,
            &[
                "--format", format, "--bytes", "base64", "-c", "5", "-o", "3",
            ],
        );
        assert_eq!((run.code, run.stderr.as_str()), (0, ""), "{format}");
        let got = check_files(&run, &out, None);
        let want: BTreeMap<_, Vec<Value>> = expected
            .iter()
            .map(|(tp, records)| {
                let from: Vec<Value> = records
                    .iter()
                    .filter(|r| r["offset"].as_i64().unwrap() >= 3)
                    .take(5)
                    .cloned()
                    .collect();
                (tp.clone(), from)
            })
            .filter(|(_, from)| !from.is_empty())
            .collect();
        assert!(
            want.len() >= 2,
            "the case has too few records past offset 3"
        );
        assert_eq!(got, want, "{format}: -o 3 -c 5");
    }
}

#[test]
fn a_leftover_temporary_file_is_removed_and_the_log_dir_is_refused() {
    let case = corpus_case("v2-uncompressed");
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let topic = &topics_of(&case)[0];
    // What a killed export leaves: a hidden, partly written file.
    let leftover = out.join(format!(".{topic}-0-{:020}.parquet.kreplay-tmp", 0));
    std::fs::write(&leftover, b"PAR1 half a file").unwrap();
    let unrelated = out.join("notes.txt");
    std::fs::write(&unrelated, b"mine").unwrap();
    let run = export(&case, &out, &[]);
    assert_eq!((run.code, run.stderr.as_str()), (0, ""));
    assert!(!leftover.exists());
    assert_eq!(std::fs::read(&unrelated).unwrap(), b"mine");

    let digest = tree_digest(&case);
    for inside in [
        case.clone(),
        case.join("exports"),
        case.join(format!("{topic}-0")),
    ] {
        let run = export(&case, &inside, &[]);
        assert_eq!(run.code, 2, "{}: {}", inside.display(), run.stderr);
        assert!(
            run.stderr.contains("never writes into a log dir"),
            "{}",
            run.stderr
        );
        assert!(run.stdout.is_empty());
    }
    assert_eq!(tree_digest(&case), digest, "the log dir was modified");
}

#[test]
fn records_before_a_corrupt_batch_are_exported_and_the_exit_status_is_1() {
    let case = workspace_root().join("fixtures/conformance/corpus-bad/crc-flipped-byte");
    let consumed = consume(&case, &["-e", "--format", "json", "--bytes", "base64"]);
    assert_eq!(consumed.code, 1, "{}", consumed.stderr);
    let before = consumed.json_lines();
    assert!(!before.is_empty());
    for format in ["parquet", "arrow", "jsonl"] {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        let run = export(&case, &out, &["--format", format, "--bytes", "base64"]);
        assert_eq!(run.code, 1, "{format}: {}", run.stderr);
        assert!(
            run.stderr.contains("00000000000000000000.log: position ")
                && run.stderr.contains("crc mismatch"),
            "{format}: {}",
            run.stderr
        );
        assert_eq!(
            check_files(&run, &out, None),
            by_partition(&before),
            "{format}"
        );
    }
}
