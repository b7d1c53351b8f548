//! The pieces every KRaft message is made of, for the typed records of
//! [`super`]: the [`Field`] trait (read, write, JSON, random generation) over
//! the Kafka protocol's flexible-version primitives, and the [`message!`]
//! macro that defines one message struct from its schema's field list.
//!
//! Every `__cluster_metadata` message (and every KRaft control record) is
//! flexible from version 0: strings, bytes and arrays are compact (length + 1
//! as an unsigned varint, 0 for null) and each struct ends with its tagged
//! fields. Nothing here panics on any input: every read is bounds-checked and
//! an array's declared length is checked against the bytes left before
//! anything is allocated.

#![deny(clippy::unwrap_used, clippy::indexing_slicing)]

use std::fmt;

use base64::Engine as _;
use serde_json::Value;

use super::DecodeError;

/// A 16-byte Kafka `Uuid` (topic ids, incarnation ids, directory ids).
/// Shown as Kafka's `Uuid.toString` does: URL-safe base64 without padding.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Uuid(pub [u8; 16]);

impl Uuid {
    /// Kafka's `Uuid.ZERO_UUID` (no id).
    pub const ZERO: Uuid = Uuid([0; 16]);

    /// Parses Kafka's text form (22 characters of URL-safe base64).
    pub fn parse(text: &str) -> Option<Uuid> {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(text.trim())
            .ok()?;
        Some(Uuid(bytes.try_into().ok()?))
    }
}

impl fmt::Display for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(self.0))
    }
}

impl fmt::Debug for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Uuid({self})")
    }
}

/// A tagged field the schema does not know: kept as read, written back as is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawTaggedField {
    /// The tag number.
    pub tag: u32,
    /// The field's bytes.
    pub data: Vec<u8>,
}

/// A `bytes` field (as opposed to an array of `int8`s).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Bytes(pub Vec<u8>);

/// A bounds-checked cursor over one message's bytes. Positions it reports
/// are from the start of the record value, also inside tagged fields.
#[derive(Debug)]
pub struct Reader<'a> {
    bytes: &'a [u8],
    position: usize,
    /// Where `bytes` starts in the record value.
    base: usize,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Reader {
            bytes,
            position: 0,
            base: 0,
        }
    }

    /// The position in the record value.
    pub fn position(&self) -> usize {
        self.base + self.position
    }

    /// Bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.bytes.len().saturating_sub(self.position)
    }

    fn error(&self, detail: impl Into<String>) -> DecodeError {
        DecodeError::new(self.position(), detail)
    }

    /// The next `n` bytes.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let end = self.position.checked_add(n);
        match end.and_then(|end| self.bytes.get(self.position..end)) {
            Some(slice) => {
                self.position += n;
                Ok(slice)
            }
            None => Err(self.error(format!("needs {n} bytes, {} left", self.remaining()))),
        }
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let slice = self.take(N)?;
        let mut out = [0u8; N];
        out.copy_from_slice(slice);
        Ok(out)
    }

    /// A reader over the next `n` bytes (a tagged field), which this one skips.
    pub fn sub(&mut self, n: usize) -> Result<Reader<'a>, DecodeError> {
        let base = self.position();
        let bytes = self.take(n)?;
        Ok(Reader {
            bytes,
            position: 0,
            base,
        })
    }

    /// Fails unless every byte was read.
    pub fn finish(&self) -> Result<(), DecodeError> {
        match self.remaining() {
            0 => Ok(()),
            n => Err(self.error(format!("{n} byte(s) left over after the field"))),
        }
    }

    /// The bytes not read yet, which this reader then skips.
    pub fn rest(&mut self) -> &'a [u8] {
        let rest = self.bytes.get(self.position..).unwrap_or_default();
        self.position = self.bytes.len();
        rest
    }

    /// An unsigned varint of at most 5 bytes (Kafka's `readUnsignedVarint`).
    pub fn uvarint(&mut self) -> Result<u32, DecodeError> {
        let start = self.position();
        let mut value: u32 = 0;
        for i in 0..5 {
            let [b] = self.array::<1>()?;
            if i == 4 && b > 0x0f {
                return Err(DecodeError::new(
                    start,
                    "unsigned varint longer than 32 bits",
                ));
            }
            value |= u32::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(DecodeError::new(
            start,
            "unsigned varint longer than 5 bytes",
        ))
    }

    /// A compact length: `None` for null (0), else the length (n − 1).
    fn compact_length(&mut self, what: &str) -> Result<Option<usize>, DecodeError> {
        let start = self.position();
        let n = self.uvarint()?;
        if n == 0 {
            return Ok(None);
        }
        let len = (n - 1) as usize;
        if len > self.remaining() {
            return Err(DecodeError::new(
                start,
                format!(
                    "{what} length {len} past the end ({} bytes left)",
                    self.remaining()
                ),
            ));
        }
        Ok(Some(len))
    }

    fn nullable_string(&mut self) -> Result<Option<String>, DecodeError> {
        let start = self.position();
        match self.compact_length("string")? {
            None => Ok(None),
            Some(len) => {
                let bytes = self.take(len)?;
                match std::str::from_utf8(bytes) {
                    Ok(s) => Ok(Some(s.to_string())),
                    Err(e) => Err(DecodeError::new(start, format!("string is not UTF-8: {e}"))),
                }
            }
        }
    }

    fn array_length(&mut self, min_element_size: usize) -> Result<Option<usize>, DecodeError> {
        let start = self.position();
        let n = self.uvarint()?;
        if n == 0 {
            return Ok(None);
        }
        let len = (n - 1) as usize;
        if len.saturating_mul(min_element_size.max(1)) > self.remaining() {
            return Err(DecodeError::new(
                start,
                format!(
                    "array of {len} elements cannot fit in the {} bytes left",
                    self.remaining()
                ),
            ));
        }
        Ok(Some(len))
    }
}

/// Appends an unsigned varint (Kafka's `writeUnsignedVarint`).
pub fn write_uvarint(out: &mut Vec<u8>, mut value: u32) {
    while value >= 0x80 {
        out.push((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn write_compact_length(out: &mut Vec<u8>, len: Option<usize>) {
    let n = len.map_or(0, |len| u32::try_from(len).unwrap_or(u32::MAX - 1) + 1);
    write_uvarint(out, n);
}

/// A value of one field type: read and written in a given message version,
/// shown as Kafka's generated `*JsonConverter`s show it, generated at random
/// for round trips.
pub trait Field: Sized + Clone + PartialEq + fmt::Debug {
    /// The smallest encoding, which bounds how many elements an array's
    /// declared length may claim.
    const MIN_SIZE: usize = 1;
    /// Reads one value.
    fn read(r: &mut Reader<'_>, version: i16) -> Result<Self, DecodeError>;
    /// Appends one value.
    fn write(&self, out: &mut Vec<u8>, version: i16);
    /// The value as Kafka's JSON converters write it.
    fn to_json(&self, version: i16) -> Value;
    /// A random value valid in `version`.
    fn generate(rng: &mut fastrand::Rng, version: i16) -> Self;
}

macro_rules! int_field {
    ($($ty:ty),*) => {$(
        impl Field for $ty {
            const MIN_SIZE: usize = std::mem::size_of::<$ty>();
            fn read(r: &mut Reader<'_>, _: i16) -> Result<Self, DecodeError> {
                Ok(<$ty>::from_be_bytes(r.array()?))
            }
            fn write(&self, out: &mut Vec<u8>, _: i16) {
                out.extend_from_slice(&self.to_be_bytes());
            }
            fn to_json(&self, _: i16) -> Value {
                Value::from(*self)
            }
            fn generate(rng: &mut fastrand::Rng, _: i16) -> Self {
                // Small values (and the -1/-2 sentinels) most of the time.
                match rng.u8(..4) {
                    0 => <$ty>::from_be_bytes(std::array::from_fn(|_| rng.u8(..))),
                    1 => (rng.i8(-2..=2)) as $ty,
                    _ => rng.u8(..100) as $ty,
                }
            }
        }
    )*};
}

int_field!(i8, i16, i32, i64, u16);

impl Field for bool {
    fn read(r: &mut Reader<'_>, _: i16) -> Result<Self, DecodeError> {
        let position = r.position();
        match r.array::<1>()? {
            [0] => Ok(false),
            [1] => Ok(true),
            [b] => Err(DecodeError::new(
                position,
                format!("bool byte {b} is not 0 or 1"),
            )),
        }
    }
    fn write(&self, out: &mut Vec<u8>, _: i16) {
        out.push(u8::from(*self));
    }
    fn to_json(&self, _: i16) -> Value {
        Value::Bool(*self)
    }
    fn generate(rng: &mut fastrand::Rng, _: i16) -> Self {
        rng.bool()
    }
}

impl Field for f64 {
    const MIN_SIZE: usize = 8;
    fn read(r: &mut Reader<'_>, _: i16) -> Result<Self, DecodeError> {
        Ok(f64::from_be_bytes(r.array()?))
    }
    fn write(&self, out: &mut Vec<u8>, _: i16) {
        out.extend_from_slice(&self.to_be_bytes());
    }
    fn to_json(&self, _: i16) -> Value {
        // Jackson writes NaN and the infinities as strings.
        serde_json::Number::from_f64(*self)
            .map_or_else(|| Value::String(self.to_string()), Value::Number)
    }
    fn generate(rng: &mut fastrand::Rng, _: i16) -> Self {
        // Finite, so that equality after a round trip holds.
        f64::from(rng.i32(..)) / 8.0
    }
}

impl Field for Uuid {
    const MIN_SIZE: usize = 16;
    fn read(r: &mut Reader<'_>, _: i16) -> Result<Self, DecodeError> {
        Ok(Uuid(r.array()?))
    }
    fn write(&self, out: &mut Vec<u8>, _: i16) {
        out.extend_from_slice(&self.0);
    }
    fn to_json(&self, _: i16) -> Value {
        Value::String(self.to_string())
    }
    fn generate(rng: &mut fastrand::Rng, _: i16) -> Self {
        Uuid(std::array::from_fn(|_| rng.u8(..)))
    }
}

fn generate_string(rng: &mut fastrand::Rng) -> String {
    const CHARS: &[char] = &['a', 'z', '.', '-', '_', '0', '9', 'é', '✓', ' '];
    let len = rng.usize(..12);
    (0..len)
        .map(|_| CHARS.get(rng.usize(..CHARS.len())).copied().unwrap_or('a'))
        .collect()
}

impl Field for String {
    fn read(r: &mut Reader<'_>, _: i16) -> Result<Self, DecodeError> {
        let position = r.position();
        r.nullable_string()?
            .ok_or_else(|| DecodeError::new(position, "null for a non-nullable string"))
    }
    fn write(&self, out: &mut Vec<u8>, _: i16) {
        write_compact_length(out, Some(self.len()));
        out.extend_from_slice(self.as_bytes());
    }
    fn to_json(&self, _: i16) -> Value {
        Value::String(self.clone())
    }
    fn generate(rng: &mut fastrand::Rng, _: i16) -> Self {
        generate_string(rng)
    }
}

impl Field for Option<String> {
    fn read(r: &mut Reader<'_>, _: i16) -> Result<Self, DecodeError> {
        r.nullable_string()
    }
    fn write(&self, out: &mut Vec<u8>, version: i16) {
        match self {
            Some(s) => s.write(out, version),
            None => write_compact_length(out, None),
        }
    }
    fn to_json(&self, _: i16) -> Value {
        self.clone().map_or(Value::Null, Value::String)
    }
    fn generate(rng: &mut fastrand::Rng, _: i16) -> Self {
        rng.bool().then(|| generate_string(rng))
    }
}

impl Field for Bytes {
    fn read(r: &mut Reader<'_>, _: i16) -> Result<Self, DecodeError> {
        let position = r.position();
        match r.compact_length("bytes")? {
            Some(len) => Ok(Bytes(r.take(len)?.to_vec())),
            None => Err(DecodeError::new(position, "null for non-nullable bytes")),
        }
    }
    fn write(&self, out: &mut Vec<u8>, _: i16) {
        write_compact_length(out, Some(self.0.len()));
        out.extend_from_slice(&self.0);
    }
    fn to_json(&self, _: i16) -> Value {
        // Jackson's BinaryNode: standard base64.
        Value::String(base64::engine::general_purpose::STANDARD.encode(&self.0))
    }
    fn generate(rng: &mut fastrand::Rng, _: i16) -> Self {
        Bytes((0..rng.usize(..20)).map(|_| rng.u8(..)).collect())
    }
}

fn read_elements<T: Field>(
    r: &mut Reader<'_>,
    version: i16,
    len: usize,
) -> Result<Vec<T>, DecodeError> {
    let mut out = Vec::with_capacity(len);
    for i in 0..len {
        out.push(T::read(r, version).map_err(|e| e.within_index(i))?);
    }
    Ok(out)
}

impl<T: Field> Field for Vec<T> {
    fn read(r: &mut Reader<'_>, version: i16) -> Result<Self, DecodeError> {
        let position = r.position();
        match r.array_length(T::MIN_SIZE)? {
            Some(len) => read_elements(r, version, len),
            None => Err(DecodeError::new(position, "null for a non-nullable array")),
        }
    }
    fn write(&self, out: &mut Vec<u8>, version: i16) {
        write_compact_length(out, Some(self.len()));
        for element in self {
            element.write(out, version);
        }
    }
    fn to_json(&self, version: i16) -> Value {
        Value::Array(self.iter().map(|e| e.to_json(version)).collect())
    }
    fn generate(rng: &mut fastrand::Rng, version: i16) -> Self {
        (0..rng.usize(..4))
            .map(|_| T::generate(rng, version))
            .collect()
    }
}

impl<T: Field> Field for Option<Vec<T>> {
    fn read(r: &mut Reader<'_>, version: i16) -> Result<Self, DecodeError> {
        match r.array_length(T::MIN_SIZE)? {
            Some(len) => read_elements(r, version, len).map(Some),
            None => Ok(None),
        }
    }
    fn write(&self, out: &mut Vec<u8>, version: i16) {
        match self {
            Some(elements) => elements.write(out, version),
            None => write_compact_length(out, None),
        }
    }
    fn to_json(&self, version: i16) -> Value {
        self.as_ref().map_or(Value::Null, |e| e.to_json(version))
    }
    fn generate(rng: &mut fastrand::Rng, version: i16) -> Self {
        rng.bool().then(|| Vec::generate(rng, version))
    }
}

/// Reads a struct's tagged-field section: calls `known(tag, reader)` for each
/// field (true when it took the field), keeps the others as raw.
pub fn read_tagged_fields(
    r: &mut Reader<'_>,
    unknown: &mut Vec<RawTaggedField>,
    mut known: impl FnMut(u32, &mut Reader<'_>) -> Result<bool, DecodeError>,
) -> Result<(), DecodeError> {
    let count = r.uvarint().map_err(|e| e.within("_tagged_fields"))?;
    let mut previous: Option<u32> = None;
    for _ in 0..count {
        let position = r.position();
        let tag = r.uvarint().map_err(|e| e.within("_tagged_fields"))?;
        if previous.is_some_and(|p| tag <= p) {
            return Err(DecodeError::new(
                position,
                format!("tagged field {tag} after tag {}", previous.unwrap_or(0)),
            )
            .within("_tagged_fields"));
        }
        previous = Some(tag);
        let size = r.uvarint().map_err(|e| e.within("_tagged_fields"))?;
        let mut sub = r
            .sub(size as usize)
            .map_err(|e| e.within("_tagged_fields"))?;
        if known(tag, &mut sub)? {
            sub.finish()?;
        } else {
            unknown.push(RawTaggedField {
                tag,
                data: sub.rest().to_vec(),
            });
        }
    }
    Ok(())
}

/// Appends a tagged-field section: `fields` (tag, encoded value) and the
/// unknown ones, in tag order.
pub fn write_tagged_fields(
    out: &mut Vec<u8>,
    mut fields: Vec<(u32, Vec<u8>)>,
    unknown: &[RawTaggedField],
) {
    fields.extend(unknown.iter().map(|f| (f.tag, f.data.clone())));
    fields.sort_by_key(|(tag, _)| *tag);
    write_uvarint(out, u32::try_from(fields.len()).unwrap_or(u32::MAX));
    for (tag, data) in fields {
        write_uvarint(out, tag);
        write_uvarint(out, u32::try_from(data.len()).unwrap_or(u32::MAX));
        out.extend_from_slice(&data);
    }
}

/// The unknown tagged fields in JSON (not in Kafka's output, which drops them).
pub fn unknown_tagged_json(unknown: &[RawTaggedField]) -> Value {
    Value::Array(
        unknown
            .iter()
            .map(|f| {
                serde_json::json!({
                    "tag": f.tag,
                    "data": base64::engine::general_purpose::STANDARD.encode(&f.data),
                })
            })
            .collect(),
    )
}

/// Random unknown tagged fields (tags from 100 up: no schema uses them).
pub fn generate_unknown_tagged(rng: &mut fastrand::Rng) -> Vec<RawTaggedField> {
    if rng.u8(..8) != 0 {
        return Vec::new();
    }
    let mut tag = 100;
    (0..rng.usize(1..3))
        .map(|_| {
            tag += rng.u32(1..50);
            RawTaggedField {
                tag,
                data: (0..rng.usize(..6)).map(|_| rng.u8(..)).collect(),
            }
        })
        .collect()
}

/// Kafka's JSON name for a schema field: the name with its first letter in
/// lower case (`TopicId` → `topicId`).
pub fn camel_case(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// `$default` when given, else `Default::default()`.
macro_rules! default_of {
    ($ty:ty) => {
        <$ty as Default>::default()
    };
    ($ty:ty, $default:expr) => {
        $default
    };
}

/// `Some(tag)` for a tagged field, `None` for a field in the fixed part.
macro_rules! tag_of {
    () => {
        None::<u32>
    };
    ($tag:literal) => {
        Some::<u32>($tag)
    };
}

/// Defines one message struct from its schema: each field with its Kafka
/// name, the versions it exists in, its default (when not the type's
/// `Default`) and its tag (for a tagged field). Gives the struct `Default`
/// and [`Field`]: read, write, JSON (Kafka's converters: fields absent from
/// the version left out, tagged fields only when not their default) and
/// random generation (fields absent from the version left at their default).
macro_rules! message {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $(
                $(#[$fmeta:meta])*
                $field:ident : $ty:ty =>
                    ($json:literal, $min:literal ..= $max:literal
                     $(, default = $default:expr)? $(, tag = $tag:literal)?),
            )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq)]
        pub struct $name {
            $( $(#[$fmeta])* pub $field: $ty, )*
            /// Tagged fields the schema does not know, kept as read.
            pub unknown_tagged_fields: Vec<$crate::state::cluster_metadata::RawTaggedField>,
        }

        impl Default for $name {
            fn default() -> Self {
                $name {
                    $( $field: default_of!($ty $(, $default)?), )*
                    unknown_tagged_fields: Vec::new(),
                }
            }
        }

        impl $crate::state::cluster_metadata::codec::Field for $name {
            #[allow(unused_variables, unused_mut)]
            fn read(
                r: &mut $crate::state::cluster_metadata::codec::Reader<'_>,
                version: i16,
            ) -> Result<Self, $crate::state::cluster_metadata::DecodeError> {
                let mut out = Self::default();
                $(
                    if tag_of!($($tag)?).is_none() && ($min..=$max).contains(&version) {
                        out.$field = <$ty as $crate::state::cluster_metadata::codec::Field>::read(r, version).map_err(|e| e.within($json))?;
                    }
                )*
                let mut unknown = Vec::new();
                $crate::state::cluster_metadata::codec::read_tagged_fields(
                    r,
                    &mut unknown,
                    |tag, sub| {
                        $(
                            if tag_of!($($tag)?) == Some(tag) && ($min..=$max).contains(&version) {
                                out.$field = <$ty as $crate::state::cluster_metadata::codec::Field>::read(sub, version).map_err(|e| e.within($json))?;
                                return Ok(true);
                            }
                        )*
                        Ok(false)
                    },
                )?;
                out.unknown_tagged_fields = unknown;
                Ok(out)
            }

            #[allow(unused_variables, unused_mut)]
            fn write(&self, out: &mut Vec<u8>, version: i16) {
                let mut tagged: Vec<(u32, Vec<u8>)> = Vec::new();
                $(
                    if ($min..=$max).contains(&version) {
                        match tag_of!($($tag)?) {
                            None => <$ty as $crate::state::cluster_metadata::codec::Field>::write(&self.$field, out, version),
                            Some(tag) => {
                                let default: $ty = default_of!($ty $(, $default)?);
                                if self.$field != default {
                                    let mut data = Vec::new();
                                    <$ty as $crate::state::cluster_metadata::codec::Field>::write(&self.$field, &mut data, version);
                                    tagged.push((tag, data));
                                }
                            }
                        }
                    }
                )*
                $crate::state::cluster_metadata::codec::write_tagged_fields(
                    out,
                    tagged,
                    &self.unknown_tagged_fields,
                );
            }

            #[allow(unused_variables, unused_mut)]
            fn to_json(&self, version: i16) -> serde_json::Value {
                let mut map = serde_json::Map::new();
                $(
                    if ($min..=$max).contains(&version) {
                        let default: $ty = default_of!($ty $(, $default)?);
                        if tag_of!($($tag)?).is_none() || self.$field != default {
                            map.insert(
                                $crate::state::cluster_metadata::codec::camel_case($json),
                                <$ty as $crate::state::cluster_metadata::codec::Field>::to_json(&self.$field, version),
                            );
                        }
                    }
                )*
                if !self.unknown_tagged_fields.is_empty() {
                    map.insert(
                        "_unknownTaggedFields".to_string(),
                        $crate::state::cluster_metadata::codec::unknown_tagged_json(
                            &self.unknown_tagged_fields,
                        ),
                    );
                }
                serde_json::Value::Object(map)
            }

            #[allow(unused_variables, unused_mut)]
            fn generate(rng: &mut fastrand::Rng, version: i16) -> Self {
                let mut out = Self::default();
                $(
                    if ($min..=$max).contains(&version) {
                        out.$field = <$ty as $crate::state::cluster_metadata::codec::Field>::generate(rng, version);
                    }
                )*
                out.unknown_tagged_fields =
                    $crate::state::cluster_metadata::codec::generate_unknown_tagged(rng);
                out
            }
        }
    };
}

pub(crate) use {default_of, message, tag_of};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uvarints_round_trip_and_reject_overlong() {
        for value in [0u32, 1, 127, 128, 300, 16_383, 16_384, u32::MAX] {
            let mut out = Vec::new();
            write_uvarint(&mut out, value);
            assert_eq!(Reader::new(&out).uvarint().ok(), Some(value));
        }
        assert!(Reader::new(&[0xff, 0xff, 0xff, 0xff, 0x1f])
            .uvarint()
            .is_err());
        assert!(Reader::new(&[0x80, 0x80]).uvarint().is_err());
    }

    #[test]
    fn uuids_print_as_kafka_does() {
        let mut bytes = [0u8; 16];
        bytes[15] = 1;
        assert_eq!(Uuid(bytes).to_string(), "AAAAAAAAAAAAAAAAAAAAAQ");
        assert_eq!(Uuid::parse("AAAAAAAAAAAAAAAAAAAAAQ"), Some(Uuid(bytes)));
        assert_eq!(Uuid::parse("short"), None);
    }

    #[test]
    fn huge_array_lengths_fail_before_allocating() {
        // 2^32 - 2 elements claimed, 0 bytes of them present.
        let bytes = [0xff, 0xff, 0xff, 0xff, 0x0f];
        let error = Vec::<i32>::read(&mut Reader::new(&bytes), 0).err();
        assert!(error.is_some_and(|e| e.detail.contains("cannot fit")));
    }

    #[test]
    fn camel_case_lowers_the_first_letter_only() {
        assert_eq!(camel_case("TopicId"), "topicId");
        assert_eq!(camel_case("KRaftVersion"), "kRaftVersion");
        assert_eq!(camel_case("Isr"), "isr");
    }
}
