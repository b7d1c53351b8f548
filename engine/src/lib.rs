//! kreplay reads Apache Kafka partition logs straight from disk, byte for byte
//! as Kafka interprets them, without a broker.
//!
//! # Reading records
//!
//! [`LogDir::open`] finds the partitions under log dirs (or partition dirs);
//! [`Partition::reader`] reads one from the beginning, an offset or a
//! timestamp ([`StartAt`]), as Kafka's consumer would with
//! `read_uncommitted` and no group; [`Segment::reader`] reads one file.
//! Their errors name the file, the position and the offset already.
//!
//! ```
//! use kreplay::{LogDir, StartAt};
//!
//! # fn main() -> kreplay::Result<()> {
//! let log_dir = LogDir::open(["../fixtures/demo"])?;
//! assert_eq!(log_dir.topics(), ["metrics", "orders"]);
//! let orders = log_dir.partition("orders", 0).expect("orders-0");
//! let mut reader = orders.reader(StartAt::Offset(10))?;
//! let mut count = 0;
//! reader.for_each(|record| {
//!     // offset(), timestamp(), key(), value(), headers(): borrowed, no copies
//!     assert!(record.offset() >= 10);
//!     count += 1;
//! })?;
//! assert!(count > 0);
//! # Ok(())
//! # }
//! ```
//!
//! For read_committed, consumer groups and committed offsets, the
//! [`Consumer`] has Kafka's shape (`subscribe` or `assign`, `poll`,
//! `commit_sync`); for the batches as stored, [`Segment::batches`].
//!
//! # Underneath: log dirs, segments, batches
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
mod reader;
mod record;
mod segment;
mod setters;
pub mod state;
pub mod storage;
mod torn_tail;
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
pub use reader::{LogDir, PartitionReader, ReaderBatch, SegmentReader, StartAt};
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
