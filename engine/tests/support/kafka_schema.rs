//! An independent decoder for the tests: one generic interpreter of Kafka's
//! JSON message schemas (`fixtures/kafka-schemas/*.json` for the state
//! topics, `fixtures/kafka-schemas/metadata/` for KRaft metadata), written
//! from the schema format alone (versions, nullableVersions,
//! flexibleVersions, taggedVersions, arrays of structs, commonStructs) and
//! sharing no code with the engine's decoders, so the tests that compare
//! the two check the engine against the schemas themselves.
//!
//! What the output looks like depends on what it is compared with, which a
//! [`Style`] says:
//!
//! - [`Style::STATE`], beside `kreplay::state`'s JSON: the schemas' field
//!   names, a tagged field missing from the bytes shown with its default,
//!   unknown tags skipped, and lenient reading as Kafka's coordinators read
//!   (a bool byte other than 0 is true, bytes after the fields ignored: a
//!   newer embedded version read with the newest layout known).
//! - [`Style::METADATA`], beside Kafka's generated `*JsonConverter`s (the
//!   engine's `cluster_metadata` JSON): camel-case names, a tagged field
//!   shown only when present in the bytes, unknown tags listed under
//!   `_unknownTaggedFields`, and strict reading (bool 0 or 1, every byte of
//!   a message and of each tagged field used).
//!
//! Either way, bytes become standard base64 and uuids Kafka's url-safe
//! base64 without padding, so the output compares with the engine's JSON
//! directly.
#![allow(dead_code, clippy::unwrap_used, clippy::indexing_slicing)]

use std::collections::BTreeMap;
use std::path::Path;

use base64::Engine as _;
use serde_json::{json, Map, Value};

/// How decoded messages are shown and how strictly bytes are read (see the
/// module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    /// `TopicId` → `topicId`, as Kafka's JSON converters name fields.
    pub camel_case_names: bool,
    /// A tagged field absent from the bytes is shown with its default
    /// (else left out).
    pub absent_tagged_as_default: bool,
    /// Tags no field of the version has are listed under
    /// `_unknownTaggedFields` (else skipped).
    pub list_unknown_tags: bool,
    /// A bool byte must be 0 or 1, and a message or tagged field must use
    /// all its bytes.
    pub strict: bool,
}

impl Style {
    /// Beside `kreplay::state`'s JSON.
    pub const STATE: Style = Style {
        camel_case_names: false,
        absent_tagged_as_default: true,
        list_unknown_tags: false,
        strict: false,
    };
    /// Beside Kafka's `*JsonConverter`s (`cluster_metadata`).
    pub const METADATA: Style = Style {
        camel_case_names: true,
        absent_tagged_as_default: false,
        list_unknown_tags: true,
        strict: true,
    };
}

/// One schema file.
pub struct Schema {
    pub name: String,
    /// `apiKey` (metadata records and control records).
    pub api_key: Option<u64>,
    /// `type`: `data`, `metadata`, ...
    pub kind: Option<String>,
    /// `validVersions`, inclusive (empty for "none").
    pub valid_versions: (i64, i64),
    root: Value,
}

/// The schema files of a dir, by `name`, read in one [`Style`].
pub struct Schemas {
    by_name: BTreeMap<String, Schema>,
    style: Style,
}

/// Removes `//` comments (outside strings), which Kafka's files carry.
fn strip_comments(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let mut in_string = false;
        let mut escaped = false;
        let mut cut = line.len();
        let bytes = line.as_bytes();
        for (i, &b) in bytes.iter().enumerate() {
            if in_string {
                if escaped {
                    escaped = false;
                } else if b == b'\\' {
                    escaped = true;
                } else if b == b'"' {
                    in_string = false;
                }
            } else if b == b'"' {
                in_string = true;
            } else if b == b'/' && bytes.get(i + 1) == Some(&b'/') {
                cut = i;
                break;
            }
        }
        out.push_str(&line[..cut]);
        out.push('\n');
    }
    out
}

/// "0+", "1-2", "3" as an inclusive range; "none" (or absent) as empty.
fn versions(range: Option<&Value>) -> (i64, i64) {
    let text = range.and_then(Value::as_str).unwrap_or("none");
    if text == "none" || text.is_empty() {
        return (1, 0);
    }
    if let Some(low) = text.strip_suffix('+') {
        return (low.parse().unwrap(), i64::MAX);
    }
    match text.split_once('-') {
        Some((low, high)) => (low.parse().unwrap(), high.parse().unwrap()),
        None => {
            let v = text.parse().unwrap();
            (v, v)
        }
    }
}

/// Whether `version` is in the range of `spec[key]`.
fn in_range(spec: &Value, key: &str, version: i64) -> bool {
    let (low, high) = versions(spec.get(key));
    (low..=high).contains(&version)
}

/// The highest version a range names ("0-3" → 3, "0+" → 0).
fn high_version(range: &Value) -> i64 {
    let s = range.as_str().unwrap().trim_end_matches('+');
    s.rsplit('-').next().unwrap().parse().unwrap()
}

fn tag_of(field: &Value) -> Option<u64> {
    match &field["tag"] {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn camel(name: &str) -> String {
    let mut chars = name.chars();
    chars
        .next()
        .map(|f| f.to_lowercase().chain(chars).collect())
        .unwrap_or_default()
}

fn b64(bytes: &[u8]) -> Value {
    json!(base64::engine::general_purpose::STANDARD.encode(bytes))
}

/// A field's schema default, as a JSON value of its type.
fn default_of(field: &Value) -> Value {
    let ty = field["type"].as_str().unwrap();
    match field.get("default") {
        None | Some(Value::Null) => match ty {
            "int8" | "int16" | "int32" | "int64" => json!(0),
            _ => Value::Null,
        },
        Some(Value::String(s)) if s == "null" => Value::Null,
        Some(Value::String(s)) => s.parse::<i64>().map(|n| json!(n)).unwrap_or(json!(s)),
        Some(v) => v.clone(),
    }
}

/// Bounds-checked reads of the protocol's primitives.
struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Cursor { bytes, at: 0 }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.bytes.len());
        let end = end.ok_or_else(|| format!("{n} bytes past the end at byte {}", self.at))?;
        let s = &self.bytes[self.at..end];
        self.at = end;
        Ok(s)
    }

    /// A big-endian signed integer of `n` bytes.
    fn int(&mut self, n: usize) -> Result<i64, String> {
        let b = self.take(n)?;
        let mut v: i64 = if b[0] & 0x80 != 0 { -1 } else { 0 };
        for &x in b {
            v = (v << 8) | i64::from(x);
        }
        Ok(v)
    }

    fn uvarint(&mut self) -> Result<u64, String> {
        let mut v = 0u64;
        for shift in (0..35).step_by(7) {
            let b = self.take(1)?[0];
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err("varint too long".into())
    }

    /// A length: compact (uvarint − 1) when flexible, else int32 or int16;
    /// −1 is null.
    fn length(&mut self, flexible: bool, wide: bool) -> Result<i64, String> {
        if flexible {
            Ok(self.uvarint()? as i64 - 1)
        } else if wide {
            self.int(4)
        } else {
            self.int(2)
        }
    }

    fn left(&self) -> usize {
        self.bytes.len() - self.at
    }
}

impl Schemas {
    /// Loads every `*.json` in `dir`.
    pub fn load(dir: &Path, style: Style) -> Schemas {
        let mut by_name = BTreeMap::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let root: Value = serde_json::from_str(&strip_comments(&text))
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let name = root["name"].as_str().unwrap().to_owned();
            let schema = Schema {
                name: name.clone(),
                api_key: root["apiKey"].as_u64(),
                kind: root["type"].as_str().map(str::to_owned),
                valid_versions: versions(root.get("validVersions")),
                root,
            };
            by_name.insert(name, schema);
        }
        Schemas { by_name, style }
    }

    /// Every schema, by name.
    pub fn iter(&self) -> impl Iterator<Item = &Schema> {
        self.by_name.values()
    }

    /// The schema called `name`.
    pub fn get(&self, name: &str) -> Option<&Schema> {
        self.by_name.get(name)
    }

    /// The key schema (`*Key`) whose validVersions hold `version`, among
    /// the names starting with one of `prefixes`.
    pub fn key_schema(&self, version: i16, prefixes: &[&str]) -> Option<&str> {
        self.by_name
            .iter()
            .filter(|(n, _)| n.ends_with("Key") && prefixes.iter().any(|p| n.starts_with(p)))
            .find(|(_, s)| in_range(&s.root, "validVersions", i64::from(version)))
            .map(|(n, _)| n.as_str())
    }

    /// Decodes a whole key or value: int16 version, then the named
    /// message's fields. `{"version": v, fields…}`.
    pub fn decode_message(&self, name: &str, bytes: &[u8]) -> Result<Value, String> {
        let schema = self.schema(name)?;
        let mut c = Cursor::new(bytes);
        let version = c.int(2)?;
        if !in_range(&schema.root, "validVersions", version) {
            return Err(format!("{name}: version {version} not valid"));
        }
        let mut out = self.decode_body(schema, version, &mut c)?;
        out.as_object_mut()
            .unwrap()
            .insert("version".into(), json!(version));
        Ok(out)
    }

    /// Decodes an embedded message with its int16 version (the consumer
    /// protocol), reading newer versions with the newest layout, as Kafka
    /// does.
    pub fn decode_embedded(&self, name: &str, bytes: &[u8]) -> Result<Value, String> {
        let schema = self.schema(name)?;
        let mut c = Cursor::new(bytes);
        let version = c.int(2)?;
        let layout = version.min(high_version(&schema.root["validVersions"]));
        let mut out = self.decode_body(schema, layout, &mut c)?;
        out.as_object_mut()
            .unwrap()
            .insert("version".into(), json!(version));
        Ok(out)
    }

    /// Decodes a message of `name` in `version`, without a version prefix.
    pub fn decode(&self, name: &str, bytes: &[u8], version: i64) -> Result<Value, String> {
        let schema = self.schema(name)?;
        self.decode_body(schema, version, &mut Cursor::new(bytes))
    }

    /// Decodes a whole `__cluster_metadata` value (frame version 1, api
    /// key, version, message) into `{"type": <schema name>, "version": v,
    /// "data": {...}}`.
    pub fn decode_metadata_value(&self, value: &[u8]) -> Result<Value, String> {
        let mut c = Cursor::new(value);
        let frame = c.uvarint()?;
        if frame != 1 {
            return Err(format!("frame version {frame}"));
        }
        let api_key = c.uvarint()?;
        let version = i64::try_from(c.uvarint()?).unwrap();
        let schema = self
            .iter()
            .find(|s| s.api_key == Some(api_key) && s.kind.as_deref() == Some("metadata"))
            .ok_or_else(|| format!("no schema for api key {api_key}"))?;
        let (min, max) = schema.valid_versions;
        if !(min..=max).contains(&version) {
            return Err(format!("{} version {version} not valid", schema.name));
        }
        let data = self.decode_body(schema, version, &mut c)?;
        Ok(json!({"type": schema.name, "version": version, "data": data}))
    }

    fn schema(&self, name: &str) -> Result<&Schema, String> {
        self.by_name
            .get(name)
            .ok_or_else(|| format!("no schema {name}"))
    }

    /// A message's fields; in the strict style every byte must be used.
    fn decode_body(
        &self,
        schema: &Schema,
        version: i64,
        c: &mut Cursor<'_>,
    ) -> Result<Value, String> {
        let value = self.decode_struct(&schema.root, &schema.root, version, c)?;
        if self.style.strict && c.left() > 0 {
            return Err(format!("{}: {} bytes left", schema.name, c.left()));
        }
        Ok(value)
    }

    fn field_name(&self, field: &Value) -> String {
        let name = field["name"].as_str().unwrap();
        if self.style.camel_case_names {
            camel(name)
        } else {
            name.to_owned()
        }
    }

    fn decode_struct(
        &self,
        message: &Value,
        spec: &Value,
        version: i64,
        c: &mut Cursor<'_>,
    ) -> Result<Value, String> {
        let flexible = in_range(message, "flexibleVersions", version);
        let mut out = Map::new();
        let mut tagged = Vec::new();
        for field in spec["fields"].as_array().unwrap() {
            let is_tagged = flexible && in_range(field, "taggedVersions", version);
            // A tagged field may leave `versions` out: its taggedVersions.
            let in_version = match field.get("versions") {
                Some(_) => in_range(field, "versions", version),
                None => is_tagged,
            };
            if !in_version {
                continue;
            }
            if is_tagged {
                tagged.push(field);
                continue;
            }
            let name = self.field_name(field);
            let value = self
                .decode_field(message, field, version, flexible, c)
                .map_err(|e| format!("{name}: {e}"))?;
            out.insert(name, value);
        }
        if !flexible {
            return Ok(Value::Object(out));
        }
        // Tagged fields in the order of the bytes: a repeated tag's last
        // value stands, as when Kafka's generated readers meet one.
        let mut seen = Vec::new();
        let mut unknown = Vec::new();
        for _ in 0..c.uvarint()? {
            let tag = c.uvarint()?;
            let size = usize::try_from(c.uvarint()?).unwrap();
            let data = c.take(size)?;
            let Some(field) = tagged.iter().find(|f| tag_of(f) == Some(tag)) else {
                unknown.push(json!({"tag": tag, "data": b64(data)}));
                continue;
            };
            let name = self.field_name(field);
            let mut sub = Cursor::new(data);
            let value = self.decode_field(message, field, version, true, &mut sub)?;
            if self.style.strict && sub.left() > 0 {
                return Err(format!("tagged field {name}: bytes left"));
            }
            out.insert(name, value);
            seen.push(tag);
        }
        if self.style.absent_tagged_as_default {
            for field in tagged
                .iter()
                .filter(|f| !seen.contains(&tag_of(f).unwrap()))
            {
                out.insert(self.field_name(field), default_of(field));
            }
        }
        if self.style.list_unknown_tags && !unknown.is_empty() {
            out.insert("_unknownTaggedFields".into(), Value::Array(unknown));
        }
        Ok(Value::Object(out))
    }

    fn struct_spec<'s>(
        &'s self,
        message: &'s Value,
        field: &'s Value,
        type_name: &str,
    ) -> Result<&'s Value, String> {
        if field.get("fields").is_some() {
            return Ok(field);
        }
        message["commonStructs"]
            .as_array()
            .and_then(|s| s.iter().find(|s| s["name"] == type_name))
            .ok_or_else(|| format!("unknown type {type_name}"))
    }

    fn decode_field(
        &self,
        message: &Value,
        field: &Value,
        version: i64,
        flexible: bool,
        c: &mut Cursor<'_>,
    ) -> Result<Value, String> {
        let ty = field["type"].as_str().unwrap();
        let nullable = in_range(field, "nullableVersions", version);
        if let Some(element) = ty.strip_prefix("[]") {
            let n = c.length(flexible, true)?;
            if n < 0 {
                return if nullable {
                    Ok(Value::Null)
                } else {
                    Err("null array".into())
                };
            }
            let mut items = Vec::new();
            for _ in 0..n {
                items.push(self.decode_type(message, field, element, version, flexible, false, c)?);
            }
            return Ok(Value::Array(items));
        }
        self.decode_type(message, field, ty, version, flexible, nullable, c)
    }

    #[allow(clippy::too_many_arguments)]
    fn decode_type(
        &self,
        message: &Value,
        field: &Value,
        ty: &str,
        version: i64,
        flexible: bool,
        nullable: bool,
        c: &mut Cursor<'_>,
    ) -> Result<Value, String> {
        Ok(match ty {
            "int8" => json!(c.int(1)?),
            "int16" => json!(c.int(2)?),
            "int32" => json!(c.int(4)?),
            "int64" => json!(c.int(8)?),
            "uint16" => json!(c.int(2)? & 0xffff),
            "float64" => json!(f64::from_be_bytes(c.take(8)?.try_into().unwrap())),
            "bool" => match c.take(1)?[0] {
                0 => json!(false),
                1 => json!(true),
                b if self.style.strict => return Err(format!("bool {b}")),
                _ => json!(true),
            },
            "uuid" => json!(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(c.take(16)?)),
            "string" | "bytes" => {
                let n = c.length(flexible, ty == "bytes")?;
                if n < 0 {
                    if !nullable {
                        return Err(format!("null {ty}"));
                    }
                    return Ok(Value::Null);
                }
                let data = c.take(n as usize)?;
                if ty == "string" {
                    json!(std::str::from_utf8(data).map_err(|e| e.to_string())?)
                } else {
                    b64(data)
                }
            }
            struct_name => {
                if nullable && field.get("tag").is_none() {
                    // A nullable struct: int8 −1 null, 1 present (a tagged
                    // one is null by being absent).
                    if c.int(1)? < 0 {
                        return Ok(Value::Null);
                    }
                }
                let spec = self.struct_spec(message, field, struct_name)?;
                self.decode_struct(message, spec, version, c)?
            }
        })
    }
}
