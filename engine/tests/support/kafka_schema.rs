//! An independent decoder for the tests: a small generic interpreter of
//! Kafka's JSON message schemas (`fixtures/kafka-schemas/*.json`), written
//! from the schema format (versions, nullableVersions, flexibleVersions,
//! taggedVersions, arrays of structs, commonStructs), sharing no code with
//! `kreplay::state`. Bytes become standard base64, uuids Kafka's url-safe
//! base64, so its output compares with the engine's JSON directly.
#![allow(dead_code, clippy::unwrap_used, clippy::indexing_slicing)]

use std::collections::BTreeMap;
use std::path::Path;

use base64::Engine as _;
use serde_json::{json, Map, Value};

/// The schema files, by `name`.
pub struct Schemas {
    by_name: BTreeMap<String, Value>,
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

/// Whether `version` is in a schema range: "0+", "1-3", "2", "none".
fn in_range(range: Option<&Value>, version: i16) -> bool {
    let Some(range) = range.and_then(Value::as_str) else {
        return false;
    };
    if range == "none" {
        return false;
    }
    if let Some(low) = range.strip_suffix('+') {
        return version >= low.parse::<i16>().unwrap();
    }
    if let Some((low, high)) = range.split_once('-') {
        return (low.parse::<i16>().unwrap()..=high.parse::<i16>().unwrap()).contains(&version);
    }
    version == range.parse::<i16>().unwrap()
}

fn high_version(range: &Value) -> i16 {
    let s = range.as_str().unwrap();
    let s = s.trim_end_matches('+');
    s.rsplit('-').next().unwrap().parse().unwrap()
}

struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Cursor<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], String> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.bytes.len());
        let end = end.ok_or_else(|| format!("truncated at byte {}", self.at))?;
        let s = &self.bytes[self.at..end];
        self.at = end;
        Ok(s)
    }

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

    /// A length: int16/int32 or compact (uvarint − 1); −1 is null.
    fn length(&mut self, flexible: bool, wide: bool) -> Result<i64, String> {
        if flexible {
            Ok(self.uvarint()? as i64 - 1)
        } else if wide {
            self.int(4)
        } else {
            self.int(2)
        }
    }
}

fn b64(bytes: &[u8]) -> Value {
    json!(base64::engine::general_purpose::STANDARD.encode(bytes))
}

impl Schemas {
    /// Loads every `*.json` in `dir`.
    pub fn load(dir: &Path) -> Schemas {
        let mut by_name = BTreeMap::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "json") {
                let text = std::fs::read_to_string(&path).unwrap();
                let schema: Value = serde_json::from_str(&strip_comments(&text))
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                by_name.insert(schema["name"].as_str().unwrap().to_owned(), schema);
            }
        }
        Schemas { by_name }
    }

    /// The key schema (`*Key`) whose validVersions hold `version`, among
    /// the names starting with one of `prefixes`.
    pub fn key_schema(&self, version: i16, prefixes: &[&str]) -> Option<&str> {
        self.by_name
            .iter()
            .filter(|(n, _)| n.ends_with("Key") && prefixes.iter().any(|p| n.starts_with(p)))
            .find(|(_, s)| in_range(s.get("validVersions"), version))
            .map(|(n, _)| n.as_str())
    }

    /// Decodes a whole key or value: int16 version, then the named
    /// message's fields. `{"version": v, fields…}`.
    pub fn decode_message(&self, name: &str, bytes: &[u8]) -> Result<Value, String> {
        let schema = &self.by_name[name];
        let mut c = Cursor { bytes, at: 0 };
        let version = c.int(2)? as i16;
        if !in_range(schema.get("validVersions"), version) {
            return Err(format!("{name}: version {version} not valid"));
        }
        let mut out = self.decode_struct(schema, schema, version, &mut c)?;
        out.as_object_mut()
            .unwrap()
            .insert("version".into(), json!(version));
        Ok(out)
    }

    /// Decodes a non-flexible embedded message (the consumer protocol),
    /// reading newer versions with the newest layout, as Kafka does.
    pub fn decode_embedded(&self, name: &str, bytes: &[u8]) -> Result<Value, String> {
        let schema = &self.by_name[name];
        let mut c = Cursor { bytes, at: 0 };
        let version = c.int(2)? as i16;
        let layout = version.min(high_version(&schema["validVersions"]));
        let mut out = self.decode_struct(schema, schema, layout, &mut c)?;
        out.as_object_mut()
            .unwrap()
            .insert("version".into(), json!(version));
        Ok(out)
    }

    fn decode_struct(
        &self,
        message: &Value,
        spec: &Value,
        version: i16,
        c: &mut Cursor<'_>,
    ) -> Result<Value, String> {
        let flexible = in_range(message.get("flexibleVersions"), version);
        let mut out = Map::new();
        let mut tagged = Vec::new();
        for field in spec["fields"].as_array().unwrap() {
            let name = field["name"].as_str().unwrap().to_owned();
            if flexible && in_range(field.get("taggedVersions"), version) {
                tagged.push(field);
                continue;
            }
            if !in_range(field.get("versions"), version) {
                continue;
            }
            let value = self.decode_field(message, field, version, flexible, c)?;
            out.insert(name, value);
        }
        if flexible {
            let mut present = BTreeMap::new();
            for _ in 0..c.uvarint()? {
                let tag = c.uvarint()?;
                let size = c.uvarint()? as usize;
                present.insert(tag, c.take(size)?.to_vec());
            }
            for field in tagged {
                let name = field["name"].as_str().unwrap().to_owned();
                let tag = field["tag"].as_u64().unwrap();
                let value = match present.get(&tag) {
                    Some(data) => {
                        let mut sub = Cursor { bytes: data, at: 0 };
                        self.decode_field(message, field, version, true, &mut sub)?
                    }
                    None => default_of(field),
                };
                out.insert(name, value);
            }
        }
        Ok(Value::Object(out))
    }

    fn struct_spec<'s>(
        &'s self,
        message: &'s Value,
        field: &'s Value,
        type_name: &str,
    ) -> &'s Value {
        if field.get("fields").is_some() {
            return field;
        }
        message["commonStructs"]
            .as_array()
            .and_then(|s| s.iter().find(|s| s["name"] == type_name))
            .unwrap_or_else(|| panic!("no struct {type_name}"))
    }

    fn decode_field(
        &self,
        message: &Value,
        field: &Value,
        version: i16,
        flexible: bool,
        c: &mut Cursor<'_>,
    ) -> Result<Value, String> {
        let ty = field["type"].as_str().unwrap();
        let nullable = in_range(field.get("nullableVersions"), version);
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
        version: i16,
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
            "bool" => json!(c.take(1)?[0] != 0),
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
                let spec = self.struct_spec(message, field, struct_name);
                self.decode_struct(message, spec, version, c)?
            }
        })
    }
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
