//! Records as Arrow record batches: the one schema that exports and the
//! Python package share ([`schema`]), and a builder that appends records
//! and cuts [`arrow_array::RecordBatch`]es ([`ArrowRecordBuilder`]).
//!
//! The schema, one row per record:
//!
//! | column | Arrow type | null when |
//! |---|---|---|
//! | `topic` | dictionary(int32, utf8) | never |
//! | `partition` | int32 | never |
//! | `offset` | int64 | never |
//! | `timestamp` | timestamp(ms, UTC) | the record has none (magic 0) |
//! | `timestamp_type` | int8: 0 CreateTime, 1 LogAppendTime | the record has none (magic 0) |
//! | `key` | binary | the key is null (an empty key is an empty value) |
//! | `value` | binary | the value is null (a tombstone) |
//! | `headers` | list(struct(key: utf8, value: binary)) | never (no headers: empty list); a header's value is null when null |
//! | `leader_epoch` | int32 | the batch has none (-1, or before magic 2) |
//! | `producer_id` | int64 | the batch has none (-1, or before magic 2) |
//! | `producer_epoch` | int16 | the batch has none (-1, or before magic 2) |
//!
//! Header keys are strings in Kafka; a key that is not UTF-8 is decoded
//! with replacement characters, as Kafka's consumer does.

use std::sync::{Arc, OnceLock};

use arrow_array::builder::{
    BinaryBuilder, Int16Builder, Int32Builder, Int64Builder, Int8Builder, ListBuilder,
    StringBuilder, StructBuilder, TimestampMillisecondBuilder,
};
use arrow_array::types::Int32Type;
use arrow_array::{ArrayRef, DictionaryArray, RecordBatch as ArrowBatch, StringArray};
use arrow_schema::{DataType, Field, Fields, Schema, SchemaRef, TimeUnit};

use crate::log_dir::TopicPartition;
use crate::record::{Record, RecordBatch};

/// The time zone of the `timestamp` column.
const UTC: &str = "UTC";

/// The fields of one header.
fn header_fields() -> Fields {
    Fields::from(vec![
        Field::new("key", DataType::Utf8, false),
        Field::new("value", DataType::Binary, true),
    ])
}

/// The list item of the `headers` column.
fn header_item() -> Arc<Field> {
    Arc::new(Field::new("item", DataType::Struct(header_fields()), false))
}

/// The Arrow schema of records (see the module docs).
pub fn schema() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            let dictionary =
                DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8));
            Arc::new(Schema::new(vec![
                Field::new("topic", dictionary, false),
                Field::new("partition", DataType::Int32, false),
                Field::new("offset", DataType::Int64, false),
                Field::new(
                    "timestamp",
                    DataType::Timestamp(TimeUnit::Millisecond, Some(UTC.into())),
                    true,
                ),
                Field::new("timestamp_type", DataType::Int8, true),
                Field::new("key", DataType::Binary, true),
                Field::new("value", DataType::Binary, true),
                Field::new("headers", DataType::List(header_item()), false),
                Field::new("leader_epoch", DataType::Int32, true),
                Field::new("producer_id", DataType::Int64, true),
                Field::new("producer_epoch", DataType::Int16, true),
            ]))
        })
        .clone()
}

/// Appends records, row by row, and cuts Arrow record batches of them in
/// [`schema`]. Keys, values and headers are copied into the builder's
/// buffers.
pub struct ArrowRecordBuilder {
    /// The `topic` column's dictionary keys, and its values: the topics
    /// seen since the last cut, the last one checked first (a poll's
    /// records come in runs of one partition).
    topic_keys: Int32Builder,
    topics: Vec<String>,
    partition: Int32Builder,
    offset: Int64Builder,
    timestamp: TimestampMillisecondBuilder,
    timestamp_type: Int8Builder,
    key: BinaryBuilder,
    value: BinaryBuilder,
    headers: ListBuilder<StructBuilder>,
    leader_epoch: Int32Builder,
    producer_id: Int64Builder,
    producer_epoch: Int16Builder,
    rows: usize,
    /// Key, value and header bytes appended since the last cut.
    payload_bytes: usize,
    /// Key and value bytes appended since the last cut: the next batch's
    /// builders are sized from them, so they do not grow by doubling.
    key_bytes: usize,
    value_bytes: usize,
}

impl std::fmt::Debug for ArrowRecordBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArrowRecordBuilder")
            .field("rows", &self.rows)
            .field("payload_bytes", &self.payload_bytes)
            .finish_non_exhaustive()
    }
}

impl Default for ArrowRecordBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl ArrowRecordBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::with_capacity(0, 0, 0)
    }

    /// An empty builder with room for `rows` rows of `key_bytes` and
    /// `value_bytes` bytes of keys and values in all.
    pub fn with_capacity(rows: usize, key_bytes: usize, value_bytes: usize) -> Self {
        let headers = StructBuilder::new(
            header_fields(),
            vec![
                Box::new(StringBuilder::new()),
                Box::new(BinaryBuilder::new()),
            ],
        );
        ArrowRecordBuilder {
            topic_keys: Int32Builder::with_capacity(rows),
            topics: Vec::new(),
            partition: Int32Builder::with_capacity(rows),
            offset: Int64Builder::with_capacity(rows),
            timestamp: TimestampMillisecondBuilder::with_capacity(rows).with_timezone(UTC),
            timestamp_type: Int8Builder::with_capacity(rows),
            key: BinaryBuilder::with_capacity(rows, key_bytes),
            value: BinaryBuilder::with_capacity(rows, value_bytes),
            headers: ListBuilder::with_capacity(headers, rows).with_field(header_item()),
            leader_epoch: Int32Builder::with_capacity(rows),
            producer_id: Int64Builder::with_capacity(rows),
            producer_epoch: Int16Builder::with_capacity(rows),
            rows: 0,
            payload_bytes: 0,
            key_bytes: 0,
            value_bytes: 0,
        }
    }

    /// The dictionary key of `topic`.
    #[inline]
    fn topic_key(&mut self, topic: &str) -> i32 {
        if let Some(last) = self.topics.last() {
            if last == topic {
                return self.topics.len() as i32 - 1;
            }
        }
        match self.topics.iter().position(|t| t == topic) {
            Some(i) => i as i32,
            None => {
                self.topics.push(topic.to_string());
                self.topics.len() as i32 - 1
            }
        }
    }

    /// Rows appended since the last cut.
    pub fn len(&self) -> usize {
        self.rows
    }

    /// Whether no row was appended since the last cut.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Key, value and header bytes appended since the last cut.
    pub fn payload_bytes(&self) -> usize {
        self.payload_bytes
    }

    /// Appends one record of `batch` (its header: epochs and producer) in
    /// partition `tp`.
    pub fn append(&mut self, tp: &TopicPartition, batch: &RecordBatch<'_>, record: &Record<'_>) {
        let key = self.topic_key(&tp.topic);
        self.topic_keys.append_value(key);
        self.partition.append_value(tp.partition);
        self.offset.append_value(record.offset());
        self.timestamp.append_option(record.timestamp());
        self.timestamp_type
            .append_option(record.timestamp_type().map(|t| t.id() as i8));
        self.key.append_option(record.key());
        self.value.append_option(record.value());
        let mut payload =
            record.key().map_or(0, <[u8]>::len) + record.value().map_or(0, <[u8]>::len);
        let headers = record.headers();
        if !headers.is_empty() {
            let entries = self.headers.values();
            for header in headers.iter() {
                payload += header.key.len() + header.value.map_or(0, <[u8]>::len);
                if let Some(keys) = entries.field_builder::<StringBuilder>(0) {
                    keys.append_value(String::from_utf8_lossy(header.key));
                }
                if let Some(values) = entries.field_builder::<BinaryBuilder>(1) {
                    values.append_option(header.value);
                }
                entries.append(true);
            }
        }
        self.headers.append(true);
        self.leader_epoch
            .append_option(batch.partition_leader_epoch());
        self.producer_id.append_option(batch.producer_id());
        self.producer_epoch.append_option(batch.producer_epoch());
        self.rows += 1;
        self.payload_bytes += payload;
    }

    /// The rows appended since the last cut, as one record batch (empty
    /// when none were); the builder starts again empty.
    pub fn finish(&mut self) -> ArrowBatch {
        // The next batch's builders, sized as this one was.
        let next = Self::with_capacity(self.rows, self.key_bytes, self.value_bytes);
        let mut this = std::mem::replace(self, next);
        let topics = StringArray::from_iter_values(this.topics.iter());
        // Every key was handed out for an entry of `topics`: this cannot fail.
        let topic =
            DictionaryArray::<Int32Type>::try_new(this.topic_keys.finish(), Arc::new(topics))
                .expect("dictionary keys within the topics");
        let columns: Vec<ArrayRef> = vec![
            Arc::new(topic),
            Arc::new(this.partition.finish()),
            Arc::new(this.offset.finish()),
            Arc::new(this.timestamp.finish()),
            Arc::new(this.timestamp_type.finish()),
            Arc::new(this.key.finish()),
            Arc::new(this.value.finish()),
            Arc::new(this.headers.finish()),
            Arc::new(this.leader_epoch.finish()),
            Arc::new(this.producer_id.finish()),
            Arc::new(this.producer_epoch.finish()),
        ];
        // Every column is built here to the schema's type and length: this
        // cannot fail.
        ArrowBatch::try_new(schema(), columns).expect("columns built to the schema")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Int64Type, TimestampMillisecondType};
    use arrow_array::Array;

    use crate::writer::{
        fill_offset_deltas, BatchSpec, PartitionWriter, RecordSpec, WriterOptions,
    };

    #[test]
    fn rows_keep_nulls_empties_headers_and_batch_fields() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer =
            PartitionWriter::open(dir.path(), "t", 3, WriterOptions::default()).unwrap();
        let mut records = vec![
            RecordSpec::new(1_700_000_000_123, Some(b"k"), Some(b"v")),
            RecordSpec::new(5, None, Some(b""))
                .with_header("h\u{e9}", Some(b"x"))
                .with_header("n", None),
            RecordSpec::new(6, Some(b""), None),
        ];
        fill_offset_deltas(&mut records);
        let spec = BatchSpec {
            partition_leader_epoch: Some(9),
            producer_id: Some(42),
            producer_epoch: Some(7),
            base_sequence: Some(0),
            ..BatchSpec::default()
        };
        writer.append_batch(&spec, &records).unwrap();
        writer.close().unwrap();

        let mut consumer = crate::Consumer::new(crate::ConsumerConfig::new([dir.path()])).unwrap();
        let tp = TopicPartition::new("t", 3);
        consumer.assign(std::slice::from_ref(&tp)).unwrap();
        consumer.seek_to_beginning(&[tp]).unwrap();
        let mut builder = ArrowRecordBuilder::new();
        while builder.len() < 3 {
            let polled = consumer.poll(std::time::Duration::from_secs(5)).unwrap();
            for batch in polled.batches() {
                let batch = batch.unwrap();
                for record in batch.records() {
                    builder.append(batch.topic_partition(), batch.header(), &record.unwrap());
                }
            }
        }
        assert_eq!(builder.payload_bytes(), 1 + 1 + 3 + 1 + 1);
        let out = builder.finish();
        assert!(builder.is_empty());
        assert_eq!(out.schema(), schema());
        assert_eq!(out.num_rows(), 3);

        let topic = out.column(0).as_dictionary::<Int32Type>();
        let names = topic.values().as_string::<i32>();
        assert!((0..3).all(|i| names.value(topic.keys().value(i) as usize) == "t"));
        assert_eq!(
            out.column(1).as_primitive::<Int32Type>().values(),
            &[3, 3, 3]
        );
        assert_eq!(
            out.column(2).as_primitive::<Int64Type>().values(),
            &[0, 1, 2]
        );
        let ts = out.column(3).as_primitive::<TimestampMillisecondType>();
        assert_eq!(ts.values(), &[1_700_000_000_123, 5, 6]);
        assert_eq!(
            out.column(4)
                .as_primitive::<arrow_array::types::Int8Type>()
                .value(0),
            0
        );

        let key = out.column(5).as_binary::<i32>();
        assert_eq!(
            (key.value(0), key.is_null(1), key.value(2)),
            (&b"k"[..], true, &b""[..])
        );
        assert!(key.is_valid(2));
        let value = out.column(6).as_binary::<i32>();
        assert_eq!(
            (value.value(0), value.value(1), value.is_null(2)),
            (&b"v"[..], &b""[..], true)
        );
        assert!(value.is_valid(1));

        let headers = out.column(7).as_list::<i32>();
        assert_eq!(headers.value_length(0), 0);
        assert_eq!(headers.value_length(1), 2);
        let second = headers.value(1);
        let second = second.as_struct();
        let keys = second.column(0).as_string::<i32>();
        let values = second.column(1).as_binary::<i32>();
        assert_eq!((keys.value(0), keys.value(1)), ("h\u{e9}", "n"));
        assert_eq!((values.value(0), values.is_null(1)), (&b"x"[..], true));

        assert_eq!(out.column(8).as_primitive::<Int32Type>().value(2), 9);
        assert_eq!(out.column(9).as_primitive::<Int64Type>().value(0), 42);
        assert_eq!(
            out.column(10)
                .as_primitive::<arrow_array::types::Int16Type>()
                .value(1),
            7
        );
    }
}
