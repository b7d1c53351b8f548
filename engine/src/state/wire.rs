//! Kafka's protocol primitives, as its JSON message schemas use them.
//!
//! [`Reader`] reads them from one key or value, bounds-checked: every read
//! names the schema field it is for, and a failure is a [`WireError`] with
//! that name and the byte position within the key or value. A length is
//! checked against the bytes left before anything is allocated. [`Writer`]
//! writes the same primitives; a length that does not fit its prefix is
//! remembered and returned by [`Writer::finish`], so writing never panics.
//!
//! | schema type | non-flexible version | flexible version (compact) |
//! |---|---|---|
//! | `string` | int16 length, −1 null | uvarint length + 1, 0 null |
//! | `bytes` | int32 length, −1 null | uvarint length + 1, 0 null |
//! | `[]T` | int32 count, −1 null | uvarint count + 1, 0 null |
//! | tagged fields | – | uvarint count, then per field uvarint tag, uvarint size, bytes |

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::fmt;

/// What went wrong reading one field.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum WireErrorKind {
    /// The field needs more bytes than are left.
    Truncated {
        /// Bytes the field needs (at least).
        needed: u64,
        /// Bytes left.
        available: usize,
    },
    /// A length or count below −1, or −1 (null) where null is not allowed.
    InvalidLength(i64),
    /// A varint longer than its type allows (5 bytes for 32 bits, 10 for 64).
    VarintTooLong,
    /// A string that is not UTF-8.
    InvalidUtf8,
    /// A bool byte other than 0 or 1.
    InvalidBool(u8),
    /// Bytes left after the last field where none may be.
    TrailingBytes(usize),
    /// A value the writer cannot encode (a length over its prefix's range).
    TooLong(usize),
}

impl fmt::Display for WireErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated { needed, available } => {
                write!(f, "truncated: needs {needed} bytes, {available} left")
            }
            Self::InvalidLength(n) => write!(f, "invalid length {n}"),
            Self::VarintTooLong => write!(f, "varint too long"),
            Self::InvalidUtf8 => write!(f, "string is not UTF-8"),
            Self::InvalidBool(b) => write!(f, "bool byte {b} is neither 0 nor 1"),
            Self::TrailingBytes(n) => write!(f, "{n} bytes left after the last field"),
            Self::TooLong(n) => write!(f, "length {n} does not fit its length prefix"),
        }
    }
}

/// A field that could not be read (or written): its schema name, where it
/// starts within the key or value, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireError {
    /// The schema's field name (`"group"`, `"offset"`, `"members[].memberId"` …).
    pub field: &'static str,
    /// Byte position of the field within the key or value.
    pub position: usize,
    /// What is wrong.
    pub kind: WireErrorKind,
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "field {} at byte {}: {}",
            self.field, self.position, self.kind
        )
    }
}

impl std::error::Error for WireError {}

/// One tagged field as read: its tag and its bytes, not interpreted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaggedField<'a> {
    /// The field's tag.
    pub tag: u32,
    /// Byte position of the field's data within the key or value.
    pub position: usize,
    /// The field's data.
    pub data: &'a [u8],
}

impl TaggedField<'_> {
    /// A reader over the field's data, positions still counted from the
    /// start of the key or value.
    pub fn reader(&self) -> Reader<'_> {
        Reader {
            bytes: self.data,
            base: self.position,
            position: 0,
        }
    }

    /// An owned copy (for tags a decoder does not know, kept as they were).
    pub fn to_raw(&self) -> RawTaggedField {
        RawTaggedField {
            tag: self.tag,
            data: self.data.to_vec(),
        }
    }
}

/// An owned tagged field a decoder does not know, kept raw so it is shown
/// and written back as it was.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RawTaggedField {
    /// The field's tag.
    pub tag: u32,
    /// The field's data.
    pub data: Vec<u8>,
}

/// A bounds-checked reader over one key or value.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    bytes: &'a [u8],
    /// Position of `bytes[0]` within the key or value (for sub-readers).
    base: usize,
    position: usize,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Self {
            bytes,
            base: 0,
            position: 0,
        }
    }

    /// The byte position within the key or value of the next read.
    pub fn position(&self) -> usize {
        self.base + self.position
    }

    /// Bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.bytes.len() - self.position
    }

    /// Whether every byte has been read.
    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    fn error(&self, field: &'static str, start: usize, kind: WireErrorKind) -> WireError {
        WireError {
            field,
            position: self.base + start,
            kind,
        }
    }

    /// The next `n` bytes.
    pub fn take(&mut self, field: &'static str, n: usize) -> Result<&'a [u8], WireError> {
        let start = self.position;
        match start
            .checked_add(n)
            .and_then(|end| self.bytes.get(start..end))
        {
            Some(bytes) => {
                self.position += n;
                Ok(bytes)
            }
            None => Err(self.error(
                field,
                start,
                WireErrorKind::Truncated {
                    needed: n as u64,
                    available: self.remaining(),
                },
            )),
        }
    }

    fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], WireError> {
        let bytes = self.take(field, N)?;
        let mut out = [0; N];
        out.copy_from_slice(bytes);
        Ok(out)
    }

    /// Every byte left ("remaining bytes").
    pub fn rest(&mut self) -> &'a [u8] {
        let rest = self.bytes.get(self.position..).unwrap_or_default();
        self.position = self.bytes.len();
        rest
    }

    /// An error unless every byte has been read.
    pub fn finish(&self, field: &'static str) -> Result<(), WireError> {
        match self.remaining() {
            0 => Ok(()),
            n => Err(self.error(field, self.position, WireErrorKind::TrailingBytes(n))),
        }
    }

    /// `int8`.
    pub fn i8(&mut self, field: &'static str) -> Result<i8, WireError> {
        self.array::<1>(field).map(i8::from_be_bytes)
    }

    /// `int16`.
    pub fn i16(&mut self, field: &'static str) -> Result<i16, WireError> {
        self.array::<2>(field).map(i16::from_be_bytes)
    }

    /// `uint16`.
    pub fn u16(&mut self, field: &'static str) -> Result<u16, WireError> {
        self.array::<2>(field).map(u16::from_be_bytes)
    }

    /// `int32`.
    pub fn i32(&mut self, field: &'static str) -> Result<i32, WireError> {
        self.array::<4>(field).map(i32::from_be_bytes)
    }

    /// `uint32`.
    pub fn u32(&mut self, field: &'static str) -> Result<u32, WireError> {
        self.array::<4>(field).map(u32::from_be_bytes)
    }

    /// `int64`.
    pub fn i64(&mut self, field: &'static str) -> Result<i64, WireError> {
        self.array::<8>(field).map(i64::from_be_bytes)
    }

    /// `float64`.
    pub fn f64(&mut self, field: &'static str) -> Result<f64, WireError> {
        self.array::<8>(field).map(f64::from_be_bytes)
    }

    /// `bool`: 0 or 1, anything else is an error.
    pub fn bool(&mut self, field: &'static str) -> Result<bool, WireError> {
        let start = self.position;
        match self.array::<1>(field)? {
            [0] => Ok(false),
            [1] => Ok(true),
            [b] => Err(self.error(field, start, WireErrorKind::InvalidBool(b))),
        }
    }

    /// `uuid`: 16 bytes, most significant first.
    pub fn uuid(&mut self, field: &'static str) -> Result<[u8; 16], WireError> {
        self.array::<16>(field)
    }

    fn uvarint_bits(&mut self, field: &'static str, max_bytes: u32) -> Result<u64, WireError> {
        let start = self.position;
        let mut value = 0u64;
        for i in 0..max_bytes {
            let [byte] = self.array::<1>(field).map_err(|_| {
                self.error(
                    field,
                    start,
                    WireErrorKind::Truncated {
                        needed: u64::from(i) + 1,
                        available: self.remaining() + i as usize,
                    },
                )
            })?;
            value |= u64::from(byte & 0x7f) << (7 * i);
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(self.error(field, start, WireErrorKind::VarintTooLong))
    }

    /// Unsigned varint (32 bits, at most 5 bytes), as compact lengths and tags use.
    pub fn uvarint(&mut self, field: &'static str) -> Result<u32, WireError> {
        let start = self.position;
        let value = self.uvarint_bits(field, 5)?;
        u32::try_from(value).map_err(|_| self.error(field, start, WireErrorKind::VarintTooLong))
    }

    /// Unsigned varlong (64 bits, at most 10 bytes).
    pub fn uvarlong(&mut self, field: &'static str) -> Result<u64, WireError> {
        self.uvarint_bits(field, 10)
    }

    /// Zigzag signed varint (32 bits).
    pub fn varint(&mut self, field: &'static str) -> Result<i32, WireError> {
        let v = self.uvarint(field)?;
        Ok(((v >> 1) as i32) ^ -((v & 1) as i32))
    }

    /// Zigzag signed varlong (64 bits).
    pub fn varlong(&mut self, field: &'static str) -> Result<i64, WireError> {
        let v = self.uvarlong(field)?;
        Ok(((v >> 1) as i64) ^ -((v & 1) as i64))
    }

    /// A length or count: `None` for −1 (null); checked against the bytes
    /// left (`min_size` bytes at least per unit) before any allocation.
    fn length(
        &mut self,
        field: &'static str,
        start: usize,
        length: i64,
        min_size: u64,
    ) -> Result<Option<usize>, WireError> {
        if length == -1 {
            return Ok(None);
        }
        let Ok(n) = usize::try_from(length) else {
            return Err(self.error(field, start, WireErrorKind::InvalidLength(length)));
        };
        let needed = (n as u64).saturating_mul(min_size);
        if needed > self.remaining() as u64 {
            return Err(self.error(
                field,
                start,
                WireErrorKind::Truncated {
                    needed,
                    available: self.remaining(),
                },
            ));
        }
        Ok(Some(n))
    }

    fn required<T>(&self, field: &'static str, start: usize, v: Option<T>) -> Result<T, WireError> {
        v.ok_or_else(|| self.error(field, start, WireErrorKind::InvalidLength(-1)))
    }

    fn utf8(
        &self,
        field: &'static str,
        start: usize,
        bytes: &'a [u8],
    ) -> Result<&'a str, WireError> {
        std::str::from_utf8(bytes).map_err(|_| self.error(field, start, WireErrorKind::InvalidUtf8))
    }

    fn nullable_text(
        &mut self,
        field: &'static str,
        compact: bool,
    ) -> Result<Option<&'a str>, WireError> {
        let start = self.position;
        match self.length_prefixed(field, compact, true)? {
            Some(bytes) => self.utf8(field, start, bytes).map(Some),
            None => Ok(None),
        }
    }

    fn length_prefixed(
        &mut self,
        field: &'static str,
        compact: bool,
        string: bool,
    ) -> Result<Option<&'a [u8]>, WireError> {
        let start = self.position;
        let length = match (compact, string) {
            (true, _) => i64::from(self.uvarint(field)?) - 1,
            (false, true) => i64::from(self.i16(field)?),
            (false, false) => i64::from(self.i32(field)?),
        };
        match self.length(field, start, length, 1)? {
            Some(n) => self.take(field, n).map(Some),
            None => Ok(None),
        }
    }

    /// `string` (int16 length); null is an error.
    pub fn string(&mut self, field: &'static str) -> Result<&'a str, WireError> {
        let start = self.position;
        let s = self.nullable_text(field, false)?;
        self.required(field, start, s)
    }

    /// Nullable `string` (int16 length, −1 null).
    pub fn nullable_string(&mut self, field: &'static str) -> Result<Option<&'a str>, WireError> {
        self.nullable_text(field, false)
    }

    /// Compact `string` (uvarint length + 1); null is an error.
    pub fn compact_string(&mut self, field: &'static str) -> Result<&'a str, WireError> {
        let start = self.position;
        let s = self.nullable_text(field, true)?;
        self.required(field, start, s)
    }

    /// Compact nullable `string` (uvarint length + 1, 0 null).
    pub fn compact_nullable_string(
        &mut self,
        field: &'static str,
    ) -> Result<Option<&'a str>, WireError> {
        self.nullable_text(field, true)
    }

    /// A string in either encoding (`compact` in flexible versions).
    pub fn string_as(&mut self, field: &'static str, compact: bool) -> Result<&'a str, WireError> {
        let start = self.position;
        let s = self.nullable_text(field, compact)?;
        self.required(field, start, s)
    }

    /// A nullable string in either encoding.
    pub fn nullable_string_as(
        &mut self,
        field: &'static str,
        compact: bool,
    ) -> Result<Option<&'a str>, WireError> {
        self.nullable_text(field, compact)
    }

    /// `bytes` (int32 length); null is an error.
    pub fn bytes(&mut self, field: &'static str) -> Result<&'a [u8], WireError> {
        self.bytes_as(field, false)
    }

    /// Nullable `bytes` (int32 length, −1 null).
    pub fn nullable_bytes(&mut self, field: &'static str) -> Result<Option<&'a [u8]>, WireError> {
        self.length_prefixed(field, false, false)
    }

    /// Compact `bytes` (uvarint length + 1); null is an error.
    pub fn compact_bytes(&mut self, field: &'static str) -> Result<&'a [u8], WireError> {
        self.bytes_as(field, true)
    }

    /// Compact nullable `bytes` (uvarint length + 1, 0 null).
    pub fn compact_nullable_bytes(
        &mut self,
        field: &'static str,
    ) -> Result<Option<&'a [u8]>, WireError> {
        self.length_prefixed(field, true, false)
    }

    /// `bytes` in either encoding; null is an error.
    pub fn bytes_as(&mut self, field: &'static str, compact: bool) -> Result<&'a [u8], WireError> {
        let start = self.position;
        let b = self.length_prefixed(field, compact, false)?;
        self.required(field, start, b)
    }

    /// Nullable `bytes` in either encoding.
    pub fn nullable_bytes_as(
        &mut self,
        field: &'static str,
        compact: bool,
    ) -> Result<Option<&'a [u8]>, WireError> {
        self.length_prefixed(field, compact, false)
    }

    /// An array's count (int32, or uvarint + 1 when `compact`), `None` for
    /// null. `min_element_size` (at least 1) is the smallest encoding of one
    /// element: a count that cannot fit in the bytes left is rejected here.
    pub fn nullable_array_len(
        &mut self,
        field: &'static str,
        compact: bool,
        min_element_size: u64,
    ) -> Result<Option<usize>, WireError> {
        let start = self.position;
        let count = if compact {
            i64::from(self.uvarint(field)?) - 1
        } else {
            i64::from(self.i32(field)?)
        };
        self.length(field, start, count, min_element_size.max(1))
    }

    /// An array's count, null being an error.
    pub fn array_len(
        &mut self,
        field: &'static str,
        compact: bool,
        min_element_size: u64,
    ) -> Result<usize, WireError> {
        let start = self.position;
        let n = self.nullable_array_len(field, compact, min_element_size)?;
        self.required(field, start, n)
    }

    /// An array: its count, then `element` read that many times.
    pub fn array_of<T>(
        &mut self,
        field: &'static str,
        compact: bool,
        min_element_size: u64,
        mut element: impl FnMut(&mut Self) -> Result<T, WireError>,
    ) -> Result<Vec<T>, WireError> {
        let n = self.array_len(field, compact, min_element_size)?;
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            out.push(element(self)?);
        }
        Ok(out)
    }

    /// A tagged fields section: uvarint count, then per field uvarint tag,
    /// uvarint size and the bytes.
    pub fn tagged_fields(
        &mut self,
        field: &'static str,
    ) -> Result<Vec<TaggedField<'a>>, WireError> {
        let start = self.position;
        let count = i64::from(self.uvarint(field)?);
        // A field is at least two bytes (tag, size).
        let n = self.length(field, start, count, 2)?.unwrap_or(0);
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            let tag = self.uvarint(field)?;
            let size_start = self.position;
            let size = i64::from(self.uvarint(field)?);
            let size = self.length(field, size_start, size, 1)?.unwrap_or(0);
            let position = self.position();
            let data = self.take(field, size)?;
            out.push(TaggedField {
                tag,
                position,
                data,
            });
        }
        Ok(out)
    }
}

/// Writes Kafka's protocol primitives into a buffer. A length that does not
/// fit its prefix is kept as the first error and returned by [`finish`](Self::finish).
#[derive(Debug, Default, Clone)]
pub struct Writer {
    buf: Vec<u8>,
    error: Option<WireError>,
}

impl Writer {
    /// An empty writer.
    pub fn new() -> Self {
        Self::default()
    }

    /// The bytes written, or the first field that could not be encoded.
    pub fn finish(self) -> Result<Vec<u8>, WireError> {
        match self.error {
            Some(error) => Err(error),
            None => Ok(self.buf),
        }
    }

    fn fail(&mut self, field: &'static str, length: usize) {
        if self.error.is_none() {
            self.error = Some(WireError {
                field,
                position: self.buf.len(),
                kind: WireErrorKind::TooLong(length),
            });
        }
    }

    /// Raw bytes, no length.
    pub fn raw(&mut self, bytes: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(bytes);
        self
    }

    /// `int8`.
    pub fn i8(&mut self, v: i8) -> &mut Self {
        self.raw(&v.to_be_bytes())
    }

    /// `int16`.
    pub fn i16(&mut self, v: i16) -> &mut Self {
        self.raw(&v.to_be_bytes())
    }

    /// `uint16`.
    pub fn u16(&mut self, v: u16) -> &mut Self {
        self.raw(&v.to_be_bytes())
    }

    /// `int32`.
    pub fn i32(&mut self, v: i32) -> &mut Self {
        self.raw(&v.to_be_bytes())
    }

    /// `uint32`.
    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.raw(&v.to_be_bytes())
    }

    /// `int64`.
    pub fn i64(&mut self, v: i64) -> &mut Self {
        self.raw(&v.to_be_bytes())
    }

    /// `float64`.
    pub fn f64(&mut self, v: f64) -> &mut Self {
        self.raw(&v.to_be_bytes())
    }

    /// `bool`.
    pub fn bool(&mut self, v: bool) -> &mut Self {
        self.raw(&[u8::from(v)])
    }

    /// `uuid`.
    pub fn uuid(&mut self, v: &[u8; 16]) -> &mut Self {
        self.raw(v)
    }

    /// Unsigned varlong (a uvarint when it fits 32 bits).
    pub fn uvarlong(&mut self, mut v: u64) -> &mut Self {
        while v >= 0x80 {
            self.buf.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.buf.push(v as u8);
        self
    }

    /// Unsigned varint.
    pub fn uvarint(&mut self, v: u32) -> &mut Self {
        self.uvarlong(u64::from(v))
    }

    /// Zigzag signed varint.
    pub fn varint(&mut self, v: i32) -> &mut Self {
        self.uvarint(((v << 1) ^ (v >> 31)) as u32)
    }

    /// Zigzag signed varlong.
    pub fn varlong(&mut self, v: i64) -> &mut Self {
        self.uvarlong(((v << 1) ^ (v >> 63)) as u64)
    }

    /// A compact length (`n + 1`, 0 for null).
    fn compact_len(&mut self, field: &'static str, n: Option<usize>) -> &mut Self {
        match n {
            None => self.uvarint(0),
            Some(n) => match u32::try_from(n).ok().and_then(|n| n.checked_add(1)) {
                Some(n) => self.uvarint(n),
                None => {
                    self.fail(field, n);
                    self
                }
            },
        }
    }

    fn len_i16(&mut self, field: &'static str, n: Option<usize>) -> &mut Self {
        match n.map(i16::try_from) {
            None => self.i16(-1),
            Some(Ok(n)) => self.i16(n),
            Some(Err(_)) => {
                self.fail(field, n.unwrap_or_default());
                self
            }
        }
    }

    fn len_i32(&mut self, field: &'static str, n: Option<usize>) -> &mut Self {
        match n.map(i32::try_from) {
            None => self.i32(-1),
            Some(Ok(n)) => self.i32(n),
            Some(Err(_)) => {
                self.fail(field, n.unwrap_or_default());
                self
            }
        }
    }

    /// A nullable string (int16 length, or compact when `compact`).
    pub fn nullable_string_as(
        &mut self,
        field: &'static str,
        v: Option<&str>,
        compact: bool,
    ) -> &mut Self {
        let n = v.map(str::len);
        if compact {
            self.compact_len(field, n);
        } else {
            self.len_i16(field, n);
        }
        self.raw(v.unwrap_or_default().as_bytes())
    }

    /// A string (int16 length, or compact when `compact`).
    pub fn string_as(&mut self, field: &'static str, v: &str, compact: bool) -> &mut Self {
        self.nullable_string_as(field, Some(v), compact)
    }

    /// `string` (int16 length).
    pub fn string(&mut self, field: &'static str, v: &str) -> &mut Self {
        self.string_as(field, v, false)
    }

    /// Compact `string`.
    pub fn compact_string(&mut self, field: &'static str, v: &str) -> &mut Self {
        self.string_as(field, v, true)
    }

    /// Nullable bytes (int32 length, or compact when `compact`).
    pub fn nullable_bytes_as(
        &mut self,
        field: &'static str,
        v: Option<&[u8]>,
        compact: bool,
    ) -> &mut Self {
        let n = v.map(<[u8]>::len);
        if compact {
            self.compact_len(field, n);
        } else {
            self.len_i32(field, n);
        }
        self.raw(v.unwrap_or_default())
    }

    /// Bytes (int32 length, or compact when `compact`).
    pub fn bytes_as(&mut self, field: &'static str, v: &[u8], compact: bool) -> &mut Self {
        self.nullable_bytes_as(field, Some(v), compact)
    }

    /// An array's count (int32, or compact when `compact`; `None` for null).
    pub fn array_len(&mut self, field: &'static str, n: Option<usize>, compact: bool) -> &mut Self {
        if compact {
            self.compact_len(field, n)
        } else {
            self.len_i32(field, n)
        }
    }

    /// An array: its count, then `element` for each item.
    pub fn array_of<T>(
        &mut self,
        field: &'static str,
        items: &[T],
        compact: bool,
        mut element: impl FnMut(&mut Self, &T),
    ) -> &mut Self {
        self.array_len(field, Some(items.len()), compact);
        for item in items {
            element(self, item);
        }
        self
    }

    /// A tagged fields section; `fields` must be sorted by tag, as Kafka writes them.
    pub fn tagged_fields(&mut self, field: &'static str, fields: &[(u32, &[u8])]) -> &mut Self {
        // The count is a plain uvarint (not + 1).
        match u32::try_from(fields.len()) {
            Ok(n) => {
                self.uvarint(n);
            }
            Err(_) => self.fail(field, fields.len()),
        }
        for (tag, data) in fields {
            self.uvarint(*tag);
            match u32::try_from(data.len()) {
                Ok(n) => {
                    self.uvarint(n);
                }
                Err(_) => self.fail(field, data.len()),
            }
            self.raw(data);
        }
        self
    }

    /// An empty tagged fields section.
    pub fn no_tagged_fields(&mut self) -> &mut Self {
        self.uvarint(0)
    }
}

#[cfg(test)]
#[path = "wire_tests.rs"]
mod tests;
