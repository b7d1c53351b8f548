//! `export --value-format utf8|json`: the values' columns, from `--schema
//! FILE` or inferred from the first `--infer-records` values of the
//! partitions exported (read from where the export starts).

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use arrow_schema::{DataType, Field, Schema};
use clap::{Args, ValueEnum};
use kreplay::export::{infer_json_fields, OnMismatch, ValueColumns};
use kreplay::{Consumer, ConsumerConfig, TopicPartition};
use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

use crate::shared_args::StartOffset;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum ValueFormat {
    /// The value's bytes (binary column `value`).
    #[default]
    Raw,
    /// The value as text (utf8 column `value`).
    Utf8,
    /// Each value a JSON object, its fields top-level columns.
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum OnMismatchArg {
    /// A value that does not fit ends its partition's export (exit 1).
    #[default]
    Error,
    /// A value that does not fit goes to the `_raw` column, its typed columns null.
    Raw,
}

/// The flags of `export` for values.
#[derive(Debug, Args)]
pub struct ValueArgs {
    /// How values become columns: raw (binary `value`), utf8 (text `value`) or json
    /// (each value a JSON object, its fields columns; see --schema).
    #[arg(long, value_enum, value_name = "FORMAT", default_value_t = ValueFormat::Raw)]
    pub value_format: ValueFormat,
    /// json: the columns, a JSON object of name to type (utf8, int64, int32, float64, bool),
    /// e.g. {"host": "utf8", "cpu": "float64"} [default: inferred from --infer-records values].
    #[arg(long, value_name = "FILE")]
    pub schema: Option<PathBuf>,
    /// json without --schema: the values sampled to infer the columns.
    #[arg(long, value_name = "N", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    pub infer_records: u64,
    /// A value that does not fit its columns: error (exit 1, naming partition and offset;
    /// the records before it exported) or raw (kept in a `_raw` column).
    #[arg(long, value_enum, value_name = "POLICY", default_value_t = OnMismatchArg::Error)]
    pub on_mismatch: OnMismatchArg,
}

/// The values' columns for an export of `partitions` from `start`; `None`
/// for raw values.
pub fn value_columns(
    args: &ValueArgs,
    consumer: &ConsumerConfig,
    partitions: &[TopicPartition],
    start: StartOffset,
) -> anyhow::Result<Option<ValueColumns>> {
    let on_mismatch = match args.on_mismatch {
        OnMismatchArg::Error => OnMismatch::Error,
        OnMismatchArg::Raw => OnMismatch::Raw,
    };
    let fields = match args.value_format {
        ValueFormat::Raw => return Ok(None),
        ValueFormat::Utf8 => return Ok(Some(ValueColumns::utf8(on_mismatch))),
        ValueFormat::Json => match &args.schema {
            Some(path) => read_schema(path)?,
            None => {
                let samples = sample(consumer, partitions, start, args.infer_records)
                    .context("reading the values --value-format json infers its columns from")?;
                infer_json_fields(samples.iter().map(Vec::as_slice))
                    .with_context(|| format!("from the first {} value(s)", samples.len()))?
            }
        },
    };
    Ok(Some(ValueColumns::json(fields, on_mismatch)?))
}

/// One line per column, for `-v`.
pub fn describe(columns: &ValueColumns) -> String {
    let mut out = Vec::new();
    for field in columns.schema().fields() {
        out.push(format!("{} {}", field.name(), field.data_type()));
    }
    out.join(", ")
}

/// The first `n` values of `partitions` from `start` (round the partitions,
/// as a consumer polls them).
fn sample(
    config: &ConsumerConfig,
    partitions: &[TopicPartition],
    start: StartOffset,
    n: u64,
) -> anyhow::Result<Vec<Vec<u8>>> {
    let mut config = config.clone();
    config.max_poll_records = 500;
    let mut consumer = Consumer::new(config)?;
    consumer.assign(partitions)?;
    crate::consume::position(&mut consumer, partitions, start)?;
    let mut samples = Vec::new();
    while (samples.len() as u64) < n {
        let polled = consumer.poll(Duration::from_millis(500))?;
        if polled.is_empty() {
            if consumer.at_end() {
                break;
            }
            continue;
        }
        for record in &polled {
            if let Some(value) = record?.record.value() {
                samples.push(value.to_vec());
            }
            if samples.len() as u64 >= n {
                break;
            }
        }
    }
    Ok(samples)
}

/// `--schema FILE`: a JSON object of column name to type, in file order.
fn read_schema(path: &Path) -> anyhow::Result<Schema> {
    let text = std::fs::read_to_string(path).with_context(|| format!("{}", path.display()))?;
    let columns: Columns = serde_json::from_str(&text).with_context(|| {
        format!(
            "{}: not a JSON object of column name to type",
            path.display()
        )
    })?;
    let mut fields = Vec::with_capacity(columns.0.len());
    for (name, kind) in columns.0 {
        let data_type = match kind.as_str() {
            "utf8" | "string" => DataType::Utf8,
            "int64" | "long" => DataType::Int64,
            "int32" | "int" => DataType::Int32,
            "float64" | "double" => DataType::Float64,
            "bool" | "boolean" => DataType::Boolean,
            other => anyhow::bail!(
                "{}: column '{name}': unknown type '{other}' (utf8, int64, int32, float64, bool)",
                path.display()
            ),
        };
        fields.push(Field::new(name, data_type, true));
    }
    if fields.is_empty() {
        anyhow::bail!("{}: no columns", path.display());
    }
    Ok(Schema::new(fields))
}

/// Name → type pairs in the order the JSON object lists them.
struct Columns(Vec<(String, String)>);

impl<'de> Deserialize<'de> for Columns {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Ordered;
        impl<'de> Visitor<'de> for Ordered {
            type Value = Columns;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of column name to type")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Columns, A::Error> {
                let mut columns = Vec::new();
                while let Some(entry) = map.next_entry::<String, String>()? {
                    columns.push(entry);
                }
                Ok(Columns(columns))
            }
        }
        deserializer.deserialize_map(Ordered)
    }
}
