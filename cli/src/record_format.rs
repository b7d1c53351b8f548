//! How `kreplay consume` writes records: the value per line (`--format
//! text`), one JSON object per line (`--format json`), or a kcat-style
//! format string (`-f '%t %p %o %k %s\n'`).
//!
//! This is the hot path of `consume`: every record is formatted straight into
//! one byte buffer that the caller reuses poll after poll, with no `String`,
//! no `format!` and no serde per record. Integers are written in place, two
//! digits at a time; base64 goes through `base64-simd` (AVX2/SSE where the
//! CPU has them: on 2 M records of 80 bytes, `--format json --bytes base64`
//! took 0.19 s with it against 0.29 s with the `base64` crate's
//! `encode_slice`), and JSON strings are escaped by hand (quotes,
//! backslashes, control characters).

use kreplay::{Record, TimestampType, TopicPartition};

use crate::output::BytesEncoding;

/// How keys, values and header values are written in text and `-f` output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextBytes {
    /// The bytes as they are (kcat's habit: binary stays binary).
    Raw,
    /// Encoded as `--bytes` says (utf8 marks bytes that are not UTF-8 with a
    /// `base64:` prefix, as `dump` does).
    Encoded(BytesEncoding),
}

/// What `consume` prints for each record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordFormat {
    /// The value, then a newline; a null value is an empty line (kcat's
    /// default output, without `-Z`).
    Text(TextBytes),
    /// One JSON object per line with the conformance fields (without
    /// `is_control`): topic, partition, offset, timestamp, timestamp_type,
    /// key, value, headers.
    Json(BytesEncoding),
    /// A kcat-style format string.
    Template(Template, TextBytes),
}

/// One piece of a format string.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Literal(Vec<u8>),
    /// `%t`
    Topic,
    /// `%p`
    Partition,
    /// `%o`
    Offset,
    /// `%k`
    Key,
    /// `%K`: length, -1 for null.
    KeyLength,
    /// `%s`
    Value,
    /// `%S`: length, -1 for null.
    ValueLength,
    /// `%R`: length as a big-endian 32-bit integer, -1 for null.
    ValueLengthBinary,
    /// `%T`: milliseconds since the epoch, -1 when the record has none.
    Timestamp,
    /// `%h`: `name=value` pairs joined by `,`, a null value as `NULL`.
    Headers,
}

/// A parsed kcat-style format string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    tokens: Vec<Token>,
}

impl Template {
    /// Parses a format string: `%t %p %o %k %K %s %S %R %T %h %%`, and the
    /// escapes `\n \r \t \\ \xHH` (any other `\c` is `c`, as in kcat).
    pub fn parse(format: &str) -> Result<Template, String> {
        let mut tokens = Vec::new();
        let mut literal = Vec::new();
        let mut chars = format.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '%' => {
                    let token = match chars.next() {
                        Some('t') => Token::Topic,
                        Some('p') => Token::Partition,
                        Some('o') => Token::Offset,
                        Some('k') => Token::Key,
                        Some('K') => Token::KeyLength,
                        Some('s') => Token::Value,
                        Some('S') => Token::ValueLength,
                        Some('R') => Token::ValueLengthBinary,
                        Some('T') => Token::Timestamp,
                        Some('h') => Token::Headers,
                        Some('%') => {
                            literal.push(b'%');
                            continue;
                        }
                        Some(other) => {
                            return Err(format!(
                                "unsupported formatter %{other} (supported: %t %p %o %k %K %s %S %R %T %h %%)"
                            ))
                        }
                        None => return Err("the format string ends in a lone %".into()),
                    };
                    if !literal.is_empty() {
                        tokens.push(Token::Literal(std::mem::take(&mut literal)));
                    }
                    tokens.push(token);
                }
                '\\' => match chars.next() {
                    Some('n') => literal.push(b'\n'),
                    Some('r') => literal.push(b'\r'),
                    Some('t') => literal.push(b'\t'),
                    Some('x') => {
                        let mut value: u32 = 0;
                        let mut digits = 0;
                        while digits < 2 {
                            match chars.peek().and_then(|c| c.to_digit(16)) {
                                Some(d) => {
                                    value = value * 16 + d;
                                    digits += 1;
                                    chars.next();
                                }
                                None => break,
                            }
                        }
                        if digits == 0 {
                            return Err("\\x in the format string needs hex digits".into());
                        }
                        literal.push(value as u8);
                    }
                    Some(other) => {
                        let mut utf8 = [0; 4];
                        literal.extend_from_slice(other.encode_utf8(&mut utf8).as_bytes());
                    }
                    None => literal.push(b'\\'),
                },
                other => {
                    let mut utf8 = [0; 4];
                    literal.extend_from_slice(other.encode_utf8(&mut utf8).as_bytes());
                }
            }
        }
        if !literal.is_empty() {
            tokens.push(Token::Literal(literal));
        }
        Ok(Template { tokens })
    }
}

/// Formats records into a caller's buffer.
#[derive(Debug)]
pub struct RecordWriter {
    format: RecordFormat,
    /// The JSON line's start up to the offset (`{"topic":…,"partition":…,
    /// "offset":`) for the partition last written, which `prefix_of` names.
    prefix: Vec<u8>,
    /// Compared by value for every record: an address compare was wrong
    /// after a rebalance, whose new assignment can hold another partition
    /// at the address of the old one (records of metrics-4 were written as
    /// metrics-0).
    prefix_of: Option<TopicPartition>,
    /// The last offset and timestamp written, in decimal (JSON).
    offset: Decimal,
    timestamp: Decimal,
}

/// A non-negative integer kept in decimal: the next one, when it is the same
/// or a little larger (the next offset of a partition, a timestamp a few
/// milliseconds later), is had by adding the difference to the digits
/// instead of dividing the whole number down again. Formatting the offset
/// and the timestamp was a fifth of `consume --format json`'s instructions.
///
/// The digits live in one `u128` (one byte each, first digit in the top
/// byte), and the step is added to all of them at once with the byte-wise
/// decimal carry trick, in registers. The earlier version added to a byte
/// array and then copied it out: the copy's 16-byte load waited for the
/// byte store just before it (a store that cannot be forwarded), and perf
/// put 58 % of the function's samples on it.
#[derive(Debug, Clone)]
struct Decimal {
    /// -1: nothing cached.
    value: i64,
    /// Digit values 0..=9, the first in the top byte; the bytes below the
    /// last digit are zero.
    digits: u128,
    /// How many digits (1..=16).
    len: u32,
    /// 10^len: the first number with one more digit.
    limit: i64,
}

impl Default for Decimal {
    fn default() -> Self {
        Decimal {
            value: -1,
            digits: 0,
            len: 0,
            limit: 0,
        }
    }
}

/// Largest step [`Decimal::push`] adds to its digits rather than formatting.
const DECIMAL_STEP: i64 = 1000;

/// Most digits [`Decimal`] keeps (one per byte of a `u128`).
const DECIMAL_DIGITS: u32 = 16;

/// A byte repeated in every byte of a `u128`.
const fn every_byte(b: u8) -> u128 {
    u128::from_ne_bytes([b; 16])
}

impl Decimal {
    /// `n` in decimal, appended.
    #[inline]
    fn push(&mut self, out: &mut Vec<u8>, n: i64) {
        let step = n.wrapping_sub(self.value);
        if self.value < 0 || !(0..DECIMAL_STEP).contains(&step) || n >= self.limit {
            self.reset(out, n);
            return;
        }
        self.value = n;
        if step != 0 {
            self.add(step as u32);
        }
        // A constant-size copy (two stores), cut to the length.
        let ascii = self.digits | every_byte(b'0');
        let start = out.len();
        out.extend_from_slice(&ascii.to_be_bytes());
        out.truncate(start + self.len as usize);
    }

    /// Adds `step` (below 1000, and the sum keeps the number of digits).
    #[inline]
    fn add(&mut self, step: u32) {
        // The step's digits, one per byte, its last in the lowest.
        let spread =
            u128::from(step % 10) | u128::from(step / 10 % 10) << 8 | u128::from(step / 100) << 16;
        let shift = 8 * (DECIMAL_DIGITS - self.len);
        // Bias every digit by 0xf6 so that a digit sum of ten or more
        // carries into the next byte up; digits that did not carry keep
        // their high bit and lose the bias again.
        let used = u128::MAX << shift;
        let sum = self.digits + (spread << shift) + (every_byte(0xf6) & used);
        let kept_bias = (sum & every_byte(0x80) & used) >> 7;
        self.digits = sum - kept_bias * 0xf6;
    }

    /// Formats `n` afresh, and caches it when it fits.
    #[cold]
    fn reset(&mut self, out: &mut Vec<u8>, n: i64) {
        let start = out.len();
        push_int(out, n);
        let len = (out.len() - start) as u32;
        if n < 0 || len > DECIMAL_DIGITS {
            self.value = -1;
            return;
        }
        self.value = n;
        self.len = len;
        self.limit = 10i64.pow(len);
        let mut digits = [0u8; 16];
        for (digit, ascii) in digits.iter_mut().zip(&out[start..]) {
            *digit = ascii - b'0';
        }
        self.digits = u128::from_be_bytes(digits);
    }
}

impl RecordWriter {
    /// A writer for `format`.
    pub fn new(format: RecordFormat) -> RecordWriter {
        RecordWriter {
            format,
            prefix: Vec::new(),
            prefix_of: None,
            offset: Decimal::default(),
            timestamp: Decimal::default(),
        }
    }

    /// Appends `record` of `topic_partition` to `out`.
    #[inline]
    pub fn write(
        &mut self,
        out: &mut Vec<u8>,
        topic_partition: &TopicPartition,
        record: &Record<'_>,
    ) {
        match &self.format {
            RecordFormat::Text(bytes) => write_text(out, *bytes, record),
            RecordFormat::Json(bytes) => {
                let bytes = *bytes;
                self.refresh_prefix(topic_partition);
                out.extend_from_slice(&self.prefix);
                self.offset.push(out, record.offset());
                json_record(out, record, bytes, &mut self.timestamp);
            }
            RecordFormat::Template(template, bytes) => {
                template_record(out, template, *bytes, topic_partition, record)
            }
        }
    }

    /// The text format's byte encoding, when the format is text: a caller's
    /// loop can then call [`write_text`] directly, inlined.
    pub fn text(&self) -> Option<TextBytes> {
        match self.format {
            RecordFormat::Text(bytes) => Some(bytes),
            _ => None,
        }
    }

    #[inline]
    fn refresh_prefix(&mut self, topic_partition: &TopicPartition) {
        if self.prefix_of.as_ref().is_some_and(|cached| {
            cached.partition == topic_partition.partition && cached.topic == topic_partition.topic
        }) {
            return;
        }
        self.prefix.clear();
        self.prefix.extend_from_slice(b"{\"topic\":");
        json_str(&mut self.prefix, topic_partition.topic.as_bytes());
        self.prefix.extend_from_slice(b",\"partition\":");
        push_int(&mut self.prefix, topic_partition.partition);
        self.prefix.extend_from_slice(b",\"offset\":");
        self.prefix_of = Some(topic_partition.clone());
    }
}

/// Two decimal digits for each of 0..100.
const DIGIT_PAIRS: &[u8; 200] = b"\
0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

/// `n` in decimal, appended. Written in place two digits at a time: a
/// formatted-then-copied integer costs a `memcpy` call of a variable length
/// per field, a tenth of `consume --format json`'s time (perf).
#[inline]
fn push_int(out: &mut Vec<u8>, n: impl Into<i64>) {
    let n: i64 = n.into();
    if n < 0 {
        out.push(b'-');
    }
    push_u64(out, n.unsigned_abs());
}

#[inline]
fn push_u64(out: &mut Vec<u8>, mut v: u64) {
    let len = v.checked_ilog10().map_or(1, |l| l as usize + 1);
    let start = out.len();
    // A constant-size extend (two stores), cut to the length below.
    out.extend_from_slice(&[b'0'; 20]);
    // `len` is at most 20 (u64::MAX has 20 digits): within what was added.
    let digits = &mut out[start..start + len];
    let mut i = len;
    while v >= 100 {
        let pair = (v % 100) as usize * 2;
        v /= 100;
        i -= 2;
        digits[i..i + 2].copy_from_slice(&DIGIT_PAIRS[pair..pair + 2]);
    }
    if v >= 10 {
        let pair = v as usize * 2;
        digits[i - 2..i].copy_from_slice(&DIGIT_PAIRS[pair..pair + 2]);
    } else {
        digits[i - 1] = b'0' + v as u8;
    }
    out.truncate(start + len);
}

/// Everything after the offset's key: `N,"timestamp":…}` and a newline.
/// The constant pieces between two fields are written as one: each extend
/// costs a capacity check, and a line has a dozen of them.
#[inline]
fn json_record(
    out: &mut Vec<u8>,
    record: &Record<'_>,
    bytes: BytesEncoding,
    timestamp: &mut Decimal,
) {
    out.extend_from_slice(b",\"timestamp\":");
    match record.timestamp() {
        Some(t) => timestamp.push(out, t),
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(match record.timestamp_type() {
        Some(TimestampType::CreateTime) => b",\"timestamp_type\":0,\"key\":",
        Some(TimestampType::LogAppendTime) => b",\"timestamp_type\":1,\"key\":",
        None => b",\"timestamp_type\":null,\"key\":",
    });
    json_bytes(out, record.key(), bytes);
    out.extend_from_slice(b",\"value\":");
    json_bytes(out, record.value(), bytes);
    let headers = record.headers();
    if headers.is_empty() {
        out.extend_from_slice(b",\"headers\":[]}\n");
        return;
    }
    out.extend_from_slice(b",\"headers\":[");
    for (i, header) in headers.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.push(b'[');
        // Names are text: invalid sequences replaced (as the conformance
        // schema and `dump` do).
        json_str(out, String::from_utf8_lossy(header.key).as_bytes());
        out.push(b',');
        json_bytes(out, header.value, bytes);
        out.push(b']');
    }
    out.extend_from_slice(b"]}\n");
}

/// Nullable bytes as a JSON value per the encoding (as `dump --json` writes
/// them): `null`, a string, or `{"base64":"…"}` for bytes that are not UTF-8
/// in utf8 mode.
#[inline]
fn json_bytes(out: &mut Vec<u8>, bytes: Option<&[u8]>, encoding: BytesEncoding) {
    let Some(bytes) = bytes else {
        out.extend_from_slice(b"null");
        return;
    };
    match encoding {
        BytesEncoding::Base64 => {
            out.push(b'"');
            push_base64(out, bytes);
            out.push(b'"');
        }
        BytesEncoding::Hex => {
            out.push(b'"');
            push_hex(out, bytes);
            out.push(b'"');
        }
        BytesEncoding::Utf8 => {
            if std::str::from_utf8(bytes).is_ok() {
                json_str(out, bytes);
            } else {
                out.extend_from_slice(b"{\"base64\":\"");
                push_base64(out, bytes);
                out.extend_from_slice(b"\"}");
            }
        }
    }
}

/// Bytes that need an escape inside a JSON string: `"`, `\` and the
/// control characters below 0x20.
const fn json_escape_table() -> [bool; 256] {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = true;
        b += 1;
    }
    table[b'"' as usize] = true;
    table[b'\\' as usize] = true;
    table
}

static NEEDS_ESCAPE: [bool; 256] = json_escape_table();

/// `text` (valid UTF-8) as a quoted, escaped JSON string.
#[inline]
fn json_str(out: &mut Vec<u8>, text: &[u8]) {
    out.push(b'"');
    let mut start = 0;
    for (i, &b) in text.iter().enumerate() {
        if !NEEDS_ESCAPE[usize::from(b)] {
            continue;
        }
        out.extend_from_slice(&text[start..i]);
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            _ => {
                out.extend_from_slice(b"\\u00");
                out.push(HEX_DIGITS[usize::from(b >> 4)]);
                out.push(HEX_DIGITS[usize::from(b & 0x0f)]);
            }
        }
        start = i + 1;
    }
    out.extend_from_slice(&text[start..]);
    out.push(b'"');
}

const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Standard base64 with padding, appended (SIMD where the CPU has it).
#[inline]
pub(crate) fn push_base64(out: &mut Vec<u8>, bytes: &[u8]) {
    base64_simd::STANDARD.encode_append(bytes, out);
}

/// Lowercase hex, appended.
fn push_hex(out: &mut Vec<u8>, bytes: &[u8]) {
    let start = out.len();
    out.resize(start + bytes.len() * 2, 0);
    for (pair, &b) in out[start..].chunks_exact_mut(2).zip(bytes) {
        pair[0] = HEX_DIGITS[usize::from(b >> 4)];
        pair[1] = HEX_DIGITS[usize::from(b & 0x0f)];
    }
}

/// `record` in the text format: its value and a newline.
#[inline(always)]
pub fn write_text(out: &mut Vec<u8>, bytes: TextBytes, record: &Record<'_>) {
    if let Some(value) = record.value() {
        text_bytes(out, value, bytes);
    }
    out.push(b'\n');
}

/// Key or value bytes in text output.
#[inline(always)]
fn text_bytes(out: &mut Vec<u8>, bytes: &[u8], encoding: TextBytes) {
    match encoding {
        TextBytes::Raw => out.extend_from_slice(bytes),
        TextBytes::Encoded(BytesEncoding::Utf8) => {
            if std::str::from_utf8(bytes).is_ok() {
                out.extend_from_slice(bytes);
            } else {
                out.extend_from_slice(b"base64:");
                push_base64(out, bytes);
            }
        }
        TextBytes::Encoded(BytesEncoding::Base64) => push_base64(out, bytes),
        TextBytes::Encoded(BytesEncoding::Hex) => push_hex(out, bytes),
    }
}

fn length(bytes: Option<&[u8]>) -> i64 {
    bytes.map_or(-1, |b| b.len() as i64)
}

fn template_record(
    out: &mut Vec<u8>,
    template: &Template,
    encoding: TextBytes,
    topic_partition: &TopicPartition,
    record: &Record<'_>,
) {
    for token in &template.tokens {
        match token {
            Token::Literal(bytes) => out.extend_from_slice(bytes),
            Token::Topic => out.extend_from_slice(topic_partition.topic.as_bytes()),
            Token::Partition => push_int(out, topic_partition.partition),
            Token::Offset => push_int(out, record.offset()),
            Token::Key => {
                if let Some(key) = record.key() {
                    text_bytes(out, key, encoding);
                }
            }
            Token::KeyLength => push_int(out, length(record.key())),
            Token::Value => {
                if let Some(value) = record.value() {
                    text_bytes(out, value, encoding);
                }
            }
            Token::ValueLength => push_int(out, length(record.value())),
            Token::ValueLengthBinary => {
                let len = i32::try_from(length(record.value())).unwrap_or(i32::MAX);
                out.extend_from_slice(&len.to_be_bytes());
            }
            Token::Timestamp => push_int(out, record.timestamp().unwrap_or(-1)),
            Token::Headers => {
                for (i, header) in record.headers().iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    out.extend_from_slice(header.key);
                    out.push(b'=');
                    match header.value {
                        Some(value) => text_bytes(out, value, encoding),
                        None => out.extend_from_slice(b"NULL"),
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_match_the_standard_formatting() {
        let mut values = vec![0, 1, -1, 9, 10, 99, 100, 101, 999, 1000, i64::MAX, i64::MIN];
        for p in 0..19 {
            let ten = 10i64.pow(p);
            values.extend([ten - 1, ten, ten + 1, -ten, -(ten - 1)]);
        }
        // A fixed-seed LCG over the whole range.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..10_000 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            values.push(x as i64);
            values.push((x >> (x % 63)) as i64);
        }
        let mut out = b"x".to_vec();
        for v in values {
            out.truncate(1);
            push_int(&mut out, v);
            assert_eq!(&out[1..], v.to_string().as_bytes(), "{v}");
        }
    }

    /// The cached decimals give what formatting afresh gives, over runs of
    /// small steps (carries into new digits included), jumps back and
    /// forth, negatives and the extremes.
    #[test]
    fn cached_decimals_match_the_standard_formatting() {
        let mut values: Vec<i64> = Vec::new();
        for start in [
            0i64,
            7,
            95,
            989,
            99_990,
            1_699_999_999_990,
            999_999_999_999_990,
            9_999_999_999_990_000,
            i64::MAX - 2000,
        ] {
            let mut v = start;
            for i in 0..3000 {
                values.push(v);
                v = v.saturating_add([0, 1, 1, 3, 999, 1000, 17, 9, 99, 998][i % 10]);
            }
        }
        values.extend([-1, 5, -10, i64::MIN, 0, i64::MAX, 9, 10, 99, 100, 1, 0]);
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..5000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            values.push((x >> (x % 60)) as i64 - 1000);
        }
        let mut cache = Decimal::default();
        let mut out = Vec::new();
        for v in values {
            out.clear();
            cache.push(&mut out, v);
            assert_eq!(out, v.to_string().as_bytes(), "{v}");
        }
    }

    fn escaped(text: &str) -> String {
        let mut out = Vec::new();
        json_str(&mut out, text.as_bytes());
        String::from_utf8(out).unwrap()
    }

    /// The JSON prefix names the partition given, even when it sits where
    /// the previous one did (a rebalance's new assignment reusing the old
    /// one's memory).
    #[test]
    fn json_prefix_follows_the_partition_at_the_same_address() {
        let format = RecordFormat::Json(BytesEncoding::Base64);
        let mut writer = RecordWriter::new(format);
        let mut slot = TopicPartition::new("metrics", 0);
        writer.refresh_prefix(&slot);
        assert_eq!(
            writer.prefix,
            br#"{"topic":"metrics","partition":0,"offset":"#
        );
        slot = TopicPartition::new("metrics", 4);
        writer.refresh_prefix(&slot);
        assert_eq!(
            writer.prefix,
            br#"{"topic":"metrics","partition":4,"offset":"#
        );
        slot = TopicPartition::new("metric", 4);
        writer.refresh_prefix(&slot);
        assert_eq!(
            writer.prefix,
            br#"{"topic":"metric","partition":4,"offset":"#
        );
    }

    #[test]
    fn json_strings_round_trip_through_serde() {
        for text in [
            "",
            "plain",
            "quote \" backslash \\ slash /",
            "nl\ncr\rtab\tbs\u{8}ff\u{c}nul\0esc\u{1b}del\u{7f}",
            "é ü 日本 😀 \u{2028}",
        ] {
            let json = escaped(text);
            assert_eq!(
                serde_json::from_str::<String>(&json).unwrap(),
                text,
                "{json}"
            );
            // The same bytes serde_json writes.
            assert_eq!(json, serde_json::to_string(text).unwrap());
        }
    }

    #[test]
    fn bytes_encodings_match_dump() {
        use crate::output::EncodedBytes;
        let cases: [Option<&[u8]>; 6] = [
            None,
            Some(b""),
            Some(b"a"),
            Some(b"hello \"world\"\n"),
            Some(&[0xff, 0, 1, 2, 3]),
            Some(&[0xe2, 0x82]),
        ];
        for bytes in cases {
            for encoding in [
                BytesEncoding::Utf8,
                BytesEncoding::Base64,
                BytesEncoding::Hex,
            ] {
                let mut out = Vec::new();
                json_bytes(&mut out, bytes, encoding);
                let want = serde_json::to_string(&EncodedBytes { bytes, encoding }).unwrap();
                assert_eq!(
                    String::from_utf8(out).unwrap(),
                    want,
                    "{bytes:?} {encoding:?}"
                );
            }
        }
    }

    #[test]
    fn templates_parse() {
        let t = Template::parse("%t [%p] @%o: %k=%s (%K/%S) %T %h 100%%\\n\\t\\x41\\q").unwrap();
        assert_eq!(t.tokens.first(), Some(&Token::Topic));
        assert_eq!(
            t.tokens.last(),
            Some(&Token::Literal(b" 100%\n\tAq".to_vec()))
        );
        assert!(Template::parse("%z").is_err());
        assert!(Template::parse("abc %").is_err());
        assert!(Template::parse("\\xZZ").is_err());
        assert_eq!(Template::parse("").unwrap().tokens, []);
    }
}
