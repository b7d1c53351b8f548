//! The offsets file: Kafka's offset checkpoint text format, version 0
//! read, version 1 read and written (see [`OffsetStore`](super::OffsetStore)).

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::Path;

use super::names::{is_field_byte, percent_decode, percent_encode, short};
use super::offset_and_metadata::OffsetAndMetadata;
use crate::error::{Error, Result};
use crate::log_dir::TopicPartition;

const FORMAT_VERSION: u32 = 1;

/// Reads a group's offsets file; `None` when it does not exist.
pub(super) fn read_offsets_file(
    path: &Path,
) -> Result<Option<BTreeMap<TopicPartition, OffsetAndMetadata>>> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(path, e)),
    };
    parse_offsets(path, &bytes).map(Some)
}

fn parse_offsets(path: &Path, bytes: &[u8]) -> Result<BTreeMap<TopicPartition, OffsetAndMetadata>> {
    let bad = |line: usize, what: String| Error::InvalidPath {
        path: path.to_path_buf(),
        reason: format!("malformed offsets file at line {line}: {what}"),
    };
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            let line = bytes
                .get(..e.valid_up_to())
                .map_or(0, |valid| valid.iter().filter(|&&b| b == b'\n').count());
            return Err(bad(line + 1, "not utf-8".into()));
        }
    };
    if text.is_empty() {
        return Err(bad(1, "the file is empty".into()));
    }
    if !text.ends_with('\n') {
        let line = text.split('\n').count();
        return Err(bad(line, "no final newline (a partial line)".into()));
    }
    let mut lines = text.split_terminator('\n');
    let version = match lines.next() {
        Some("0") => 0,
        Some("1") => 1,
        other => {
            return Err(bad(
                1,
                format!(
                    "expected version 0 or 1, found {:?}",
                    short(other.unwrap_or(""))
                ),
            ))
        }
    };
    let count: usize = lines
        .next()
        .and_then(parse_digits)
        .ok_or_else(|| bad(2, "expected an entry count".into()))?;
    let mut entries = BTreeMap::new();
    for n in 0..count {
        let line_number = n + 3;
        let Some(line) = lines.next() else {
            return Err(bad(
                line_number,
                format!("the count says {count} entries, found {n}"),
            ));
        };
        let (topic_partition, offset) = if version == 0 {
            parse_v0_line(line)
        } else {
            parse_v1_line(line)
        }
        .map_err(|what| bad(line_number, what))?;
        if entries.contains_key(&topic_partition) {
            return Err(bad(
                line_number,
                format!("a second entry for {topic_partition}"),
            ));
        }
        entries.insert(topic_partition, offset);
    }
    if lines.next().is_some() {
        return Err(bad(
            count + 3,
            format!("more entries than the count of {count}"),
        ));
    }
    Ok(entries)
}

/// A non-negative decimal number made of ASCII digits only.
pub(crate) fn parse_digits<T: std::str::FromStr>(text: &str) -> Option<T> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

type Entry = (TopicPartition, OffsetAndMetadata);

/// Kafka's `topic partition offset` (topic as is, may hold spaces).
fn parse_v0_line(line: &str) -> std::result::Result<Entry, String> {
    let mut fields = line.rsplitn(3, ' ');
    let offset = fields.next().and_then(parse_digits::<i64>);
    let partition = fields.next().and_then(parse_digits::<i32>);
    match (fields.next(), partition, offset) {
        (Some(topic), Some(partition), Some(offset)) if !topic.is_empty() => Ok((
            TopicPartition::new(topic, partition),
            OffsetAndMetadata::new(offset),
        )),
        _ => Err(format!(
            "expected 'topic partition offset', found {:?}",
            short(line)
        )),
    }
}

/// kreplay's `topic partition offset metadata` (see the module docs).
fn parse_v1_line(line: &str) -> std::result::Result<Entry, String> {
    let fields: Vec<&str> = line.split(' ').collect();
    let [topic, partition, offset, metadata] = fields.as_slice() else {
        return Err(format!(
            "expected 4 fields 'topic partition offset metadata', found {} in {:?}",
            fields.len(),
            short(line)
        ));
    };
    let topic = percent_decode(topic)
        .filter(|topic| !topic.is_empty())
        .ok_or_else(|| format!("bad topic {:?}", short(topic)))?;
    let partition = parse_digits::<i32>(partition)
        .ok_or_else(|| format!("bad partition {:?}", short(partition)))?;
    let offset =
        parse_digits::<i64>(offset).ok_or_else(|| format!("bad offset {:?}", short(offset)))?;
    let metadata = match *metadata {
        "-" => None,
        encoded => Some(
            encoded
                .strip_prefix('=')
                .and_then(percent_decode)
                .ok_or_else(|| {
                    format!(
                        "bad metadata {:?} (expected '-' or '=' and percent-encoded text)",
                        short(encoded)
                    )
                })?,
        ),
    };
    Ok((
        TopicPartition::new(topic, partition),
        OffsetAndMetadata { offset, metadata },
    ))
}

/// The version-1 text of a group's offsets.
pub(super) fn render(entries: &BTreeMap<TopicPartition, OffsetAndMetadata>) -> String {
    let mut out = format!("{FORMAT_VERSION}\n{}\n", entries.len());
    for (topic_partition, offset) in entries {
        out.push_str(&percent_encode(&topic_partition.topic, is_field_byte));
        out.push(' ');
        out.push_str(&topic_partition.partition.to_string());
        out.push(' ');
        out.push_str(&offset.offset.to_string());
        out.push(' ');
        match &offset.metadata {
            None => out.push('-'),
            Some(metadata) => {
                out.push('=');
                out.push_str(&percent_encode(metadata, is_field_byte));
            }
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )]

    use super::*;
    use crate::offsets::test_support::{one, store, tp};
    use crate::offsets::OFFSETS_FILE;

    #[test]
    fn offsets_reads_kafka_version_0() {
        let (_dir, store) = store();
        let dir = store.group_dir("g").unwrap();
        fs::write(
            dir.join(OFFSETS_FILE),
            "0\n3\norders 0 100\norders 1 0\n__consumer_offsets 36 5\n",
        )
        .unwrap();
        let all = store.committed_all("g").unwrap();
        assert_eq!(all[&tp("orders", 0)], OffsetAndMetadata::new(100));
        assert_eq!(all[&tp("orders", 1)], OffsetAndMetadata::new(0));
        assert_eq!(
            all[&tp("__consumer_offsets", 36)],
            OffsetAndMetadata::new(5)
        );
        // A commit rewrites it as version 1, keeping the entries.
        store
            .commit("g", &one(tp("orders", 1), OffsetAndMetadata::new(8)))
            .unwrap();
        let text = fs::read_to_string(dir.join(OFFSETS_FILE)).unwrap();
        assert!(text.starts_with("1\n3\n"), "{text}");
        assert_eq!(store.committed_all("g").unwrap().len(), 3);
    }

    #[test]
    fn offsets_malformed_files_name_file_and_line() {
        let (_dir, store) = store();
        let path = store.group_dir("g").unwrap().join(OFFSETS_FILE);
        let cases: &[(&[u8], &str)] = &[
            (b"", "line 1: the file is empty"),
            (b"2\n0\n", "line 1: expected version 0 or 1"),
            (b"1\nx\n", "line 2: expected an entry count"),
            (
                b"1\n2\na 0 1 -\n",
                "line 4: the count says 2 entries, found 1",
            ),
            (b"1\n1\na 0 1 -\nb 0 1 -\n", "line 4: more entries"),
            (b"1\n1\na 0 1 -", "line 3: no final newline"),
            (b"1\n1\na 0 1\n", "line 3: expected 4 fields"),
            (b"1\n1\na -1 1 -\n", "line 3: bad partition"),
            (b"1\n1\na 0 -5 -\n", "line 3: bad offset"),
            (b"1\n1\na 0 1 x\n", "line 3: bad metadata"),
            (b"1\n1\na 0 1 =%4\n", "line 3: bad metadata"),
            (b"1\n1\n%FF 0 1 -\n", "line 3: bad topic"),
            (
                b"1\n2\na 0 1 -\na 0 2 -\n",
                "line 4: a second entry for a-0",
            ),
            (
                b"0\n1\norders 0\n",
                "line 3: expected 'topic partition offset'",
            ),
            (b"1\n1\na 0 1 -\xff\n", "line 3: not utf-8"),
        ];
        for (bytes, expected) in cases {
            fs::write(&path, bytes).unwrap();
            let err = store.committed_all("g").unwrap_err().to_string();
            assert!(
                err.contains(expected),
                "{:?}: {err}",
                String::from_utf8_lossy(bytes)
            );
            assert!(err.contains(&path.display().to_string()), "{err}");
            assert!(err.contains("malformed offsets file"), "{err}");
            // A commit does not paper over it either.
            let err = store
                .commit("g", &one(tp("a", 0), OffsetAndMetadata::new(1)))
                .unwrap_err()
                .to_string();
            assert!(err.contains(expected), "{err}");
        }
    }
}
