//! `kreplay export --value-format utf8|json`: JSON values come out as typed
//! columns (inferred from a sample, or from `--schema FILE`), equal to what
//! consume prints; a value that does not fit ends its partition with an
//! error naming partition and offset (the records before it exported), or
//! goes to `_raw` with `--on-mismatch raw`.

mod common;

use std::fs::File;
use std::path::{Path, PathBuf};

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type};
use arrow_array::{Array, RecordBatch};
use common::*;
use kreplay::writer::{fill_offset_deltas, PartitionWriter, RecordSpec, WriterOptions};

fn read_parquet(dir: &Path) -> Vec<RecordBatch> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
        .collect();
    paths.sort();
    let mut batches = Vec::new();
    for path in paths {
        let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
            File::open(&path).unwrap(),
        )
        .unwrap()
        .build()
        .unwrap();
        batches.extend(reader.map(Result::unwrap));
    }
    batches
}

fn export(log: &Path, out: &Path, topic: &str, extra: &[&str]) -> Run {
    let mut args: Vec<String> = [
        "export",
        "--log-dir",
        log.to_str().unwrap(),
        "-t",
        topic,
        "--out-dir",
        out.to_str().unwrap(),
    ]
    .map(String::from)
    .to_vec();
    args.extend(extra.iter().map(|s| s.to_string()));
    kreplay(args)
}

/// A partition `t-0` with these values.
fn write_values(log: &Path, values: &[&[u8]]) {
    let mut writer = PartitionWriter::open(log, "t", 0, WriterOptions::default()).unwrap();
    let mut records: Vec<RecordSpec> = values
        .iter()
        .map(|v| RecordSpec::new(1_700_000_000_000, None, Some(v)))
        .collect();
    fill_offset_deltas(&mut records);
    writer.append(&records).unwrap();
    writer.close().unwrap();
}

#[test]
fn generated_metrics_come_out_as_typed_columns_equal_to_consume() {
    let tmp = tempfile::tempdir().unwrap();
    let (log, out) = (tmp.path().join("log"), tmp.path().join("out"));
    let run = kreplay([
        "gen",
        log.to_str().unwrap(),
        "--records",
        "3000",
        "--partitions",
        "2",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = export(&log, &out, "metrics", &["--value-format", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let consumed = kreplay([
        "consume",
        "--log-dir",
        log.to_str().unwrap(),
        "-t",
        "metrics",
        "-e",
        "--format",
        "json",
    ]);
    let mut expected: Vec<(i32, i64, String, f64)> = consumed
        .json_lines()
        .iter()
        .map(|r| {
            let value: serde_json::Value =
                serde_json::from_str(r["value"].as_str().unwrap()).unwrap();
            (
                r["partition"].as_i64().unwrap() as i32,
                r["offset"].as_i64().unwrap(),
                value["host"].as_str().unwrap().to_string(),
                value["cpu"].as_f64().unwrap(),
            )
        })
        .collect();
    let mut got = Vec::new();
    for batch in read_parquet(&out) {
        assert!(batch.column_by_name("value").is_none());
        let host = batch.column_by_name("host").unwrap().as_string::<i32>();
        let cpu = batch
            .column_by_name("cpu")
            .unwrap()
            .as_primitive::<Float64Type>();
        let partition = batch
            .column_by_name("partition")
            .unwrap()
            .as_primitive::<arrow_array::types::Int32Type>();
        let offset = batch
            .column_by_name("offset")
            .unwrap()
            .as_primitive::<Int64Type>();
        for i in 0..batch.num_rows() {
            got.push((
                partition.value(i),
                offset.value(i),
                host.value(i).to_string(),
                cpu.value(i),
            ));
        }
    }
    expected.sort_by_key(|a| (a.0, a.1));
    got.sort_by_key(|a| (a.0, a.1));
    assert_eq!(got.len(), 3000);
    assert_eq!(got, expected);
}

#[test]
fn a_value_that_does_not_fit_names_its_offset_or_goes_to_raw() {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("log");
    let mut values: Vec<&[u8]> = vec![br#"{"n":1,"s":"a"}"#; 5];
    values.push(b"not json");
    values.extend([&br#"{"n":7,"s":"b"}"#[..]; 3]);
    write_values(&log, &values);

    let out = tmp.path().join("out-error");
    let run = export(&log, &out, "t", &["--value-format", "json"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("t-0 offset 5"), "{}", run.stderr);
    let rows: usize = read_parquet(&out).iter().map(RecordBatch::num_rows).sum();
    assert_eq!(rows, 5, "the records before it are exported");

    // Met as a rolled file closes: that file holds (and is named after)
    // the records before it; no file is left half written.
    let out = tmp.path().join("out-rolled");
    let run = export(
        &log,
        &out,
        "t",
        &["--value-format", "json", "--max-file-records", "4"],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("t-0 offset 5"), "{}", run.stderr);
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "t-0-00000000000000000000-00000000000000000003.parquet",
            "t-0-00000000000000000004-00000000000000000004.parquet"
        ]
    );
    let rows: usize = read_parquet(&out).iter().map(RecordBatch::num_rows).sum();
    assert_eq!(rows, 5);

    let out = tmp.path().join("out-raw");
    let run = export(
        &log,
        &out,
        "t",
        &[
            "--value-format",
            "json",
            "--on-mismatch",
            "raw",
            "--format",
            "arrow",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let path = std::fs::read_dir(&out)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let reader = arrow_ipc::reader::FileReader::try_new(File::open(path).unwrap(), None).unwrap();
    let batches: Vec<RecordBatch> = reader.map(Result::unwrap).collect();
    assert_eq!(batches.len(), 1);
    let batch = &batches[0];
    assert_eq!(batch.num_rows(), 9);
    let raw = batch.column_by_name("_raw").unwrap().as_binary::<i32>();
    let n = batch
        .column_by_name("n")
        .unwrap()
        .as_primitive::<Int64Type>();
    for i in 0..9 {
        assert_eq!(raw.is_valid(i), i == 5, "row {i}");
        assert_eq!(n.is_valid(i), i != 5, "row {i}");
    }
    assert_eq!(raw.value(5), b"not json");
}

#[test]
fn a_schema_file_gives_the_columns_in_its_order_and_refuses_other_fields() {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("log");
    write_values(
        &log,
        &[
            br#"{"s":"x","n":1}"#,
            br#"{"n":2}"#,
            br#"{"n":3,"extra":true}"#,
        ],
    );
    let schema = tmp.path().join("schema.json");
    std::fs::write(&schema, r#"{"s": "utf8", "n": "int32"}"#).unwrap();
    let out = tmp.path().join("out");
    let run = export(
        &log,
        &out,
        "t",
        &[
            "--value-format",
            "json",
            "--schema",
            schema.to_str().unwrap(),
        ],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("t-0 offset 2"), "{}", run.stderr);
    let batches = read_parquet(&out);
    let schema = batches[0].schema();
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    let at = names.iter().position(|n| *n == "s").unwrap();
    assert_eq!(names[at + 1], "n", "{names:?}");
    assert_eq!(
        batches[0].column_by_name("n").unwrap().data_type(),
        &arrow_schema::DataType::Int32
    );
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    assert_eq!(rows, 2);
}

#[test]
fn utf8_values_are_text_and_bad_flags_are_usage_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("log");
    write_values(&log, &["caf\u{e9}".as_bytes(), b"plain"]);
    let out = tmp.path().join("out");
    let run = export(&log, &out, "t", &["--value-format", "utf8"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let batches = read_parquet(&out);
    let value = batches[0]
        .column_by_name("value")
        .unwrap()
        .as_string::<i32>();
    assert_eq!(value.value(0), "caf\u{e9}");
    for bad in [
        &["--value-format", "json", "--format", "jsonl"][..],
        &["--schema", "x.json"],
        &["--value-format", "bogus"],
    ] {
        let run = export(&log, &tmp.path().join("o2"), "t", bad);
        assert_eq!(run.code, 2, "{bad:?}: {}", run.stderr);
    }
}
