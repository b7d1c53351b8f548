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
//!
//! `key` and `value` come in one of two layouts ([`BinaryLayout`]): plain
//! `binary`, the bytes copied into the column (what every Arrow reader
//! takes, the default), or `binary_view`, views into the bytes the records
//! were read from — the segment's mapping for uncompressed batches, the
//! inflated buffer for compressed ones — so that building a record batch
//! copies no payload bytes. A view column's data buffers keep those bytes
//! alive ([`SharedBytes`]) for as long as the record batch lives; each
//! buffer spans only the batches whose records it holds (a run of adjacent
//! batches of one segment), never a whole segment, so a writer or a reader
//! that copies the buffers copies about the payload.

use std::sync::{Arc, OnceLock};

use arrow_array::builder::{
    BinaryBuilder, Int16Builder, Int32Builder, Int64Builder, Int8Builder, ListBuilder,
    StringBuilder, StructBuilder, TimestampMillisecondBuilder,
};
use arrow_array::types::Int32Type;
use arrow_array::{
    ArrayRef, BinaryViewArray, DictionaryArray, RecordBatch as ArrowBatch, StringArray,
};
use arrow_buffer::{Buffer, NullBufferBuilder, ScalarBuffer};
use arrow_schema::{DataType, Field, Fields, Schema, SchemaRef, TimeUnit};

use crate::consumer::ConsumerBatch;
use crate::mmap::{Mapping, SharedBytes};
use crate::record::Record;

/// The time zone of the `timestamp` column.
const UTC: &str = "UTC";

/// Longest value a view holds inline (Arrow's view layout): longer ones
/// point into a data buffer.
const MAX_INLINE: usize = 12;

/// A view column's data buffer grows over the next batch's bytes when they
/// start at most this far past its end (undelivered bytes between them:
/// control batches, aborted transactions, a seek's skipped records) ...
const MAX_BLOCK_GAP: usize = 64 << 10;
/// ... and while it stays below this length (Arrow's view offsets are u32).
const MAX_BLOCK_LEN: usize = i32::MAX as usize;

/// How the `key` and `value` columns hold their bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BinaryLayout {
    /// `binary`: the bytes copied into the column's buffer.
    #[default]
    Binary,
    /// `binary_view`: views into the records' own bytes; no payload byte is
    /// copied but values of up to 12 bytes, which Arrow keeps inside their
    /// view.
    View,
}

impl BinaryLayout {
    fn data_type(self) -> DataType {
        match self {
            BinaryLayout::Binary => DataType::Binary,
            BinaryLayout::View => DataType::BinaryView,
        }
    }
}

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

fn build_schema(layout: BinaryLayout) -> SchemaRef {
    let dictionary = DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8));
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
        Field::new("key", layout.data_type(), true),
        Field::new("value", layout.data_type(), true),
        Field::new("headers", DataType::List(header_item()), false),
        Field::new("leader_epoch", DataType::Int32, true),
        Field::new("producer_id", DataType::Int64, true),
        Field::new("producer_epoch", DataType::Int16, true),
    ]))
}

/// The Arrow schema of records (see the module docs), `key` and `value` as
/// `binary`.
pub fn schema() -> SchemaRef {
    schema_with(BinaryLayout::Binary)
}

/// The Arrow schema of records with `key` and `value` in `layout`.
pub fn schema_with(layout: BinaryLayout) -> SchemaRef {
    static BINARY: OnceLock<SchemaRef> = OnceLock::new();
    static VIEW: OnceLock<SchemaRef> = OnceLock::new();
    let cell = match layout {
        BinaryLayout::Binary => &BINARY,
        BinaryLayout::View => &VIEW,
    };
    cell.get_or_init(|| build_schema(layout)).clone()
}

/// Arrow's view of `value` (its `ByteView` layout, little-endian): the
/// length in the low 32 bits, then the bytes themselves when there are at
/// most [`MAX_INLINE`]; else their first four, the buffer index and the
/// position in the buffer. Arrow's own `make_view`, inlined here: it is
/// called once per key and value.
#[inline(always)]
fn view_of(value: &[u8], block: u32, position: u32) -> u128 {
    let len = value.len() as u128;
    match value.first_chunk::<4>() {
        Some(prefix) if value.len() > MAX_INLINE => {
            len | (u32::from_le_bytes(*prefix) as u128) << 32
                | (block as u128) << 64
                | (position as u128) << 96
        }
        _ => {
            let mut bytes = [0u8; 16];
            if let Some(inline) = bytes.get_mut(4..4 + value.len()) {
                inline.copy_from_slice(value);
            }
            u128::from_le_bytes(bytes) | len
        }
    }
}

/// A `binary_view` column under construction: views, and the byte ranges
/// they point into.
struct ViewColumn {
    views: Vec<u128>,
    nulls: NullBufferBuilder,
    /// The data buffers; the last one grows while the values appended come
    /// from nearby bytes of one mapping.
    blocks: Vec<SharedBytes>,
}

impl ViewColumn {
    fn with_capacity(rows: usize) -> Self {
        ViewColumn {
            views: Vec::with_capacity(rows),
            nulls: NullBufferBuilder::new(rows),
            blocks: Vec::new(),
        }
    }

    /// Appends `value`, a slice of `batch`'s bytes; the bytes copied.
    #[inline(always)]
    fn append(&mut self, value: Option<&[u8]>, batch: &ConsumerBatch<'_>) -> usize {
        let Some(value) = value else {
            self.views.push(0);
            self.nulls.append_null();
            return 0;
        };
        self.nulls.append_non_null();
        if value.len() <= MAX_INLINE {
            self.views.push(view_of(value, 0, 0));
            return value.len();
        }
        let found = self
            .blocks
            .last()
            .and_then(|block| block.position_of(value));
        let (block, position, copied) = match found {
            Some(position) => (self.blocks.len() - 1, position, 0),
            None => self.add_block(value, batch),
        };
        // `add_block` keeps every block below `MAX_BLOCK_LEN`, which fits
        // in u32, as do the block counts of one record batch.
        self.views
            .push(view_of(value, block as u32, position as u32));
        copied
    }

    /// Adds the data buffer `value` lies in: the last one grown over
    /// `batch`'s bytes, or those bytes as a new one; a copy of `value` in a
    /// buffer of its own when it is not in `batch`'s bytes. The buffer's
    /// index, where `value` starts in it, and the bytes copied.
    #[cold]
    fn add_block(&mut self, value: &[u8], batch: &ConsumerBatch<'_>) -> (usize, usize, usize) {
        let shared = batch.shared_bytes();
        if let Some(last) = self.blocks.last_mut() {
            let mut grown = last.clone();
            if grown.try_extend(&shared, MAX_BLOCK_GAP) && grown.len() <= MAX_BLOCK_LEN {
                if let Some(position) = grown.position_of(value) {
                    *last = grown;
                    return (self.blocks.len() - 1, position, 0);
                }
            }
        }
        match shared.position_of(value) {
            Some(position) if shared.len() <= MAX_BLOCK_LEN => {
                self.blocks.push(shared);
                (self.blocks.len() - 1, position, 0)
            }
            _ => {
                self.blocks
                    .push(SharedBytes::whole(Mapping::from_vec(value.to_vec())));
                (self.blocks.len() - 1, 0, value.len())
            }
        }
    }

    fn finish(self) -> BinaryViewArray {
        let buffers: Vec<Buffer> = self
            .blocks
            .into_iter()
            .map(|block| Buffer::from(bytes::Bytes::from_owner(block)))
            .collect();
        let mut nulls = self.nulls;
        let views = ScalarBuffer::from(self.views);
        let nulls = nulls.finish();
        // SAFETY: every view was made by `make_view` from a value that lies
        // wholly inside its block at the position given (`position_of`
        // checked it, or the value is a block of its own), with the index
        // of that block in `buffers`; a null's view is zero (an empty
        // inline view); `nulls` has one bit per view. Those are the
        // invariants `BinaryViewArray::try_new` would check row by row
        // (and binary data has no encoding to check) — a check measured at
        // 12 % of building a record batch (criterion `arrow` group).
        unsafe { BinaryViewArray::new_unchecked(views, buffers.into(), nulls) }
    }
}

/// The `key` or `value` column under construction.
enum PayloadColumn {
    Binary(BinaryBuilder),
    View(ViewColumn),
}

impl PayloadColumn {
    fn with_capacity(layout: BinaryLayout, rows: usize, bytes: usize) -> Self {
        match layout {
            BinaryLayout::Binary => {
                PayloadColumn::Binary(BinaryBuilder::with_capacity(rows, bytes))
            }
            BinaryLayout::View => PayloadColumn::View(ViewColumn::with_capacity(rows)),
        }
    }

    /// Appends `value`, a slice of `batch`'s bytes; the bytes copied.
    #[inline(always)]
    fn append(&mut self, value: Option<&[u8]>, batch: &ConsumerBatch<'_>) -> usize {
        match self {
            PayloadColumn::Binary(builder) => {
                builder.append_option(value);
                value.map_or(0, <[u8]>::len)
            }
            PayloadColumn::View(column) => column.append(value, batch),
        }
    }

    fn finish(self) -> ArrayRef {
        match self {
            PayloadColumn::Binary(mut builder) => Arc::new(builder.finish()),
            PayloadColumn::View(column) => Arc::new(column.finish()),
        }
    }
}

/// The columns every record of a batch shares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct BatchFields {
    topic: i32,
    partition: i32,
    leader_epoch: Option<i32>,
    producer_id: Option<i64>,
    producer_epoch: Option<i16>,
}

/// Appends `value` (or a null) `n` times.
fn append_n<T: arrow_array::ArrowPrimitiveType>(
    builder: &mut arrow_array::builder::PrimitiveBuilder<T>,
    value: Option<T::Native>,
    n: usize,
) {
    match value {
        Some(value) => builder.append_value_n(value, n),
        None => builder.append_nulls(n),
    }
}

/// Appends records, row by row, and cuts Arrow record batches of them in
/// [`schema_with`] its [`BinaryLayout`]. Headers are copied into the
/// builder's buffers; keys and values too, or viewed in place.
pub struct ArrowRecordBuilder {
    layout: BinaryLayout,
    /// The `topic` column's dictionary values: the topics seen since the
    /// last cut, the last one checked first (a poll's records come in runs
    /// of one partition).
    topics: Vec<String>,
    /// The columns that are the same for every record of a batch (topic,
    /// partition, epochs, producer), as runs of rows: expanded at the cut.
    runs: Vec<(BatchFields, usize)>,
    offset: Int64Builder,
    timestamp: TimestampMillisecondBuilder,
    timestamp_type: Int8Builder,
    key: PayloadColumn,
    value: PayloadColumn,
    headers: ListBuilder<StructBuilder>,
    rows: usize,
    /// Key, value and header bytes appended since the last cut.
    payload_bytes: usize,
    /// Of those, the bytes copied into the builder's buffers.
    copied_bytes: usize,
    /// Key and value bytes appended since the last cut: the next batch's
    /// builders are sized from them, so they do not grow by doubling.
    key_bytes: usize,
    value_bytes: usize,
}

impl std::fmt::Debug for ArrowRecordBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArrowRecordBuilder")
            .field("layout", &self.layout)
            .field("rows", &self.rows)
            .field("payload_bytes", &self.payload_bytes)
            .field("copied_bytes", &self.copied_bytes)
            .finish_non_exhaustive()
    }
}

impl Default for ArrowRecordBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl ArrowRecordBuilder {
    /// An empty builder, `key` and `value` as `binary`.
    pub fn new() -> Self {
        Self::with_layout(BinaryLayout::Binary)
    }

    /// An empty builder, `key` and `value` in `layout`.
    pub fn with_layout(layout: BinaryLayout) -> Self {
        Self::with_capacity(layout, 0, 0, 0)
    }

    /// An empty builder with room for `rows` rows of `key_bytes` and
    /// `value_bytes` bytes of keys and values in all.
    pub fn with_capacity(
        layout: BinaryLayout,
        rows: usize,
        key_bytes: usize,
        value_bytes: usize,
    ) -> Self {
        let headers = StructBuilder::new(
            header_fields(),
            vec![
                Box::new(StringBuilder::new()),
                Box::new(BinaryBuilder::new()),
            ],
        );
        ArrowRecordBuilder {
            layout,
            topics: Vec::new(),
            runs: Vec::new(),
            offset: Int64Builder::with_capacity(rows),
            timestamp: TimestampMillisecondBuilder::with_capacity(rows).with_timezone(UTC),
            timestamp_type: Int8Builder::with_capacity(rows),
            key: PayloadColumn::with_capacity(layout, rows, key_bytes),
            value: PayloadColumn::with_capacity(layout, rows, value_bytes),
            headers: ListBuilder::with_capacity(headers, rows).with_field(header_item()),
            rows: 0,
            payload_bytes: 0,
            copied_bytes: 0,
            key_bytes: 0,
            value_bytes: 0,
        }
    }

    /// The layout of `key` and `value`.
    pub fn layout(&self) -> BinaryLayout {
        self.layout
    }

    /// The schema of the record batches cut.
    pub fn schema(&self) -> SchemaRef {
        schema_with(self.layout)
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

    /// Of [`ArrowRecordBuilder::payload_bytes`], those copied into the
    /// builder's buffers (all of them with [`BinaryLayout::Binary`]; with
    /// [`BinaryLayout::View`] the header bytes and the keys and values of up
    /// to 12 bytes).
    pub fn copied_bytes(&self) -> usize {
        self.copied_bytes
    }

    /// Appends a row of `batch`'s fields: one more row of the last run
    /// when they are the same.
    #[inline]
    fn append_fields(&mut self, batch: &ConsumerBatch<'_>) {
        let tp = batch.topic_partition();
        let header = batch.header();
        let fields = BatchFields {
            topic: self.topic_key(&tp.topic),
            partition: tp.partition,
            leader_epoch: header.partition_leader_epoch(),
            producer_id: header.producer_id(),
            producer_epoch: header.producer_epoch(),
        };
        match self.runs.last_mut() {
            Some((last, rows)) if *last == fields => *rows += 1,
            _ => self.runs.push((fields, 1)),
        }
    }

    /// Appends one record of `batch` (its partition, and its header's
    /// epochs and producer).
    pub fn append(&mut self, batch: &ConsumerBatch<'_>, record: &Record<'_>) {
        self.append_fields(batch);
        self.offset.append_value(record.offset());
        self.timestamp.append_option(record.timestamp());
        self.timestamp_type
            .append_option(record.timestamp_type().map(|t| t.id() as i8));
        let key_len = record.key().map_or(0, <[u8]>::len);
        let value_len = record.value().map_or(0, <[u8]>::len);
        let mut copied = self.key.append(record.key(), batch);
        copied += self.value.append(record.value(), batch);
        let mut header_bytes = 0;
        let headers = record.headers();
        if !headers.is_empty() {
            let entries = self.headers.values();
            for header in headers.iter() {
                header_bytes += header.key.len() + header.value.map_or(0, <[u8]>::len);
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
        self.rows += 1;
        self.key_bytes += key_len;
        self.value_bytes += value_len;
        self.payload_bytes += key_len + value_len + header_bytes;
        self.copied_bytes += copied + header_bytes;
    }

    /// The rows appended since the last cut, as one record batch (empty
    /// when none were); the builder starts again empty.
    pub fn finish(&mut self) -> ArrowBatch {
        // The next batch's builders, sized as this one was.
        let next = Self::with_capacity(self.layout, self.rows, self.key_bytes, self.value_bytes);
        let mut this = std::mem::replace(self, next);
        let topics = StringArray::from_iter_values(this.topics.iter());
        let rows = this.rows;
        let mut topic_keys = Int32Builder::with_capacity(rows);
        let mut partition = Int32Builder::with_capacity(rows);
        let mut leader_epoch = Int32Builder::with_capacity(rows);
        let mut producer_id = Int64Builder::with_capacity(rows);
        let mut producer_epoch = Int16Builder::with_capacity(rows);
        for (fields, n) in &this.runs {
            topic_keys.append_value_n(fields.topic, *n);
            partition.append_value_n(fields.partition, *n);
            append_n(&mut leader_epoch, fields.leader_epoch, *n);
            append_n(&mut producer_id, fields.producer_id, *n);
            append_n(&mut producer_epoch, fields.producer_epoch, *n);
        }
        // Every key was handed out for an entry of `topics`: this cannot fail.
        let topic = DictionaryArray::<Int32Type>::try_new(topic_keys.finish(), Arc::new(topics))
            .expect("dictionary keys within the topics");
        let columns: Vec<ArrayRef> = vec![
            Arc::new(topic),
            Arc::new(partition.finish()),
            Arc::new(this.offset.finish()),
            Arc::new(this.timestamp.finish()),
            Arc::new(this.timestamp_type.finish()),
            this.key.finish(),
            this.value.finish(),
            Arc::new(this.headers.finish()),
            Arc::new(leader_epoch.finish()),
            Arc::new(producer_id.finish()),
            Arc::new(producer_epoch.finish()),
        ];
        // Every column is built here to the schema's type and length: this
        // cannot fail.
        ArrowBatch::try_new(schema_with(this.layout), columns).expect("columns built to the schema")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Int64Type, TimestampMillisecondType};
    use arrow_array::Array;

    use crate::log_dir::TopicPartition;
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
                    builder.append(&batch, &record.unwrap());
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
    #[test]
    fn views_are_arrows_views() {
        let bytes: Vec<u8> = (0..40u8).map(|b| b.wrapping_mul(37)).collect();
        for len in 0..=bytes.len() {
            let value = &bytes[..len];
            assert_eq!(
                view_of(value, 3, 1234),
                arrow_array::builder::make_view(value, 3, 1234),
                "{len} bytes"
            );
        }
    }

    #[test]
    fn view_columns_point_into_adjacent_batches_and_inflated_buffers() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer =
            PartitionWriter::open(dir.path(), "t", 0, WriterOptions::default()).unwrap();
        let value = [7u8; 100];
        let batch_of = |n: usize| {
            let mut records: Vec<RecordSpec> = (0..n)
                .map(|i| RecordSpec::new(i as i64, Some(b"short"), Some(&value[..])))
                .collect();
            fill_offset_deltas(&mut records);
            records
        };
        for _ in 0..3 {
            writer.append(&batch_of(10)).unwrap();
        }
        let lz4 = BatchSpec {
            base_offset: 30,
            compression: crate::Compression::Lz4,
            ..BatchSpec::default()
        };
        writer.append_batch(&lz4, &batch_of(10)).unwrap();
        writer.close().unwrap();
        let log: u64 = std::fs::read_dir(dir.path().join("t-0"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "log"))
            .map(|p| std::fs::metadata(p).unwrap().len())
            .sum();

        let mut consumer = crate::Consumer::new(crate::ConsumerConfig::new([dir.path()])).unwrap();
        let tp = TopicPartition::new("t", 0);
        consumer.assign(std::slice::from_ref(&tp)).unwrap();
        consumer.seek_to_beginning(&[tp]).unwrap();
        let mut builder = ArrowRecordBuilder::with_layout(BinaryLayout::View);
        while builder.len() < 40 {
            let polled = consumer.poll(std::time::Duration::from_secs(5)).unwrap();
            for batch in polled.batches() {
                let batch = batch.unwrap();
                for record in batch.records() {
                    builder.append(&batch, &record.unwrap());
                }
            }
        }
        // Keys of 5 bytes sit inside their views; no value byte is copied.
        assert_eq!(builder.copied_bytes(), 40 * 5);
        assert_eq!(builder.payload_bytes(), 40 * 105);
        let out = builder.finish();
        assert_eq!(out.schema(), schema_with(BinaryLayout::View));
        let values = out.column(6).as_binary_view();
        assert!(values.iter().all(|v| v == Some(&value[..])));
        assert!(out.column(5).as_binary_view().data_buffers().is_empty());
        // One buffer over the three adjacent uncompressed batches (no more
        // than the file), one over the lz4 batch's inflated records.
        let buffers = values.data_buffers();
        assert_eq!(buffers.len(), 2, "{buffers:?}");
        assert!(buffers[0].len() >= 30 * 100 && (buffers[0].len() as u64) < log);
        assert!(buffers[1].len() >= 10 * 100 && buffers[1].len() < 10 * 200);
    }
}
