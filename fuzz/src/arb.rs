//! Structured input for `writer_roundtrip`, built with `arbitrary` from the
//! fuzzer's bytes and turned into a [`Scenario`].
//!
//! The shapes lean towards what the writer accepts (offset deltas that
//! increase, a producer id on transactional batches) so that most inputs
//! reach the reader, while leaving room for what it refuses.

use arbitrary::Arbitrary;
use kreplay::writer::{BatchSpec, EndTransactionMarker, LegacySpec, RecordSpec, TransactionResult};
use kreplay::{Compression, TimestampType};

use crate::checks::{BatchCase, Scenario};

/// At most this many batches and records per batch: the interesting bugs
/// need few, and small inputs keep the executions fast.
const MAX_BATCHES: usize = 8;
const MAX_RECORDS: usize = 32;
const MAX_HEADERS: usize = 4;

/// A scenario as `arbitrary` builds it.
#[derive(Debug, Arbitrary)]
pub struct ArbScenario {
    batches: Vec<ArbBatch>,
}

#[derive(Debug, Arbitrary)]
enum ArbBatch {
    V2 {
        base_offset: ArbOffset,
        leader_epoch: Option<i32>,
        codec: ArbCodec,
        log_append_time: bool,
        max_timestamp: Option<ArbTimestamp>,
        transactional: bool,
        producer_id: Option<i64>,
        producer_epoch: Option<i16>,
        base_sequence: Option<i32>,
        delete_horizon_ms: Option<ArbTimestamp>,
        extra_last_offset_delta: Option<u16>,
        records: Vec<ArbRecord>,
    },
    Control {
        base_offset: ArbOffset,
        leader_epoch: Option<i32>,
        log_append_time: bool,
        producer_id: Option<i64>,
        producer_epoch: Option<i16>,
        commit: bool,
        coordinator_epoch: i32,
        timestamp: ArbTimestamp,
    },
    Legacy {
        magic: ArbMagic,
        codec: ArbCodec,
        base_offset: ArbOffset,
        log_append_time: bool,
        append_time: Option<ArbTimestamp>,
        records: Vec<ArbRecord>,
    },
}

#[derive(Debug, Clone, Copy, Arbitrary)]
enum ArbCodec {
    None,
    Gzip,
    Snappy,
    Lz4,
    Zstd,
}

#[derive(Debug, Clone, Copy, Arbitrary)]
enum ArbMagic {
    V0,
    V1,
    Other(i8),
}

#[derive(Debug, Clone, Copy, Arbitrary)]
enum ArbOffset {
    Small(u16),
    Any(i64),
}

#[derive(Debug, Clone, Copy, Arbitrary)]
enum ArbTimestamp {
    /// Around 2023-11-14, as producers write them.
    Near(i16),
    Any(i64),
}

#[derive(Debug, Clone, Copy, Arbitrary)]
enum ArbGap {
    /// The next offset, plus a small gap (compaction).
    Next(u8),
    /// Any delta (the writer refuses one that does not increase).
    Any(i32),
}

#[derive(Debug, Arbitrary)]
struct ArbRecord {
    gap: ArbGap,
    timestamp: ArbTimestamp,
    key: Option<Vec<u8>>,
    value: Option<Vec<u8>>,
    headers: Vec<(String, Option<Vec<u8>>)>,
}

impl From<ArbCodec> for Compression {
    fn from(codec: ArbCodec) -> Compression {
        match codec {
            ArbCodec::None => Compression::None,
            ArbCodec::Gzip => Compression::Gzip,
            ArbCodec::Snappy => Compression::Snappy,
            ArbCodec::Lz4 => Compression::Lz4,
            ArbCodec::Zstd => Compression::Zstd,
        }
    }
}

impl ArbOffset {
    fn get(self) -> i64 {
        match self {
            ArbOffset::Small(n) => i64::from(n),
            ArbOffset::Any(n) => n,
        }
    }
}

impl ArbTimestamp {
    fn get(self) -> i64 {
        match self {
            ArbTimestamp::Near(d) => 1_700_000_000_000 + i64::from(d),
            ArbTimestamp::Any(t) => t,
        }
    }
}

fn timestamp_type(log_append_time: bool) -> TimestampType {
    if log_append_time {
        TimestampType::LogAppendTime
    } else {
        TimestampType::CreateTime
    }
}

fn records(arb: Vec<ArbRecord>, headers: bool) -> Vec<RecordSpec> {
    let mut previous: Option<i32> = None;
    arb.into_iter()
        .take(MAX_RECORDS)
        .map(|r| {
            let offset_delta = match r.gap {
                ArbGap::Next(gap) => previous
                    .map_or(Some(0), |p| p.checked_add(1))
                    .and_then(|d| d.checked_add(i32::from(gap)))
                    .unwrap_or(i32::MAX),
                ArbGap::Any(delta) => delta,
            };
            previous = Some(offset_delta);
            RecordSpec {
                offset_delta,
                timestamp: r.timestamp.get(),
                key: r.key,
                value: r.value,
                headers: if headers {
                    r.headers.into_iter().take(MAX_HEADERS).collect()
                } else {
                    Vec::new()
                },
            }
        })
        .collect()
}

impl From<ArbScenario> for Scenario {
    fn from(arb: ArbScenario) -> Scenario {
        let batches = arb
            .batches
            .into_iter()
            .take(MAX_BATCHES)
            .map(|batch| match batch {
                ArbBatch::V2 {
                    base_offset,
                    leader_epoch,
                    codec,
                    log_append_time,
                    max_timestamp,
                    transactional,
                    producer_id,
                    producer_epoch,
                    base_sequence,
                    delete_horizon_ms,
                    extra_last_offset_delta,
                    records: arb_records,
                } => {
                    let records = records(arb_records, true);
                    let last_offset_delta = extra_last_offset_delta.map(|extra| {
                        records
                            .last()
                            .map_or(0, |r| r.offset_delta)
                            .saturating_add(i32::from(extra))
                    });
                    BatchCase::V2 {
                        spec: BatchSpec {
                            base_offset: base_offset.get(),
                            partition_leader_epoch: leader_epoch,
                            compression: codec.into(),
                            timestamp_type: timestamp_type(log_append_time),
                            max_timestamp: max_timestamp.map(ArbTimestamp::get),
                            is_transactional: transactional,
                            producer_id,
                            producer_epoch,
                            base_sequence,
                            delete_horizon_ms: delete_horizon_ms.map(ArbTimestamp::get),
                            last_offset_delta,
                        },
                        records,
                    }
                }
                ArbBatch::Control {
                    base_offset,
                    leader_epoch,
                    log_append_time,
                    producer_id,
                    producer_epoch,
                    commit,
                    coordinator_epoch,
                    timestamp,
                } => BatchCase::Control {
                    spec: BatchSpec {
                        base_offset: base_offset.get(),
                        partition_leader_epoch: leader_epoch,
                        timestamp_type: timestamp_type(log_append_time),
                        producer_id,
                        producer_epoch,
                        ..BatchSpec::default()
                    },
                    marker: EndTransactionMarker {
                        result: if commit {
                            TransactionResult::Commit
                        } else {
                            TransactionResult::Abort
                        },
                        coordinator_epoch,
                    },
                    timestamp: timestamp.get(),
                },
                ArbBatch::Legacy {
                    magic,
                    codec,
                    base_offset,
                    log_append_time,
                    append_time,
                    records: arb_records,
                } => BatchCase::Legacy {
                    spec: LegacySpec {
                        magic: match magic {
                            ArbMagic::V0 => 0,
                            ArbMagic::V1 => 1,
                            ArbMagic::Other(m) => m,
                        },
                        compression: codec.into(),
                        base_offset: base_offset.get(),
                        timestamp_type: timestamp_type(log_append_time),
                        log_append_time: append_time.map(ArbTimestamp::get),
                    },
                    // No headers: magic 0/1 have none (the writer refuses them).
                    records: records(arb_records, false),
                },
            })
            .collect();
        Scenario { batches }
    }
}
