//! Writing to stdout: the buffered writer, how key and value bytes are shown,
//! and timestamps for humans.

use std::borrow::Cow;
use std::io::{self, BufWriter, StdoutLock, Write};
use std::path::Path;

use base64::Engine as _;
use kreplay::index::IndexStatus;
use kreplay::{Headers, TopicPartition};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

/// Stdout, locked once and buffered.
pub type Out = BufWriter<StdoutLock<'static>>;

/// The buffered, locked stdout every command writes its data to.
pub fn stdout() -> Out {
    BufWriter::with_capacity(64 * 1024, io::stdout().lock())
}

/// How key, value and header value bytes are shown (`--bytes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BytesEncoding {
    /// The text when the bytes are valid UTF-8; otherwise base64, marked: in
    /// JSON an object `{"base64": "…"}`, in text a `base64:` prefix.
    #[default]
    Utf8,
    /// Standard base64 with padding (the conformance `expected.jsonl` encoding).
    Base64,
    /// Lowercase hex.
    Hex,
}

fn base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

impl BytesEncoding {
    /// The bytes as text for a human-readable line.
    pub fn text<'a>(self, bytes: &'a [u8]) -> Cow<'a, str> {
        match self {
            BytesEncoding::Utf8 => match std::str::from_utf8(bytes) {
                Ok(text) => Cow::Borrowed(text),
                Err(_) => Cow::Owned(format!("base64:{}", base64(bytes))),
            },
            BytesEncoding::Base64 => Cow::Owned(base64(bytes)),
            BytesEncoding::Hex => Cow::Owned(hex(bytes)),
        }
    }
}

/// Nullable bytes serialized per a [`BytesEncoding`]: `null` stays `null`,
/// empty stays `""`.
#[derive(Debug, Clone, Copy)]
pub struct EncodedBytes<'a> {
    pub bytes: Option<&'a [u8]>,
    pub encoding: BytesEncoding,
}

impl Serialize for EncodedBytes<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let Some(bytes) = self.bytes else {
            return serializer.serialize_none();
        };
        match self.encoding {
            BytesEncoding::Utf8 => match std::str::from_utf8(bytes) {
                Ok(text) => serializer.serialize_str(text),
                Err(_) => {
                    let mut map = serializer.serialize_map(Some(1))?;
                    map.serialize_entry("base64", &base64(bytes))?;
                    map.end()
                }
            },
            BytesEncoding::Base64 => serializer.serialize_str(&base64(bytes)),
            BytesEncoding::Hex => serializer.serialize_str(&hex(bytes)),
        }
    }
}

/// Record headers as `[[name, value], …]`; names are UTF-8 text (invalid
/// sequences replaced, as the conformance schema does), values per the encoding.
#[derive(Debug, Clone, Copy)]
pub struct EncodedHeaders<'a> {
    pub headers: Headers<'a>,
    pub encoding: BytesEncoding,
}

impl Serialize for EncodedHeaders<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.headers.len()))?;
        for header in self.headers.iter() {
            let value = EncodedBytes {
                bytes: header.value,
                encoding: self.encoding,
            };
            seq.serialize_element(&(String::from_utf8_lossy(header.key), value))?;
        }
        seq.end()
    }
}

/// An index's health as `ls` shows it, from what opening it found; ordered
/// from best to worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum IndexHealth {
    /// Used as it is (or nothing to index: an empty file).
    Ok,
    /// No file: readers scan the log.
    Missing,
    /// Partly or wholly unusable (entries dropped, unreadable): readers
    /// scan the log where the index does not help.
    RebuiltByScan,
    /// Fails Kafka's sanity check: readers ignore it and scan.
    Insane,
}

impl IndexHealth {
    /// The health an index status means.
    pub fn of(status: &IndexStatus) -> IndexHealth {
        match status {
            IndexStatus::Valid {
                dropped_bytes: 0, ..
            }
            | IndexStatus::Empty => IndexHealth::Ok,
            IndexStatus::Missing => IndexHealth::Missing,
            IndexStatus::Insane(_) => IndexHealth::Insane,
            _ => IndexHealth::RebuiltByScan,
        }
    }

    /// `ok`, `missing`, `rebuilt-by-scan` or `insane`.
    pub fn name(self) -> &'static str {
        match self {
            IndexHealth::Ok => "ok",
            IndexHealth::Missing => "missing",
            IndexHealth::RebuiltByScan => "rebuilt-by-scan",
            IndexHealth::Insane => "insane",
        }
    }
}

/// Writes one value as a compact JSON line.
pub fn json_line(out: &mut Out, value: &impl Serialize) -> io::Result<()> {
    serde_json::to_writer(&mut *out, value).map_err(io::Error::from)?;
    out.write_all(b"\n")
}

/// A millisecond Unix timestamp as ISO 8601 UTC (`2023-11-14T22:13:20.000Z`).
pub fn format_timestamp(ms: i64) -> String {
    let days = ms.div_euclid(86_400_000);
    let ms_of_day = ms.rem_euclid(86_400_000);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        ms_of_day / 3_600_000,
        ms_of_day / 60_000 % 60,
        ms_of_day / 1000 % 60,
        ms_of_day % 1000
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day)
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// The topic-partition of a segment file given alone: from its directory's
/// name (`orders-3`), else the name whole as the topic with partition 0 (as
/// [`kreplay::classify`] names a partition dir).
pub fn segment_topic_partition(path: &Path) -> TopicPartition {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    // A path in object storage has no canonical form: its own name counts.
    let name = dir
        .canonicalize()
        .unwrap_or_else(|_| dir.to_path_buf())
        .file_name()
        .and_then(|n| n.to_str())
        .map(str::to_string)
        .unwrap_or_default();
    TopicPartition::parse_dir_name(&name).unwrap_or_else(|| TopicPartition::new(name, 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        assert_eq!(format_timestamp(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            format_timestamp(1_700_000_000_123),
            "2023-11-14T22:13:20.123Z"
        );
        assert_eq!(
            format_timestamp(951_782_400_000),
            "2000-02-29T00:00:00.000Z"
        );
        assert_eq!(format_timestamp(-1), "1969-12-31T23:59:59.999Z");
    }

    #[test]
    fn encodings() {
        assert_eq!(BytesEncoding::Utf8.text(b"abc"), "abc");
        assert_eq!(BytesEncoding::Utf8.text(&[0xff, 0]), "base64:/wA=");
        assert_eq!(BytesEncoding::Hex.text(&[0xff, 0, 0x1a]), "ff001a");
        let json =
            |bytes, encoding| serde_json::to_string(&EncodedBytes { bytes, encoding }).unwrap();
        assert_eq!(json(None, BytesEncoding::Base64), "null");
        assert_eq!(json(Some(b""), BytesEncoding::Base64), "\"\"");
        assert_eq!(json(Some(b""), BytesEncoding::Utf8), "\"\"");
        assert_eq!(
            json(Some(&[0xff]), BytesEncoding::Utf8),
            "{\"base64\":\"/w==\"}"
        );
        assert_eq!(json(Some(b"hi"), BytesEncoding::Hex), "\"6869\"");
    }
}
