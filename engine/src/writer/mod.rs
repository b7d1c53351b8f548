//! Writes Kafka-compatible partitions: batches, segments and indexes.
//!
//! kreplay only reads Kafka logs; this module writes them for fixtures,
//! tests, `kreplay gen` and benchmarks, byte for byte as a broker lays them
//! out, so a log written here reads the same in kreplay, in kafka-python and
//! in Kafka itself. Three layers:
//!
//! - Encoders: [`encode_batch`] (a v2 record batch, records compressed as
//!   one stream), [`encode_control_batch`] (a transaction marker) and
//!   [`encode_legacy_message_set`] (magic 0/1 messages and compressed
//!   wrappers). [`BatchEncoder`] does the same with reused buffers.
//!   Inputs are owned [`RecordSpec`]s that carry their own offset delta and
//!   timestamp, so gaps and arbitrary timestamps can be written.
//! - [`PartitionWriter`]: one `<topic>-<partition>` dir. It assigns offsets,
//!   rolls segments at `segment_bytes`, writes `.index` / `.timeindex`
//!   entries as Kafka's `LogSegment.append` places them and `.txnindex`
//!   entries for aborted transactions, and tracks producers and open
//!   transactions. [`write_log_start_offset_checkpoint`] writes the log dir's
//!   checkpoint file.
//! - KRaft metadata: [`metadata_record_spec`] and [`control_record_spec`]
//!   turn `__cluster_metadata` records into records of a log;
//!   [`write_metadata_snapshot`] writes a `.checkpoint` snapshot.
//! - State topics: [`offset_commit_record`], [`offset_commit_tombstone`],
//!   [`group_metadata_record`] encode `__consumer_offsets` records
//!   (`kreplay::state` encodes any of them).
//! - [`generate`]: a whole log dir of realistic JSON metrics, deterministic
//!   for a seed.
//!
//! ```no_run
//! use kreplay::writer::{fill_offset_deltas, PartitionWriter, RecordSpec, WriterOptions};
//!
//! # fn main() -> kreplay::Result<()> {
//! let mut writer = PartitionWriter::open("/tmp/logs", "orders", 0, WriterOptions::default())?;
//! let mut records: Vec<RecordSpec> = (0..10)
//!     .map(|i| RecordSpec::new(1_700_000_000_000 + i, Some(b"key"), Some(b"value")))
//!     .collect();
//! fill_offset_deltas(&mut records);
//! let info = writer.append(&records)?; // offsets 0..=9
//! assert_eq!(info.last_offset, 9);
//! writer.append_transactional(4242, 0, &records)?; // offsets 10..=19
//! writer.abort(4242)?; // marker at 20, and a .txnindex entry
//! writer.close()?;
//! # Ok(())
//! # }
//! ```

mod encode;
mod generate;
mod metadata;
mod partition;
mod state;
#[cfg(test)]
mod test_support;

pub use crate::compression::Compression;
pub use crate::record::TimestampType;
pub use encode::{
    encode_batch, encode_control_batch, encode_legacy_message_set, fill_offset_deltas,
    BatchEncoder, BatchSpec, EndTransactionMarker, LegacySpec, RecordSpec, TransactionResult,
};
pub use generate::{
    generate, murmur2, GenConfig, GenSummary, PartitionSummary, Partitioner, GEN_EPOCH_MS,
    GEN_FIRST_PRODUCER_ID,
};
pub use metadata::{
    control_record_spec, metadata_record_spec, snapshot_file_name, write_metadata_snapshot,
};
pub use partition::{
    write_log_start_offset_checkpoint, write_offset_checkpoint, AppendInfo, MarkerSpec,
    PartitionWriter, WriterOptions, DEFAULT_INDEX_INTERVAL_BYTES, DEFAULT_MAX_INDEX_BYTES,
    DEFAULT_SEGMENT_BYTES, LOG_START_OFFSET_CHECKPOINT,
};
pub use state::{
    group_metadata_record, offset_commit_record, offset_commit_tombstone, StateRecord,
};
