//! A naive reader of what the writer writes, for the writer's tests: walks
//! `.log` files with plain slicing, decodes uncompressed v2 records, reads
//! index files. Independent of the writer's own header parsing.

#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use std::fs;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub(crate) struct TestBatch {
    pub position: u64,
    pub size: u64,
    pub base_offset: i64,
    pub last_offset: i64,
    pub magic: i8,
    pub attributes: i16,
    pub max_timestamp: i64,
    pub producer_id: i64,
    pub base_sequence: i32,
    pub bytes: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TestRecord {
    pub offset: i64,
    pub timestamp: i64,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: Vec<(String, Option<Vec<u8>>)>,
}

fn i16_at(b: &[u8], at: usize) -> i16 {
    i16::from_be_bytes(b[at..at + 2].try_into().unwrap())
}
fn i32_at(b: &[u8], at: usize) -> i32 {
    i32::from_be_bytes(b[at..at + 4].try_into().unwrap())
}
fn i64_at(b: &[u8], at: usize) -> i64 {
    i64::from_be_bytes(b[at..at + 8].try_into().unwrap())
}

/// Every batch (or legacy message) of a `.log` file; panics on a torn tail.
pub(crate) fn read_log(path: &Path) -> Vec<TestBatch> {
    let data = fs::read(path).unwrap();
    let mut out = Vec::new();
    let mut position = 0usize;
    while position < data.len() {
        let b = &data[position..];
        let size = 12 + i32_at(b, 8) as usize;
        let magic = b[16] as i8;
        let base_offset = i64_at(b, 0);
        let batch = if magic == 2 {
            TestBatch {
                position: position as u64,
                size: size as u64,
                base_offset,
                last_offset: base_offset + i64::from(i32_at(b, 23)),
                magic,
                attributes: i16_at(b, 21),
                max_timestamp: i64_at(b, 35),
                producer_id: i64_at(b, 43),
                base_sequence: i32_at(b, 53),
                bytes: b[..size].to_vec(),
            }
        } else {
            TestBatch {
                position: position as u64,
                size: size as u64,
                base_offset,
                last_offset: base_offset,
                magic,
                attributes: i16::from(b[17]),
                max_timestamp: if magic == 1 { i64_at(b, 18) } else { -1 },
                producer_id: -1,
                base_sequence: -1,
                bytes: b[..size].to_vec(),
            }
        };
        out.push(batch);
        position += size;
    }
    assert_eq!(position, data.len(), "torn tail in {}", path.display());
    out
}

fn varlong(b: &[u8], at: &mut usize) -> i64 {
    let mut value = 0u64;
    let mut shift = 0;
    loop {
        let byte = b[*at];
        *at += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return ((value >> 1) as i64) ^ -((value & 1) as i64);
        }
        shift += 7;
    }
}

fn nullable(b: &[u8], at: &mut usize) -> Option<Vec<u8>> {
    let len = varlong(b, at);
    if len < 0 {
        return None;
    }
    let v = b[*at..*at + len as usize].to_vec();
    *at += len as usize;
    Some(v)
}

/// The records of an uncompressed v2 batch.
pub(crate) fn records_of(batch: &TestBatch) -> Vec<TestRecord> {
    let b = &batch.bytes;
    assert_eq!(batch.magic, 2);
    assert_eq!(batch.attributes & 0x07, 0, "compressed batch");
    let base_timestamp = i64_at(b, 27);
    let count = i32_at(b, 57);
    let mut at = 61;
    let mut out = Vec::new();
    for _ in 0..count {
        let length = varlong(b, &mut at) as usize;
        let end = at + length;
        at += 1;
        let timestamp_delta = varlong(b, &mut at);
        let offset_delta = varlong(b, &mut at);
        let key = nullable(b, &mut at);
        let value = nullable(b, &mut at);
        let header_count = varlong(b, &mut at);
        let mut headers = Vec::new();
        for _ in 0..header_count {
            let k = nullable(b, &mut at).unwrap();
            headers.push((String::from_utf8(k).unwrap(), nullable(b, &mut at)));
        }
        assert_eq!(at, end, "record length");
        out.push(TestRecord {
            offset: batch.base_offset + offset_delta,
            timestamp: base_timestamp + timestamp_delta,
            key,
            value,
            headers,
        });
    }
    assert_eq!(at, b.len(), "batch length");
    out
}

/// (relative offset, position) entries of a `.index` file, zero tail included.
pub(crate) fn read_offset_index(path: &Path) -> Vec<(i32, i32)> {
    fs::read(path)
        .unwrap()
        .chunks_exact(8)
        .map(|e| (i32_at(e, 0), i32_at(e, 4)))
        .collect()
}

/// (timestamp, relative offset) entries of a `.timeindex` file.
pub(crate) fn read_time_index(path: &Path) -> Vec<(i64, i32)> {
    fs::read(path)
        .unwrap()
        .chunks_exact(12)
        .map(|e| (i64_at(e, 0), i32_at(e, 8)))
        .collect()
}

/// (version, producer id, first offset, last offset, last stable offset).
pub(crate) fn read_txn_index(path: &Path) -> Vec<(i16, i64, i64, i64, i64)> {
    fs::read(path)
        .unwrap()
        .chunks_exact(34)
        .map(|e| {
            (
                i16_at(e, 0),
                i64_at(e, 2),
                i64_at(e, 10),
                i64_at(e, 18),
                i64_at(e, 26),
            )
        })
        .collect()
}

/// The `.log` files of a partition dir with their base offsets, sorted.
pub(crate) fn segments(dir: &Path) -> Vec<(i64, PathBuf)> {
    let mut out: Vec<(i64, PathBuf)> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .map(|p| (p.file_stem().unwrap().to_str().unwrap().parse().unwrap(), p))
        .collect();
    out.sort();
    out
}
