//! An independent decoder of KRaft metadata values: a generic interpreter
//! of Kafka's JSON message schemas (`fixtures/kafka-schemas/metadata/`),
//! written from the schema format alone and sharing no code with the
//! engine's typed records. Output follows Kafka's generated
//! `*JsonConverter`s: camel-case names, uuids in URL-safe base64, bytes in
//! standard base64, fields absent from the version left out, tagged fields
//! shown when present in the bytes (Kafka never writes a default one).
#![allow(dead_code, clippy::unwrap_used, clippy::indexing_slicing)]

use std::collections::BTreeMap;
use std::path::Path;

use base64::Engine as _;
use serde_json::{Map, Value};

/// A parsed schema: its name, api key (metadata records) and fields.
pub struct Schema {
    pub name: String,
    pub api_key: Option<u64>,
    pub valid_versions: (i64, i64),
    root: Value,
    common: BTreeMap<String, Value>,
}

/// Every schema in `dir`, by name.
pub fn load_schemas(dir: &Path) -> BTreeMap<String, Schema> {
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let text: String = std::fs::read_to_string(&path)
            .unwrap()
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        let root: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path:?}: {e}"));
        assert_eq!(
            root["flexibleVersions"], "0+",
            "{path:?}: only flexible schemas"
        );
        let mut common = BTreeMap::new();
        for s in root["commonStructs"].as_array().into_iter().flatten() {
            common.insert(s["name"].as_str().unwrap().to_string(), s.clone());
        }
        let name = root["name"].as_str().unwrap().to_string();
        out.insert(
            name.clone(),
            Schema {
                name,
                api_key: root["apiKey"].as_u64(),
                valid_versions: versions(root["validVersions"].as_str().unwrap()),
                root,
                common,
            },
        );
    }
    out
}

/// "0+", "1-2", "3" as an inclusive range; "none" (or absent) as empty.
fn versions(text: &str) -> (i64, i64) {
    if text == "none" || text.is_empty() {
        return (1, 0);
    }
    if let Some(min) = text.strip_suffix('+') {
        return (min.parse().unwrap(), i64::MAX);
    }
    match text.split_once('-') {
        Some((a, b)) => (a.parse().unwrap(), b.parse().unwrap()),
        None => {
            let v = text.parse().unwrap();
            (v, v)
        }
    }
}

fn in_versions(field: &Value, key: &str, version: i64) -> bool {
    let (min, max) = versions(field[key].as_str().unwrap_or("none"));
    (min..=max).contains(&version)
}

struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Cursor<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], String> {
        let end = self.at.checked_add(n).ok_or("overflow")?;
        let slice = self
            .bytes
            .get(self.at..end)
            .ok_or_else(|| format!("{n} bytes past the end at {}", self.at))?;
        self.at = end;
        Ok(slice)
    }
    fn uvarint(&mut self) -> Result<u64, String> {
        let mut value = 0u64;
        for shift in (0..35).step_by(7) {
            let b = self.take(1)?[0];
            value |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err("varint too long".into())
    }
    fn be<const N: usize>(&mut self) -> Result<[u8; N], String> {
        Ok(self.take(N)?.try_into().unwrap())
    }
}

impl Schema {
    /// Decodes one message of this schema in `version`; the whole of `bytes`
    /// must be used.
    pub fn decode(&self, bytes: &[u8], version: i64) -> Result<Value, String> {
        let mut c = Cursor { bytes, at: 0 };
        let value = self.read_struct(&mut c, self.root["fields"].as_array().unwrap(), version)?;
        if c.at != bytes.len() {
            return Err(format!("{} bytes left", bytes.len() - c.at));
        }
        Ok(value)
    }

    fn read_struct(
        &self,
        c: &mut Cursor<'_>,
        fields: &[Value],
        version: i64,
    ) -> Result<Value, String> {
        let mut out = Map::new();
        for field in fields {
            if !in_versions(field, "versions", version)
                || in_versions(field, "taggedVersions", version)
            {
                continue;
            }
            let name = camel(field["name"].as_str().unwrap());
            let value = self
                .read_field(c, field, version)
                .map_err(|e| format!("{name}: {e}"))?;
            out.insert(name, value);
        }
        let count = c.uvarint()?;
        for _ in 0..count {
            let tag = c.uvarint()?;
            let size = usize::try_from(c.uvarint()?).unwrap();
            let data = c.take(size)?;
            let field = fields.iter().find(|f| {
                in_versions(f, "taggedVersions", version)
                    && in_versions(f, "versions", version)
                    && tag_of(f) == Some(tag)
            });
            match field {
                Some(field) => {
                    let mut sub = Cursor { bytes: data, at: 0 };
                    let value = self.read_field(&mut sub, field, version)?;
                    if sub.at != data.len() {
                        return Err(format!("tagged field {tag}: bytes left"));
                    }
                    out.insert(camel(field["name"].as_str().unwrap()), value);
                }
                None => {
                    out.entry("_unknownTaggedFields")
                        .or_insert_with(|| Value::Array(Vec::new()))
                        .as_array_mut()
                        .unwrap()
                        .push(serde_json::json!({"tag": tag, "data": b64(data)}));
                }
            }
        }
        Ok(Value::Object(out))
    }

    fn read_field(&self, c: &mut Cursor<'_>, field: &Value, version: i64) -> Result<Value, String> {
        let ty = field["type"].as_str().unwrap();
        let nullable = in_versions(field, "nullableVersions", version);
        if let Some(element) = ty.strip_prefix("[]") {
            let n = c.uvarint()?;
            if n == 0 {
                return if nullable {
                    Ok(Value::Null)
                } else {
                    Err("null array".into())
                };
            }
            let mut items = Vec::new();
            for _ in 0..n - 1 {
                items.push(self.read_type(c, element, field, version)?);
            }
            return Ok(Value::Array(items));
        }
        let value = self.read_type(c, ty, field, version)?;
        if value.is_null() && !nullable {
            return Err("null for a non-nullable field".into());
        }
        Ok(value)
    }

    fn read_type(
        &self,
        c: &mut Cursor<'_>,
        ty: &str,
        field: &Value,
        version: i64,
    ) -> Result<Value, String> {
        Ok(match ty {
            "int8" => Value::from(i8::from_be_bytes(c.be()?)),
            "int16" => Value::from(i16::from_be_bytes(c.be()?)),
            "uint16" => Value::from(u16::from_be_bytes(c.be()?)),
            "int32" => Value::from(i32::from_be_bytes(c.be()?)),
            "int64" => Value::from(i64::from_be_bytes(c.be()?)),
            "float64" => Value::from(f64::from_be_bytes(c.be()?)),
            "bool" => match c.take(1)?[0] {
                0 => Value::Bool(false),
                1 => Value::Bool(true),
                b => return Err(format!("bool {b}")),
            },
            "uuid" => {
                Value::String(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(c.take(16)?))
            }
            "string" | "bytes" => {
                let n = c.uvarint()?;
                if n == 0 {
                    return Ok(Value::Null);
                }
                let data = c.take(usize::try_from(n - 1).unwrap())?;
                if ty == "string" {
                    Value::String(String::from_utf8(data.to_vec()).map_err(|e| e.to_string())?)
                } else {
                    Value::String(b64(data))
                }
            }
            name => {
                // A struct: inline fields, or a common struct.
                let fields = match field["fields"].as_array() {
                    Some(fields) => fields.clone(),
                    None => self
                        .common
                        .get(name)
                        .ok_or_else(|| format!("unknown type {name}"))?["fields"]
                        .as_array()
                        .unwrap()
                        .clone(),
                };
                self.read_struct(c, &fields, version)?
            }
        })
    }
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

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Decodes a whole `__cluster_metadata` value (frame version 1, api key,
/// version, message) into `{"type": <schema name>, "version": v, "data": {...}}`.
pub fn decode_metadata_value(
    schemas: &BTreeMap<String, Schema>,
    value: &[u8],
) -> Result<Value, String> {
    let mut c = Cursor {
        bytes: value,
        at: 0,
    };
    let frame = c.uvarint()?;
    if frame != 1 {
        return Err(format!("frame version {frame}"));
    }
    let api_key = c.uvarint()?;
    let version = i64::try_from(c.uvarint()?).unwrap();
    let schema = schemas
        .values()
        .find(|s| s.api_key == Some(api_key) && s.root["type"] == "metadata")
        .ok_or_else(|| format!("no schema for api key {api_key}"))?;
    let (min, max) = schema.valid_versions;
    if !(min..=max).contains(&version) {
        return Err(format!("{} version {version} not valid", schema.name));
    }
    let data = schema.decode(&value[c.at..], version)?;
    Ok(serde_json::json!({"type": schema.name, "version": version, "data": data}))
}
