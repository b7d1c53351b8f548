//! `kreplay dump`'s flags and the configuration they make.

use std::path::PathBuf;

use clap::{ArgAction, Args, ValueEnum};
use kreplay::ReadOptions;

use crate::dump_state::StateDecoder;
use crate::output::BytesEncoding;
use crate::shared_args::{format, Format, ReadArgs, SegmentNames};

#[derive(Debug, Args)]
pub struct DumpArgs {
    /// Log dirs, partition dirs or segment (.log) files.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Read a file named on the command line even when its name is not a Kafka
    /// segment name (<20-digit base offset>.log); refused otherwise.
    #[arg(long)]
    any_file_name: bool,
    /// Print every record of every batch, not only batch headers.
    #[arg(long)]
    deep_iteration: bool,
    /// Print record keys and payloads (implies --deep-iteration).
    #[arg(long)]
    print_data_log: bool,
    /// One JSON object per line: per batch; with --deep-iteration per record
    /// only, with the conformance fields topic, partition, offset, timestamp,
    /// timestamp_type, key, value, headers, is_control.
    #[arg(long)]
    json: bool,
    /// How keys, values and header values are shown: utf8 shows the text
    /// when the bytes are valid UTF-8, else base64 marked as such (a
    /// `base64:` prefix in text, an object {"base64": "..."} in JSON). Null
    /// stays null, empty stays empty.
    #[arg(long, value_enum, value_name = "ENCODING", default_value_t = BytesArg::Utf8)]
    bytes: BytesArg,
    /// Verify batch CRCs (Kafka's check.crcs).
    #[arg(long, value_name = "true|false", default_value_t = true, action = ArgAction::Set)]
    check_crcs: bool,
    /// Start at the first record whose offset is >= OFFSET.
    #[arg(short = 'o', long, value_name = "OFFSET")]
    offset: Option<i64>,
    /// Stop after N records (at batch level, after the batch that reaches N).
    #[arg(short = 'c', long, value_name = "N")]
    max_records: Option<u64>,
    /// Decode KRaft `__cluster_metadata` records (segments and .checkpoint
    /// snapshots) as kafka-dump-log does; implies --print-data-log. With
    /// --json, `key` and `value` are the decoded objects, beside `tombstone`,
    /// `raw_key` and `raw_value`.
    #[arg(long, conflicts_with_all = ["offsets_decoder", "transaction_log_decoder"])]
    cluster_metadata_decoder: bool,
    /// Decode keys and values as `__consumer_offsets` records (offset
    /// commits, group metadata with members' subscriptions and assignments,
    /// KIP-848 consumer group records; implies --print-data-log). With
    /// --json, `key` and `value` are the decoded objects, `tombstone` says
    /// whether the value is null, `raw_key` / `raw_value` hold the bytes.
    /// Unknown versions are shown raw with a warning on stderr (exit status
    /// unchanged); a record that breaks its version's schema is shown raw
    /// with an error naming the field and its byte position (exit status 1).
    #[arg(long, conflicts_with = "transaction_log_decoder")]
    offsets_decoder: bool,
    /// Decode keys and values as `__transaction_state` records (implies
    /// --print-data-log; --json as with --offsets-decoder).
    #[arg(long)]
    transaction_log_decoder: bool,
    #[command(flatten)]
    read: ReadArgs,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum BytesArg {
    /// Text when valid UTF-8, else marked base64.
    Utf8,
    /// Standard base64 (as expected.jsonl).
    Base64,
    /// Lowercase hex.
    Hex,
}

/// How deep `dump` goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum DumpLevel {
    /// Batch headers.
    Batches,
    /// Batch headers and record metadata.
    Records,
    /// Records with keys and payloads.
    RecordsWithData,
}

#[derive(Debug, Clone)]
pub struct DumpConfig {
    pub paths: Vec<PathBuf>,
    pub segment_names: SegmentNames,
    pub level: DumpLevel,
    pub format: Format,
    pub bytes: BytesEncoding,
    /// `check_crcs` says whether CRCs are verified.
    pub read: ReadOptions,
    pub start_offset: Option<i64>,
    pub max_records: Option<u64>,
    pub decoder: Decoder,
}

/// How `dump` shows record keys and values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decoder {
    /// As bytes (`--bytes`).
    Bytes,
    /// KRaft `__cluster_metadata` records (`--cluster-metadata-decoder`).
    ClusterMetadata,
    /// `__consumer_offsets` (`--offsets-decoder`) or `__transaction_state`
    /// (`--transaction-log-decoder`) records.
    State(StateDecoder),
}

impl DumpArgs {
    /// What `dump` runs with.
    pub fn config(self) -> DumpConfig {
        DumpConfig {
            decoder: if self.cluster_metadata_decoder {
                Decoder::ClusterMetadata
            } else if self.offsets_decoder {
                Decoder::State(StateDecoder::Offsets)
            } else if self.transaction_log_decoder {
                Decoder::State(StateDecoder::TransactionLog)
            } else {
                Decoder::Bytes
            },
            level: if self.print_data_log
                || self.cluster_metadata_decoder
                || self.offsets_decoder
                || self.transaction_log_decoder
            {
                DumpLevel::RecordsWithData
            } else if self.deep_iteration {
                DumpLevel::Records
            } else {
                DumpLevel::Batches
            },
            format: format(self.json),
            bytes: match self.bytes {
                BytesArg::Utf8 => BytesEncoding::Utf8,
                BytesArg::Base64 => BytesEncoding::Base64,
                BytesArg::Hex => BytesEncoding::Hex,
            },
            read: self.read.options(self.check_crcs),
            start_offset: self.offset,
            max_records: self.max_records,
            segment_names: SegmentNames::of(self.any_file_name),
            paths: self.paths,
        }
    }
}
