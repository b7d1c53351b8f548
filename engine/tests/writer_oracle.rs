//! Cross-check of `kreplay::writer` against another implementation: logs
//! written here are decoded by kafka-python through the conformance oracle
//! (`oracle.py LOG_DIR`), and every record must come back exactly as it was
//! specified: offsets, timestamps and their type, keys, values, headers,
//! control flags. Covers every codec, headers, nulls, transactions and
//! markers, LogAppendTime, offset gaps, empty batches, several segments and
//! legacy magic 0/1 message sets with each codec; then `generate()` logs.
//!
//! Ignored by default: it needs Python with the pinned kafka-python.
//! `scripts/oracle-check.sh` sets that up and runs it. Environment:
//! `KREPLAY_ORACLE_PYTHON` (default `.venv/bin/python` at the workspace root),
//! `KREPLAY_ORACLE` (default `fixtures/conformance/oracle.py`),
//! `KREPLAY_ORACLE_OUT` (write the log dirs there and keep them).

#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine as _;
use kreplay::writer::{
    fill_offset_deltas, generate, BatchSpec, Compression, EndTransactionMarker, GenConfig,
    MarkerSpec, PartitionWriter, Partitioner, RecordSpec, TimestampType, TransactionResult,
    WriterOptions,
};
use serde_json::{json, Value};

const T0: i64 = 1_700_000_000_000;

/// The records a log dir must decode to, per partition, in append order.
#[derive(Default)]
struct Expected {
    partitions: BTreeMap<(String, i32), Vec<Value>>,
    batches: usize,
}

fn b64(bytes: Option<&[u8]>) -> Value {
    match bytes {
        None => Value::Null,
        Some(b) => Value::String(base64::engine::general_purpose::STANDARD.encode(b)),
    }
}

impl Expected {
    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        writer: &PartitionWriter,
        offset: i64,
        timestamp: Option<i64>,
        timestamp_type: Option<u8>,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[(String, Option<Vec<u8>>)],
        is_control: bool,
    ) {
        let headers: Vec<Value> = headers
            .iter()
            .map(|(k, v)| json!([k, b64(v.as_deref())]))
            .collect();
        self.partitions
            .entry((writer.topic().to_string(), writer.partition()))
            .or_default()
            .push(json!({
                "topic": writer.topic(),
                "partition": writer.partition(),
                "offset": offset,
                "timestamp": timestamp,
                "timestamp_type": timestamp_type,
                "key": b64(key),
                "value": b64(value),
                "headers": headers,
                "is_control": is_control,
            }));
    }

    /// A v2 batch at `base_offset`: CreateTime records keep their own
    /// timestamps, LogAppendTime ones all read as `append_time`.
    fn v2(
        &mut self,
        writer: &PartitionWriter,
        base_offset: i64,
        records: &[RecordSpec],
        append_time: Option<i64>,
    ) {
        self.batches += 1;
        for r in records {
            let (timestamp, timestamp_type) = match append_time {
                Some(t) => (t, 1),
                None => (r.timestamp, 0),
            };
            self.push(
                writer,
                base_offset + i64::from(r.offset_delta),
                Some(timestamp),
                Some(timestamp_type),
                r.key.as_deref(),
                r.value.as_deref(),
                &r.headers,
                false,
            );
        }
    }

    /// A legacy message set: one batch per message uncompressed (as Kafka
    /// and kafka-python count them), one wrapper when `compressed`.
    #[allow(clippy::too_many_arguments)]
    fn legacy(
        &mut self,
        writer: &PartitionWriter,
        magic: i8,
        compressed: bool,
        base_offset: i64,
        records: &[RecordSpec],
        append_time: Option<i64>,
    ) {
        self.batches += if compressed { 1 } else { records.len() };
        for r in records {
            let (timestamp, timestamp_type) = match (magic, append_time) {
                (0, _) => (None, None),
                (_, Some(t)) => (Some(t), Some(1)),
                (_, None) => (Some(r.timestamp), Some(0)),
            };
            self.push(
                writer,
                base_offset + i64::from(r.offset_delta),
                timestamp,
                timestamp_type,
                r.key.as_deref(),
                r.value.as_deref(),
                &[],
                false,
            );
        }
    }

    fn marker(
        &mut self,
        writer: &PartitionWriter,
        offset: i64,
        result: TransactionResult,
        coordinator_epoch: i32,
        timestamp: i64,
        timestamp_type: u8,
    ) {
        self.batches += 1;
        let key = [0, 0, 0, result.control_type_id() as u8];
        let mut value = vec![0, 0];
        value.extend_from_slice(&coordinator_epoch.to_be_bytes());
        self.push(
            writer,
            offset,
            Some(timestamp),
            Some(timestamp_type),
            Some(&key),
            Some(&value),
            &[],
            true,
        );
    }

    fn lines(&self) -> Vec<Value> {
        self.partitions.values().flatten().cloned().collect()
    }
}

/// `count` records: JSON values (compressible), keys, a header on some.
fn records(count: usize, first_timestamp: i64, seed: u64) -> Vec<RecordSpec> {
    let mut out: Vec<RecordSpec> = (0..count)
        .map(|i| {
            let n = seed as usize * 1000 + i;
            let value = format!(
                "{{\"id\":{n},\"user\":\"user-{}\",\"amount\":{},\"note\":\"the quick brown fox jumps over the lazy dog\"}}",
                n % 17,
                n * 37 % 1000
            );
            let mut r = RecordSpec::new(first_timestamp + i as i64 * 3, Some(format!("key-{n}").as_bytes()), Some(value.as_bytes()));
            if i % 5 == 0 {
                r = r.with_header("trace-id", Some(format!("t{n}").as_bytes()));
            }
            r
        })
        .collect();
    fill_offset_deltas(&mut out);
    out
}

fn open(root: &Path, topic: &str, partition: i32, options: WriterOptions) -> PartitionWriter {
    PartitionWriter::open(root, topic, partition, options).unwrap()
}

fn write_cases(root: &Path) -> Expected {
    let mut ex = Expected::default();

    // Every codec, several segments for some.
    for (partition, codec) in Compression::ALL.into_iter().enumerate() {
        let options = WriterOptions::default()
            .with_compression(codec)
            .with_segment_bytes(6000)
            .with_index_interval_bytes(1024);
        let mut w = open(root, "v2-codecs", partition as i32, options);
        for b in 0..4 {
            let recs = records(40, T0 + b * 1000, b as u64);
            let info = w.append(&recs).unwrap();
            ex.v2(&w, info.base_offset, &recs, None);
        }
        w.close().unwrap();
    }

    // Headers: null, empty, empty key, duplicates, non-ASCII, binary, 0 and 100 headers.
    for (partition, codec) in [(0, Compression::None), (1, Compression::Zstd)] {
        let options = WriterOptions::default().with_compression(codec);
        let mut w = open(root, "v2-headers", partition, options);
        let mut recs = vec![
            RecordSpec::new(T0, Some(b"h0"), Some(b"v"))
                .with_header("null", None)
                .with_header("empty", Some(b""))
                .with_header("", Some(b"empty key"))
                .with_header("dup", Some(b"1"))
                .with_header("dup", Some(b"2"))
                .with_header("ключ-ü-日本", Some("wert-ß".as_bytes()))
                .with_header("binary", Some(&[0, 255, 1, 254, 0x80])),
            RecordSpec::new(T0 + 1, Some(b"h1"), Some(b"no headers")),
        ];
        let mut many = RecordSpec::new(T0 + 2, None, Some(b"many"));
        for i in 0..100 {
            many = many.with_header(format!("h{i}"), Some(format!("{i}").as_bytes()));
        }
        recs.push(many);
        fill_offset_deltas(&mut recs);
        let info = w.append(&recs).unwrap();
        ex.v2(&w, info.base_offset, &recs, None);
        w.close().unwrap();
    }

    // Nulls and empties, uncompressed then gzip.
    {
        let mut w = open(root, "v2-nulls", 0, WriterOptions::default());
        let mut recs = vec![
            RecordSpec::new(T0, None, Some(b"null key")),
            RecordSpec::new(T0 + 1, Some(b"tombstone"), None),
            RecordSpec::new(T0 + 2, None, None),
            RecordSpec::new(T0 + 3, Some(b""), Some(b"")),
            RecordSpec::new(T0 + 4, Some(b""), None),
            RecordSpec::new(T0 + 5, None, Some(b"")),
        ];
        fill_offset_deltas(&mut recs);
        let info = w.append(&recs).unwrap();
        ex.v2(&w, info.base_offset, &recs, None);
        let spec = BatchSpec {
            base_offset: w.next_offset(),
            compression: Compression::Gzip,
            ..BatchSpec::default()
        };
        let info = w.append_batch(&spec, &recs).unwrap();
        ex.v2(&w, info.base_offset, &recs, None);
        w.close().unwrap();
    }

    // Transactions: two producers, commit and abort, a gzip transactional
    // batch, an idempotent producer, plain batches, explicit markers.
    {
        let mut w = open(
            root,
            "txn",
            0,
            WriterOptions::default().with_segment_bytes(3000),
        );
        let a = records(5, T0, 1);
        let info = w.append_transactional(4242, 3, &a).unwrap();
        ex.v2(&w, info.base_offset, &a, None);
        let plain = records(3, T0 + 100, 2);
        let info = w.append(&plain).unwrap();
        ex.v2(&w, info.base_offset, &plain, None);
        let b = records(5, T0 + 200, 3);
        let spec = BatchSpec {
            base_offset: w.next_offset(),
            compression: Compression::Gzip,
            is_transactional: true,
            producer_id: Some(5151),
            producer_epoch: Some(0),
            base_sequence: Some(0),
            ..BatchSpec::default()
        };
        let info = w.append_batch(&spec, &b).unwrap();
        ex.v2(&w, info.base_offset, &b, None);
        let a2 = records(2, T0 + 300, 4);
        let info = w.append_transactional(4242, 3, &a2).unwrap();
        ex.v2(&w, info.base_offset, &a2, None);
        let info = w.commit(4242).unwrap();
        ex.marker(
            &w,
            info.base_offset,
            TransactionResult::Commit,
            0,
            info.max_timestamp,
            0,
        );
        let idempotent = records(3, T0 + 400, 5);
        let spec = BatchSpec {
            base_offset: w.next_offset(),
            producer_id: Some(6000),
            producer_epoch: Some(0),
            base_sequence: Some(0),
            ..BatchSpec::default()
        };
        let info = w.append_batch(&spec, &idempotent).unwrap();
        ex.v2(&w, info.base_offset, &idempotent, None);
        let marker = MarkerSpec {
            producer_id: 5151,
            producer_epoch: 0,
            marker: EndTransactionMarker {
                result: TransactionResult::Abort,
                coordinator_epoch: 7,
            },
            timestamp: T0 + 500,
        };
        let info = w.write_marker(&marker).unwrap();
        ex.marker(
            &w,
            info.base_offset,
            TransactionResult::Abort,
            7,
            T0 + 500,
            0,
        );
        let tail = records(2, T0 + 600, 6);
        let info = w.append(&tail).unwrap();
        ex.v2(&w, info.base_offset, &tail, None);
        w.close().unwrap();
    }

    // Legacy message sets: magic 0 and 1, each codec; null key and value.
    let legacy_codecs = [
        Compression::None,
        Compression::Gzip,
        Compression::Snappy,
        Compression::Lz4,
    ];
    for magic in [0i8, 1] {
        for (i, codec) in legacy_codecs.into_iter().enumerate() {
            let partition = i32::from(magic) * 10 + i as i32;
            let mut w = open(
                root,
                "legacy",
                partition,
                WriterOptions::default().with_compression(codec),
            );
            for set in 0..3 {
                let mut recs = records(10, T0 + set * 100, set as u64);
                recs[7].key = None;
                recs[8].value = None;
                for r in &mut recs {
                    r.headers.clear();
                }
                let info = w.append_legacy(magic, &recs).unwrap();
                ex.legacy(
                    &w,
                    magic,
                    codec != Compression::None,
                    info.base_offset,
                    &recs,
                    None,
                );
            }
            w.close().unwrap();
        }
    }

    // LogAppendTime: v2 uncompressed and gzip, legacy magic 1 plain and gzip.
    for (partition, codec) in [(0, Compression::None), (1, Compression::Gzip)] {
        let mut w = open(
            root,
            "lat",
            partition,
            WriterOptions::default()
                .with_compression(codec)
                .with_timestamp_type(TimestampType::LogAppendTime),
        );
        let recs = records(10, T0, 1);
        let info = w.append(&recs).unwrap();
        ex.v2(&w, info.base_offset, &recs, Some(info.max_timestamp));
        let mut legacy = records(5, T0 + 50, 2);
        for r in &mut legacy {
            r.headers.clear();
        }
        let info = w.append_legacy(1, &legacy).unwrap();
        ex.legacy(
            &w,
            1,
            codec != Compression::None,
            info.base_offset,
            &legacy,
            Some(info.max_timestamp),
        );
        let txn = records(2, T0 + 60, 3);
        let info = w.append_transactional(1, 0, &txn).unwrap();
        ex.v2(&w, info.base_offset, &txn, Some(info.max_timestamp));
        let info = w.abort(1).unwrap();
        ex.marker(
            &w,
            info.base_offset,
            TransactionResult::Abort,
            0,
            info.max_timestamp,
            1,
        );
        w.close().unwrap();
    }

    // Gaps: a log starting at 1,000,000; gaps inside and between batches;
    // an empty batch; a batch whose last offset delta runs past its records;
    // a delete-horizon batch.
    {
        let mut w = open(
            root,
            "gaps",
            0,
            WriterOptions::default()
                .with_start_offset(1_000_000)
                .with_segment_bytes(1000),
        );
        let mut recs = records(5, T0, 1);
        for (r, delta) in recs.iter_mut().zip([0, 1, 4, 5, 9]) {
            r.offset_delta = delta;
        }
        let info = w.append(&recs).unwrap();
        ex.v2(&w, info.base_offset, &recs, None);
        let recs = records(3, T0 + 100, 2);
        let info = w.append_at(1_000_020, &recs).unwrap();
        ex.v2(&w, info.base_offset, &recs, None);
        let empty = BatchSpec {
            base_offset: 1_000_030,
            producer_id: Some(77),
            producer_epoch: Some(0),
            base_sequence: Some(0),
            max_timestamp: Some(T0 + 150),
            ..BatchSpec::default()
        };
        w.append_batch(&empty, &[]).unwrap();
        ex.batches += 1;
        let recs = records(2, T0 + 200, 3);
        let spec = BatchSpec {
            base_offset: w.next_offset(),
            last_offset_delta: Some(5),
            compression: Compression::Snappy,
            ..BatchSpec::default()
        };
        let info = w.append_batch(&spec, &recs).unwrap();
        assert_eq!(info.last_offset, info.base_offset + 5);
        ex.v2(&w, info.base_offset, &recs, None);
        let recs = records(3, T0 + 300, 4);
        let spec = BatchSpec {
            base_offset: w.next_offset(),
            delete_horizon_ms: Some(T0 + 250),
            ..BatchSpec::default()
        };
        let info = w.append_batch(&spec, &recs).unwrap();
        ex.v2(&w, info.base_offset, &recs, None);
        let recs = records(1, T0 + 400, 5);
        let info = w.append(&recs).unwrap();
        ex.v2(&w, info.base_offset, &recs, None);
        w.close().unwrap();
    }

    // Message-format upgrades in one partition: magic 0, 1 gzip, 2 zstd.
    {
        let mut w = open(root, "mixed", 0, WriterOptions::default());
        let mut recs = records(4, T0, 1);
        for r in &mut recs {
            r.headers.clear();
        }
        let info = w.append_legacy(0, &recs).unwrap();
        ex.legacy(&w, 0, false, info.base_offset, &recs, None);
        drop(w);
        let append = WriterOptions::default()
            .with_append(true)
            .with_compression(Compression::Gzip);
        let mut w = open(root, "mixed", 0, append.clone());
        let info = w.append_legacy(1, &recs).unwrap();
        ex.legacy(&w, 1, true, info.base_offset, &recs, None);
        w.close().unwrap();
        let mut w = open(root, "mixed", 0, append.with_compression(Compression::Zstd));
        let recs = records(4, T0 + 100, 2);
        let info = w.append(&recs).unwrap();
        ex.v2(&w, info.base_offset, &recs, None);
        w.close().unwrap();
    }
    ex
}

fn oracle_paths() -> (PathBuf, PathBuf) {
    let python = std::env::var_os("KREPLAY_ORACLE_PYTHON")
        .map_or_else(|| workspace_root().join(".venv/bin/python"), PathBuf::from);
    let oracle = std::env::var_os("KREPLAY_ORACLE").map_or_else(
        || workspace_root().join("fixtures/conformance/oracle.py"),
        PathBuf::from,
    );
    (python, oracle)
}

/// Runs the oracle over `log_dir`: its records and per-segment summaries.
fn run_oracle(log_dir: &Path) -> (Vec<Value>, Vec<Value>) {
    let (python, oracle) = oracle_paths();
    let output = Command::new(&python)
        .arg(&oracle)
        .arg(log_dir)
        .output()
        .unwrap_or_else(|e| panic!("running {} {}: {e}", python.display(), oracle.display()));
    assert!(
        output.status.success(),
        "oracle failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let parse = |bytes: &[u8]| -> Vec<Value> {
        String::from_utf8_lossy(bytes)
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    (parse(&output.stdout), parse(&output.stderr))
}

fn out_dir(name: &str) -> (Option<tempfile::TempDir>, PathBuf) {
    match std::env::var_os("KREPLAY_ORACLE_OUT") {
        Some(dir) => {
            let path = PathBuf::from(dir).join(name);
            if path.exists() {
                std::fs::remove_dir_all(&path).unwrap();
            }
            std::fs::create_dir_all(&path).unwrap();
            (None, path)
        }
        None => {
            let tmp = tempfile::tempdir().unwrap();
            let path = tmp.path().to_path_buf();
            (Some(tmp), path)
        }
    }
}

fn assert_clean(infos: &[Value]) {
    for info in infos {
        assert!(info["error"].is_null(), "oracle error: {info}");
        assert_eq!(info["trailing_bytes"], 0, "trailing bytes: {info}");
    }
}

#[test]
#[ignore = "needs python with kafka-python; run scripts/oracle-check.sh"]
fn kafka_python_decodes_every_format_the_writer_writes() {
    let (_keep, root) = out_dir("formats");
    let expected = write_cases(&root);
    let (decoded, infos) = run_oracle(&root);
    assert_clean(&infos);
    let expected_lines = expected.lines();
    let decoded_batches: u64 = infos.iter().map(|i| i["batches"].as_u64().unwrap()).sum();
    println!(
        "writer -> kafka-python: {} records written, {} decoded; {} batches written, {} read; {} partitions, {} segments",
        expected_lines.len(),
        decoded.len(),
        expected.batches,
        decoded_batches,
        expected.partitions.len(),
        infos.len()
    );
    for (i, (want, got)) in expected_lines.iter().zip(&decoded).enumerate() {
        assert_eq!(want, got, "record {i} differs");
    }
    assert_eq!(expected_lines.len(), decoded.len());
    assert_eq!(expected.batches as u64, decoded_batches);
}

#[test]
#[ignore = "needs python with kafka-python; run scripts/oracle-check.sh"]
fn kafka_python_decodes_generated_logs() {
    let (_keep, root) = out_dir("generated");
    let mut summaries = Vec::new();
    for codec in Compression::ALL {
        let config = GenConfig::default()
            .with_log_dir(root.clone())
            .with_topics(vec![format!("gen-{codec}")])
            .with_partitions(3)
            .with_records_per_topic(6000)
            .with_records_per_batch(50)
            .with_partitioner(Partitioner::KeyHash)
            .with_value_size(200)
            .with_compression(codec)
            .with_segment_bytes(64 * 1024)
            .with_transactional_ratio(0.25)
            .with_abort_ratio(0.5)
            .with_seed(11);
        let summary = generate(&config).unwrap();
        println!(
            "generate {codec}: {} records in {} batches, {} markers, {} aborted records, {} bytes",
            summary.records,
            summary.batches,
            summary.control_batches,
            summary.aborted_records,
            summary.bytes
        );
        summaries.push(summary);
    }
    let (decoded, infos) = run_oracle(&root);
    assert_clean(&infos);
    let written: u64 = summaries
        .iter()
        .map(|s| s.records + s.control_batches)
        .sum();
    let data: u64 = summaries.iter().map(|s| s.records).sum();
    let controls = decoded.iter().filter(|r| r["is_control"] == true).count() as u64;
    println!(
        "generate -> kafka-python: {data} data records + {} markers written, {} decoded ({controls} markers); {} segments",
        written - data,
        decoded.len(),
        infos.len()
    );
    assert_eq!(decoded.len() as u64, written);
    assert_eq!(controls, written - data);
    assert!(controls > 0 && summaries.iter().all(|s| s.aborted_records > 0));
    // Offsets run 0..end in every partition, values are the JSON metrics.
    let mut next: BTreeMap<(String, i64), i64> = BTreeMap::new();
    for r in &decoded {
        let key = (
            r["topic"].as_str().unwrap().to_string(),
            r["partition"].as_i64().unwrap(),
        );
        let expected_offset = next.entry(key).or_insert(0);
        assert_eq!(r["offset"].as_i64().unwrap(), *expected_offset);
        *expected_offset += 1;
        if r["is_control"] == false {
            let value = base64::engine::general_purpose::STANDARD
                .decode(r["value"].as_str().unwrap())
                .unwrap();
            assert_eq!(value.len(), 200);
            let json: Value = serde_json::from_slice(&value).unwrap();
            assert_eq!(json["ts"], r["timestamp"]);
        }
    }
    for summary in &summaries {
        for p in &summary.partitions {
            assert_eq!(
                next[&(p.topic.clone(), i64::from(p.partition))],
                p.log_end_offset
            );
        }
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}
