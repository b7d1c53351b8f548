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

use crate::state::wire::WireError;
pub use crate::state::wire::{RawTaggedField, Reader};

/// A `bytes` field (as opposed to an array of `int8`s).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Bytes(pub Vec<u8>);

/// A [`WireError`] as a [`DecodeError`]: the field path is built by the
/// callers (`within`), which know the nesting wire.rs does not.
pub fn de(e: WireError) -> DecodeError {
    DecodeError::new(e.position, e.kind.to_string())
}

/// The next `N` bytes as an array.
fn array<const N: usize>(r: &mut Reader<'_>) -> Result<[u8; N], DecodeError> {
    let bytes = r.take("", N).map_err(de)?;
    let mut out = [0u8; N];
    out.copy_from_slice(bytes);
    Ok(out)
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
                Ok(<$ty>::from_be_bytes(array(r)?))
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
        r.bool("").map_err(de)
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
        r.f64("").map_err(de)
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
        r.uuid("").map(Uuid).map_err(de)
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
        r.compact_string("").map(str::to_string).map_err(de)
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
        r.compact_nullable_string("")
            .map(|s| s.map(str::to_string))
            .map_err(de)
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
        r.compact_bytes("").map(|b| Bytes(b.to_vec())).map_err(de)
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
        let len = r.array_len("", true, T::MIN_SIZE as u64).map_err(de)?;
        read_elements(r, version, len)
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
        match r
            .nullable_array_len("", true, T::MIN_SIZE as u64)
            .map_err(de)?
        {
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
/// field (true when it took the field, which must then use all its bytes),
/// keeps the others as raw. Tags must increase, as Kafka writes them.
pub fn read_tagged_fields(
    r: &mut Reader<'_>,
    unknown: &mut Vec<RawTaggedField>,
    mut known: impl FnMut(u32, &mut Reader<'_>) -> Result<bool, DecodeError>,
) -> Result<(), DecodeError> {
    let fields = r
        .tagged_fields("_tagged_fields")
        .map_err(|e| de(e).within("_tagged_fields"))?;
    let mut previous: Option<u32> = None;
    for field in fields {
        if let Some(p) = previous.filter(|p| field.tag <= *p) {
            return Err(DecodeError::new(
                field.position,
                format!("tagged field {} after tag {p}", field.tag),
            )
            .within("_tagged_fields"));
        }
        previous = Some(field.tag);
        let mut sub = field.reader();
        if known(field.tag, &mut sub)? {
            sub.finish("").map_err(de)?;
        } else {
            unknown.push(field.to_raw());
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
    fn uvarints_written_read_back() {
        for value in [0u32, 1, 127, 128, 300, 16_383, 16_384, u32::MAX] {
            let mut out = Vec::new();
            write_uvarint(&mut out, value);
            assert_eq!(Reader::new(&out).uvarint("").ok(), Some(value));
        }
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
        assert!(error.is_some(), "{error:?}");
    }

    #[test]
    fn camel_case_lowers_the_first_letter_only() {
        assert_eq!(camel_case("TopicId"), "topicId");
        assert_eq!(camel_case("KRaftVersion"), "kRaftVersion");
        assert_eq!(camel_case("Isr"), "isr");
    }
}
