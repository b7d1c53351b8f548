//! kreplay reads Apache Kafka partition logs straight from disk, byte for byte
//! as Kafka interprets them, without a broker.
//!
//! # From a log dir to a record
//!
//! A Kafka *log dir* holds one directory per partition, `<topic>-<partition>`
//! ([`list_partitions`], [`classify`]). A [`Partition`] is an ordered list of
//! *segments*, files named after their base offset (`00000000000000000000.log`)
//! with optional `.index`, `.timeindex` and `.txnindex` files beside them
//! ([`index`]). A [`Segment`] is mapped read-only ([`Mapping`]) and iterated
//! as [`RecordBatch`]es ([`Segment::batches`]); each batch yields [`Record`]s
//! ([`RecordBatch::records`]), views that borrow the mapped bytes — keys,
//! values and headers are never copied. A compressed batch is the one
//! exception: it is inflated once into the reused buffer of an [`Inflater`].
//!
//! Damage is reported, never glossed over: a torn tail (a crash mid-append,
//! zero padding) ends a segment's data ([`SegmentEnd::TornTail`]); anything
//! else malformed is an [`Error::Corrupt`] naming the file, the byte position
//! and the offset. Nothing read from disk can make the engine panic, and
//! nothing in a log dir is ever written.
//!
//! The [`writer`] module writes Kafka-compatible logs (for tests, fixtures,
//! benchmarks and `kreplay gen`). The [`state`] module decodes the records
//! of Kafka's own topics (`__consumer_offsets`, `__transaction_state`) from
//! their keys and values, following Kafka's message schemas.
//!
//! # Example
//!
//! ```
//! use kreplay::{list_partitions, Partition, ReadOptions};
//!
//! # fn main() -> kreplay::Result<()> {
//! let log_dir = std::path::Path::new("../fixtures/conformance/corpus/v2-uncompressed");
//! let options = ReadOptions::default();
//! let mut inflater = options.inflater();
//! let mut count = 0;
//! for dir in list_partitions(log_dir)? {
//!     let partition = Partition::open(&dir, options)?;
//!     for n in 0..partition.segments().len() {
//!         let segment = partition.open_segment(n)?;
//!         for batch in segment.batches() {
//!             let batch = batch?;
//!             let records = batch
//!                 .records(&mut inflater)
//!                 .map_err(|kind| segment.corrupt(batch.position, Some(batch.base_offset()), kind))?;
//!             for record in records {
//!                 let record = record
//!                     .map_err(|kind| segment.corrupt(batch.position, Some(batch.base_offset()), kind))?;
//!                 assert_eq!(record.offset(), count);
//!                 count += 1;
//!             }
//!         }
//!     }
//!     assert_eq!(partition.log_end_offset()?, 100);
//! }
//! assert_eq!(count, 100);
//! # Ok(())
//! # }
//! ```

#![deny(missing_docs)]
#![deny(rustdoc::broken_intra_doc_links, rustdoc::private_intra_doc_links)]

#[cfg(feature = "arrow")]
pub mod arrow;
mod codec;
mod compression;
mod consumer;
mod error;
#[cfg(feature = "export")]
pub mod export;
mod group;
pub mod index;
mod log_dir;
mod mmap;
mod offsets;
mod partition;
mod prefetch;
mod record;
mod segment;
pub mod state;
mod verify;
pub mod writer;

pub use compression::{compress, Compression, Decompressor};
pub use consumer::{
    AbortedTxnSource, AutoOffsetReset, Consumer, ConsumerBatch, ConsumerBatches, ConsumerConfig,
    ConsumerRebalanceListener, ConsumerRecord, ConsumerRecordIter, ConsumerRecords, Damage,
    IsolationLevel, OnDamage,
};
pub use error::{Corruption, Error, Result};
pub use group::{
    Assignor, ConsumerGroupState, CooperativeAssignment, GroupAssignment, GroupDescription,
    MemberDescription, Subscription, UnknownAssignor,
};
pub use log_dir::{
    classify, list_partitions, read_offset_checkpoint, LogPath, PartitionDir, TopicPartition,
    LOG_START_OFFSET_CHECKPOINT,
};
pub use mmap::{shrunk_mapping_faults, Mapping, ReadStrategy, SharedBytes};
pub use offsets::{OffsetAndMetadata, OffsetStore, MAX_GROUP_DIR_NAME_LEN, MAX_METADATA_BYTES};
pub use partition::{
    list_segments, LogPosition, Partition, ReadOptions, SegmentFile, TimestampAndOffset,
};
pub use prefetch::{IoMode, Prefetcher, DISABLE_IO_URING_ENV, IO_URING_READ_ENV};
pub use record::{
    crc32_ieee, crc32c, write_varint, write_varlong, ControlRecordType, Header, HeaderIter,
    Headers, Inflater, Record, RecordBatch, Records, ResumePoint, TimestampType,
    DEFAULT_MAX_INFLATED_BYTES, LOG_OVERHEAD, MAGIC_V0, MAGIC_V1, MAGIC_V2, RECORD_BATCH_OVERHEAD,
};
pub use segment::{
    base_offset_from_file_name, segment_file_name, Batches, FileBatch, Segment, SegmentEnd,
    TornTail, TornTailKind,
};
pub use verify::{
    verify_partition, verify_path, verify_segment_file, IndexKind, Issue, IssueKind,
    PartitionReport, PartitionVerifier, SegmentReport, Severity, VerifyOptions, VerifySummary,
};
