//! Record values as typed columns in exported files
//! ([`ValueColumns`]): `utf8` makes `value` a string column; `json` reads each
//! value as a JSON object whose fields become top-level columns (a schema
//! given, or inferred from a sample with [`infer_json_fields`]), parsed by
//! arrow-json's decoder.
//!
//! A value that does not fit (not UTF-8, not a JSON object, a field the
//! schema lacks, a type it cannot take) is an [`Error::ValueMismatch`]
//! naming its partition and offset, the rows before it still written; or,
//! with [`OnMismatch::Raw`], its typed columns are null and its bytes go to a
//! `_raw` column. A null value (a tombstone) has null typed columns.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Int32Type, Int64Type};
use arrow_array::{Array, ArrayRef, BinaryArray, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema, SchemaRef};

use crate::error::{Error, Result};

/// The column a value that does not fit goes to ([`OnMismatch::Raw`]).
pub const RAW_COLUMN: &str = "_raw";

/// What a value that does not fit its columns does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnMismatch {
    /// Ends the export of its partition with [`Error::ValueMismatch`].
    #[default]
    Error,
    /// Null typed columns, the value's bytes in [`RAW_COLUMN`].
    Raw,
}

#[derive(Debug, Clone)]
enum Kind {
    Utf8,
    /// The fields as the decoder reads them (names as in the JSON).
    Json(SchemaRef),
}

/// How the `value` column of the export schema becomes typed columns.
#[derive(Debug, Clone)]
pub struct ValueColumns {
    kind: Kind,
    on_mismatch: OnMismatch,
    /// The export schema with `value` replaced.
    schema: SchemaRef,
    /// Where `value` is in the export schema.
    value_index: usize,
    /// JSON fields renamed: (name in the JSON, column name).
    renamed: Vec<(String, String)>,
}

impl ValueColumns {
    /// `value` as a nullable utf8 column.
    pub fn utf8(on_mismatch: OnMismatch) -> Self {
        Self::new(Kind::Utf8, on_mismatch, Vec::new())
    }

    /// Each JSON value's `fields` as top-level columns. A field named like
    /// one of the export's own columns (`offset`, `timestamp`, ...) is
    /// renamed `value_<name>`; [`renamed`](Self::renamed) lists them.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when `fields` is empty.
    pub fn json(fields: Schema, on_mismatch: OnMismatch) -> Result<Self> {
        if fields.fields().is_empty() {
            return Err(Error::Config(
                "the JSON values' schema has no fields".into(),
            ));
        }
        let decoded: Vec<Field> = fields
            .fields()
            .iter()
            .map(|f| f.as_ref().clone().with_nullable(true))
            .collect();
        let kind = Kind::Json(Arc::new(Schema::new(decoded.clone())));
        Ok(Self::new(kind, on_mismatch, decoded))
    }

    fn new(kind: Kind, on_mismatch: OnMismatch, decoded: Vec<Field>) -> Self {
        let base = crate::arrow::schema();
        let value_index = base.index_of("value").unwrap_or(base.fields().len());
        let taken: Vec<&str> = base
            .fields()
            .iter()
            .filter(|f| f.name() != "value")
            .map(|f| f.name().as_str())
            .chain([RAW_COLUMN])
            .collect();
        let mut fields: Vec<Field> = Vec::new();
        let mut renamed = Vec::new();
        for (i, field) in base.fields().iter().enumerate() {
            if i != value_index {
                fields.push(field.as_ref().clone());
                continue;
            }
            match &kind {
                Kind::Utf8 => fields.push(Field::new("value", DataType::Utf8, true)),
                Kind::Json(_) => {
                    for f in &decoded {
                        if taken.contains(&f.name().as_str()) {
                            let name = format!("value_{}", f.name());
                            renamed.push((f.name().clone(), name.clone()));
                            fields.push(f.clone().with_name(name));
                        } else {
                            fields.push(f.clone());
                        }
                    }
                }
            }
        }
        if on_mismatch == OnMismatch::Raw {
            fields.push(Field::new(RAW_COLUMN, DataType::Binary, true));
        }
        ValueColumns {
            kind,
            on_mismatch,
            schema: Arc::new(Schema::new(fields)),
            value_index,
            renamed,
        }
    }

    /// The schema of the batches [`apply`](Self::apply) gives.
    pub fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    /// JSON fields renamed because the export has a column of that name:
    /// (name in the JSON, column name).
    pub fn renamed(&self) -> &[(String, String)] {
        &self.renamed
    }

    /// `batch` (in the export schema, keys and values binary) with its
    /// values as typed columns.
    ///
    /// # Errors
    ///
    /// With [`OnMismatch::Error`], the first value that does not fit, and
    /// the rows before it, converted.
    pub fn apply(&self, batch: &RecordBatch) -> std::result::Result<RecordBatch, Box<Mismatch>> {
        let values = values_of(batch.column(self.value_index));
        let fitted = match &self.kind {
            Kind::Utf8 => utf8_columns(&values),
            Kind::Json(decoded) => json_columns(decoded, &values),
        };
        let (typed, raw) = match (fitted, self.on_mismatch) {
            (Ok(typed), _) => (typed, None),
            (Err(bad), OnMismatch::Error) => {
                let row = bad.row;
                let (topic_partition, offset) = row_identity(batch, row);
                let before = self.apply(&batch.slice(0, row)).ok();
                return Err(Box::new(Mismatch {
                    error: Error::ValueMismatch {
                        topic_partition,
                        offset,
                        reason: bad.reason,
                    },
                    before,
                }));
            }
            (Err(_), OnMismatch::Raw) => {
                let fits: Vec<bool> = (0..values.len())
                    .map(|i| self.fits(&values[i..=i]))
                    .collect();
                let kept: Vec<Option<&[u8]>> = values
                    .iter()
                    .zip(&fits)
                    .map(|(v, fits)| if *fits { *v } else { None })
                    .collect();
                let typed = match &self.kind {
                    Kind::Utf8 => utf8_columns(&kept),
                    Kind::Json(decoded) => json_columns(decoded, &kept),
                };
                let Ok(typed) = typed else {
                    // Each kept value fit alone: they fit together.
                    let (topic_partition, offset) = row_identity(batch, 0);
                    return Err(Box::new(Mismatch {
                        error: Error::ValueMismatch {
                            topic_partition,
                            offset,
                            reason: "values that fit one by one do not fit together".into(),
                        },
                        before: None,
                    }));
                };
                let raw: BinaryArray = values
                    .iter()
                    .zip(&fits)
                    .map(|(v, fits)| if *fits { None } else { *v })
                    .collect();
                (typed, Some(Arc::new(raw) as ArrayRef))
            }
        };
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(self.schema.fields().len());
        for (i, column) in batch.columns().iter().enumerate() {
            if i == self.value_index {
                columns.extend(typed.iter().cloned());
            } else {
                columns.push(column.clone());
            }
        }
        columns.extend(raw);
        RecordBatch::try_new(self.schema.clone(), columns).map_err(|e| {
            Box::new(Mismatch {
                error: Error::Config(format!("typed value columns: {e}")),
                before: None,
            })
        })
    }

    /// Whether `values` (one, in the slow path) fit.
    fn fits(&self, values: &[Option<&[u8]>]) -> bool {
        match &self.kind {
            Kind::Utf8 => utf8_columns(values).is_ok(),
            Kind::Json(decoded) => json_columns(decoded, values).is_ok(),
        }
    }
}

/// A value that does not fit ([`ValueColumns::apply`]).
#[derive(Debug)]
pub struct Mismatch {
    /// [`Error::ValueMismatch`] naming the record.
    pub error: Error,
    /// The rows before it, converted (to be written before the error).
    pub before: Option<RecordBatch>,
}

/// The first value that does not fit, and why.
struct Bad {
    row: usize,
    reason: String,
}

/// The values of a `value` column, binary or binary view.
fn values_of(column: &ArrayRef) -> Vec<Option<&[u8]>> {
    if let Some(binary) = column.as_binary_opt::<i32>() {
        binary.iter().collect()
    } else if let Some(view) = column.as_binary_view_opt() {
        view.iter().collect()
    } else {
        vec![None; column.len()]
    }
}

/// The partition and offset of `row` (for the error).
fn row_identity(batch: &RecordBatch, row: usize) -> (String, i64) {
    let topic = batch
        .column_by_name("topic")
        .and_then(|c| c.as_dictionary_opt::<Int32Type>())
        .and_then(|d| {
            let key = d.keys().value(row);
            let names = d.values().as_string_opt::<i32>()?;
            usize::try_from(key)
                .ok()
                .map(|k| names.value(k).to_string())
        })
        .unwrap_or_default();
    let partition = batch
        .column_by_name("partition")
        .and_then(|c| c.as_primitive_opt::<Int32Type>())
        .map_or(-1, |p| p.value(row));
    let offset = batch
        .column_by_name("offset")
        .and_then(|c| c.as_primitive_opt::<Int64Type>())
        .map_or(-1, |o| o.value(row));
    (format!("{topic}-{partition}"), offset)
}

fn utf8_columns(values: &[Option<&[u8]>]) -> std::result::Result<Vec<ArrayRef>, Bad> {
    let mut strings: Vec<Option<&str>> = Vec::with_capacity(values.len());
    for (row, value) in values.iter().enumerate() {
        strings.push(match value {
            None => None,
            Some(bytes) => Some(std::str::from_utf8(bytes).map_err(|e| Bad {
                row,
                reason: format!("not UTF-8 ({e})"),
            })?),
        });
    }
    Ok(vec![Arc::new(StringArray::from(strings)) as ArrayRef])
}

/// The JSON values decoded into `decoded`'s columns; a null value gives a
/// row of nulls.
fn json_columns(
    decoded: &SchemaRef,
    values: &[Option<&[u8]>],
) -> std::result::Result<Vec<ArrayRef>, Bad> {
    let decode = |values: &[Option<&[u8]>]| -> std::result::Result<RecordBatch, String> {
        let mut decoder = arrow_json::ReaderBuilder::new(decoded.clone())
            .with_batch_size(values.len() + 1)
            .with_strict_mode(true)
            .build_decoder()
            .map_err(|e| e.to_string())?;
        for value in values {
            let bytes = value.unwrap_or(b"{}");
            let object = bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
            if !object {
                return Err("not a JSON object".into());
            }
            let used = decoder.decode(bytes).map_err(|e| e.to_string())?;
            if used != bytes.len() {
                return Err("more than one JSON value".into());
            }
            // Ends the value, so the next one cannot continue it.
            decoder.decode(b"\n").map_err(|e| e.to_string())?;
        }
        let batch = decoder.flush().map_err(|e| e.to_string())?;
        let batch = batch.unwrap_or_else(|| RecordBatch::new_empty(decoded.clone()));
        if batch.num_rows() != values.len() {
            return Err(format!(
                "{} values gave {} rows (a value holding several JSON objects)",
                values.len(),
                batch.num_rows()
            ));
        }
        Ok(batch)
    };
    match decode(values) {
        Ok(batch) => Ok(batch.columns().to_vec()),
        Err(reason) => {
            // Which one: the first that does not decode alone.
            let row = (0..values.len())
                .find(|&i| decode(&values[i..=i]).is_err())
                .unwrap_or(0);
            let reason = decode(&values[row..=row]).err().unwrap_or(reason);
            Err(Bad { row, reason })
        }
    }
}

/// The fields of JSON object values, inferred from `samples` (values that
/// are not JSON objects are passed over): integers as int64, other numbers
/// float64, strings utf8, booleans, nested objects as structs and arrays as
/// lists, as arrow-json infers them.
///
/// # Errors
///
/// [`Error::Config`] when no sample is a JSON object.
pub fn infer_json_fields<'a>(samples: impl IntoIterator<Item = &'a [u8]>) -> Result<Schema> {
    let objects: Vec<serde_json::Value> = samples
        .into_iter()
        .filter_map(|bytes| serde_json::from_slice::<serde_json::Value>(bytes).ok())
        .filter(serde_json::Value::is_object)
        .collect();
    if objects.is_empty() {
        return Err(Error::Config(
            "no value in the sample is a JSON object: no schema to infer".into(),
        ));
    }
    arrow_json::reader::infer_json_schema_from_iterator(objects.into_iter().map(Ok))
        .map_err(|e| Error::Config(format!("inferring the JSON values' schema: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::Float64Array;

    /// The export batch of records with these values (topic `t`,
    /// partition 0, offsets from 0), written and read back.
    fn batch_of(values: &[Option<&[u8]>]) -> RecordBatch {
        use crate::writer::{fill_offset_deltas, PartitionWriter, RecordSpec, WriterOptions};
        let dir = tempfile::tempdir().unwrap();
        let mut writer =
            PartitionWriter::open(dir.path(), "t", 0, WriterOptions::default()).unwrap();
        let mut records: Vec<RecordSpec> = values
            .iter()
            .map(|v| RecordSpec::new(1, None, *v))
            .collect();
        fill_offset_deltas(&mut records);
        writer.append(&records).unwrap();
        writer.close().unwrap();
        let mut consumer = crate::Consumer::new(crate::ConsumerConfig::new([dir.path()])).unwrap();
        let tp = crate::TopicPartition::new("t", 0);
        consumer.assign(std::slice::from_ref(&tp)).unwrap();
        consumer.seek_to_beginning(&[tp]).unwrap();
        let mut builder = crate::arrow::ArrowRecordBuilder::new();
        while builder.len() < values.len() {
            let polled = consumer.poll(std::time::Duration::from_secs(5)).unwrap();
            for batch in polled.batches() {
                let batch = batch.unwrap();
                for record in batch.records() {
                    builder.append(&batch, &record.unwrap());
                }
            }
        }
        builder.finish()
    }

    fn metrics() -> Schema {
        Schema::new(vec![
            Field::new("host", DataType::Utf8, true),
            Field::new("cpu", DataType::Float64, true),
            Field::new("offset", DataType::Int64, true),
        ])
    }

    #[test]
    fn json_fields_become_columns_and_a_clashing_name_is_renamed() {
        let columns = ValueColumns::json(metrics(), OnMismatch::Error).unwrap();
        let batch = batch_of(&[
            Some(br#"{"host":"web-1","cpu":0.5,"offset":7}"#),
            None,
            Some(br#"{"cpu":2}"#),
        ]);
        let out = columns.apply(&batch).unwrap();
        assert!(out.schema().field_with_name("value").is_err());
        let host = out.column_by_name("host").unwrap().as_string::<i32>();
        assert_eq!(host.iter().collect::<Vec<_>>(), [Some("web-1"), None, None]);
        let cpu = out.column_by_name("cpu").unwrap();
        let cpu = cpu.as_any().downcast_ref::<Float64Array>().unwrap();
        assert_eq!(cpu.iter().collect::<Vec<_>>(), [Some(0.5), None, Some(2.0)]);
        let clash = out.column_by_name("value_offset").unwrap();
        assert_eq!(clash.as_primitive::<Int64Type>().value(0), 7);
        assert_eq!(
            columns.renamed(),
            [("offset".to_string(), "value_offset".to_string())]
        );
    }

    #[test]
    fn a_value_that_does_not_fit_names_its_offset_and_keeps_the_rows_before() {
        let columns = ValueColumns::json(metrics(), OnMismatch::Error).unwrap();
        for bad in [
            &br#"{"host":"a","disk":1}"#[..],
            br#"{"cpu":"high"}"#,
            b"not json",
            b"[1,2]",
            br#"{"cpu":1}{"cpu":2}"#,
        ] {
            let batch = batch_of(&[Some(br#"{"cpu":1}"#), Some(br#"{"cpu":2}"#), Some(bad)]);
            let mismatch = columns.apply(&batch).unwrap_err();
            let text = mismatch.error.to_string();
            assert!(text.contains("offset 2"), "{text}");
            assert_eq!(mismatch.before.unwrap().num_rows(), 2, "{text}");
        }
    }

    #[test]
    fn raw_keeps_what_does_not_fit_in_its_own_column() {
        let columns = ValueColumns::json(metrics(), OnMismatch::Raw).unwrap();
        let batch = batch_of(&[Some(br#"{"cpu":1}"#), Some(b"oops"), Some(br#"{"cpu":3}"#)]);
        let out = columns.apply(&batch).unwrap();
        let raw = out.column_by_name(RAW_COLUMN).unwrap().as_binary::<i32>();
        assert_eq!(
            raw.iter().collect::<Vec<_>>(),
            [None, Some(&b"oops"[..]), None]
        );
        let cpu = out.column_by_name("cpu").unwrap();
        assert_eq!(cpu.null_count(), 1);
    }

    #[test]
    fn utf8_values_are_strings_and_invalid_utf8_does_not_fit() {
        let columns = ValueColumns::utf8(OnMismatch::Error);
        let out = columns
            .apply(&batch_of(&[Some(b"caf\xc3\xa9"), None]))
            .unwrap();
        let value = out.column_by_name("value").unwrap().as_string::<i32>();
        assert_eq!(value.iter().collect::<Vec<_>>(), [Some("café"), None]);
        let mismatch = columns
            .apply(&batch_of(&[Some(b"ok"), Some(b"\xff")]))
            .unwrap_err();
        assert!(mismatch.error.to_string().contains("not UTF-8"));
    }

    #[test]
    fn inference_types_the_fields_of_the_objects_sampled() {
        let samples: [&[u8]; 3] = [
            br#"{"host":"a","cpu":1,"memory":2048}"#,
            br#"{"host":"b","cpu":1.5}"#,
            b"plain text",
        ];
        let schema = infer_json_fields(samples).unwrap();
        let kind = |n: &str| schema.field_with_name(n).unwrap().data_type().clone();
        assert_eq!(kind("host"), DataType::Utf8);
        assert_eq!(kind("cpu"), DataType::Float64);
        assert_eq!(kind("memory"), DataType::Int64);
        assert!(infer_json_fields([&b"1"[..]]).is_err());
    }
}
