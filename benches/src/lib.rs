//! Shared helpers for kreplay's benchmarks: inputs made by the writer with a
//! fixed seed, and the baselines every fast path is measured beside: the
//! memory ceiling, a naive decoder, and peers' decoders (`kafka-protocol`,
//! and `krabka-log` with the `krabka-log` feature), each checked against
//! kreplay's output before it is timed.

mod peers;

use std::path::{Path, PathBuf};

pub use peers::{
    kafka_protocol_digest, kafka_protocol_iterate, kreplay_digest, kreplay_for_each,
    kreplay_iterate, kreplay_reader, segment_bytes, touch, touch_record, RecordDigest,
};
#[cfg(feature = "krabka-log")]
pub use peers::{krabka_digest, krabka_iterate, krabka_open, krabka_protocol_iterate};

use kreplay::writer::{fill_offset_deltas, BatchSpec, PartitionWriter, RecordSpec, WriterOptions};
use kreplay::Compression;

/// Writes one partition (`bench-0`) of `records` records whose key is 10 bytes
/// and whose value makes each record about `record_bytes` on disk, in batches
/// of `batch_records`, and returns the segment file's path.
pub fn make_partition(
    log_dir: &Path,
    records: usize,
    record_bytes: usize,
    batch_records: usize,
    compression: Compression,
) -> PathBuf {
    make_partition_with(
        log_dir,
        0,
        records,
        record_bytes,
        batch_records,
        compression,
        WriterOptions::default(),
    );
    log_dir.join("bench-0").join("00000000000000000000.log")
}

/// [`make_partition`] for partition `partition` of topic `bench`, with the
/// writer's options (segment size, index interval) given; returns the
/// partition dir. The values come from a fixed seed per partition.
pub fn make_partition_with(
    log_dir: &Path,
    partition: i32,
    records: usize,
    record_bytes: usize,
    batch_records: usize,
    compression: Compression,
    options: WriterOptions,
) -> PathBuf {
    let mut writer =
        PartitionWriter::open(log_dir, "bench", partition, options).expect("open writer");
    let mut rng = fastrand::Rng::with_seed(7 + partition as u64);
    let value_len = record_bytes.saturating_sub(20).max(1);
    let mut written = 0;
    while written < records {
        let n = batch_records.min(records - written);
        let mut batch: Vec<RecordSpec> = (0..n)
            .map(|i| {
                let id = written + i;
                let key = format!("host-{:05}", id % 100_000);
                let value = metric_value(&mut rng, id, value_len);
                RecordSpec::new(
                    1_700_000_000_000 + id as i64,
                    Some(key.as_bytes()),
                    Some(&value),
                )
            })
            .collect();
        fill_offset_deltas(&mut batch);
        let spec = BatchSpec {
            base_offset: writer.next_offset(),
            compression,
            ..BatchSpec::default()
        };
        writer.append_batch(&spec, &batch).expect("append");
        written += n;
    }
    writer.close().expect("close");
    log_dir.join(format!("bench-{partition}"))
}

/// A JSON-ish metrics value of exactly `len` bytes.
fn metric_value(rng: &mut fastrand::Rng, id: usize, len: usize) -> Vec<u8> {
    let mut v = format!(
        "{{\"host\":\"web-{:03}\",\"cpu\":{}.{},\"mem\":{},\"ts\":{}}}",
        id % 1000,
        rng.u8(0..100),
        rng.u8(0..10),
        rng.u32(0..100_000),
        1_700_000_000_000u64 + id as u64
    )
    .into_bytes();
    v.resize(len, b' ');
    v
}

/// The payloads of a compressed segment's batches (after the 61-byte v2
/// header): what the codec alone inflates in the `codec_only` baselines.
pub fn compressed_payloads(segment: &kreplay::Segment) -> Vec<Vec<u8>> {
    segment
        .batches()
        .map(|b| b.expect("batch").as_bytes()[61..].to_vec())
        .collect()
}

/// The codec alone: inflates every payload into `out`; the bytes inflated.
pub fn inflate_all(
    decompressor: &mut kreplay::Decompressor,
    codec: kreplay::Compression,
    payloads: &[Vec<u8>],
    out: &mut Vec<u8>,
) -> usize {
    let mut n = 0;
    for p in payloads {
        decompressor
            .decompress(codec, p, out, 1 << 30, false)
            .expect("inflate");
        n += out.len();
    }
    n
}

/// The memory-read ceiling: sums the bytes as u64 words.
pub fn sum_u64(bytes: &[u8]) -> u64 {
    let mut chunks = bytes.chunks_exact(8);
    let mut acc = 0u64;
    for c in &mut chunks {
        acc = acc.wrapping_add(u64::from_le_bytes(c.try_into().unwrap_or([0; 8])));
    }
    chunks
        .remainder()
        .iter()
        .fold(acc, |a, &b| a.wrapping_add(u64::from(b)))
}

/// A record decoded the naive way: every field copied into owned memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedRecord {
    pub offset: i64,
    pub timestamp: i64,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: Vec<(Vec<u8>, Option<Vec<u8>>)>,
}

/// The naive baseline: `read()` the whole file, then decode every v2 record
/// of every uncompressed batch into owned allocations (no CRC check).
pub fn naive_read_and_decode(path: &Path) -> Vec<OwnedRecord> {
    let bytes = std::fs::read(path).expect("read");
    naive_decode(&bytes)
}

/// Decodes uncompressed v2 batches into owned records.
pub fn naive_decode(bytes: &[u8]) -> Vec<OwnedRecord> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos + 61 <= bytes.len() {
        let base_offset = i64::from_be_bytes(bytes[pos..pos + 8].try_into().unwrap_or_default());
        let length =
            i32::from_be_bytes(bytes[pos + 8..pos + 12].try_into().unwrap_or_default()) as usize;
        let end = pos + 12 + length;
        let base_ts = i64::from_be_bytes(bytes[pos + 27..pos + 35].try_into().unwrap_or_default());
        let count = i32::from_be_bytes(bytes[pos + 57..pos + 61].try_into().unwrap_or_default());
        let mut p = pos + 61;
        for _ in 0..count {
            let _len = varint(bytes, &mut p);
            p += 1; // attributes
            let ts_delta = varint(bytes, &mut p);
            let offset_delta = varint(bytes, &mut p);
            let key = nullable(bytes, &mut p);
            let value = nullable(bytes, &mut p);
            let header_count = varint(bytes, &mut p);
            let mut headers = Vec::new();
            for _ in 0..header_count {
                let k = nullable(bytes, &mut p).unwrap_or_default();
                let v = nullable(bytes, &mut p);
                headers.push((k, v));
            }
            out.push(OwnedRecord {
                offset: base_offset + offset_delta,
                timestamp: base_ts + ts_delta,
                key,
                value,
                headers,
            });
        }
        pos = end;
    }
    out
}

fn varint(bytes: &[u8], p: &mut usize) -> i64 {
    let mut raw = 0u64;
    let mut shift = 0;
    loop {
        let b = bytes[*p];
        *p += 1;
        raw |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            break;
        }
        shift += 7;
    }
    ((raw >> 1) as i64) ^ -((raw & 1) as i64)
}

fn nullable(bytes: &[u8], p: &mut usize) -> Option<Vec<u8>> {
    let len = varint(bytes, p);
    if len < 0 {
        return None;
    }
    let v = bytes[*p..*p + len as usize].to_vec();
    *p += len as usize;
    Some(v)
}
