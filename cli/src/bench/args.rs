//! `kreplay bench`'s flags and the configuration they make.

use std::path::PathBuf;

use clap::Args;
use kreplay::Compression;

use crate::shared_args::{format, parse_at_least_one, Format};

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// A log dir to measure, only read [default: a log generated in a temporary
    /// directory, removed afterwards].
    #[arg(value_name = "LOG_DIR")]
    log_dir: Option<PathBuf>,
    /// Records of the generated log, over all partitions [default: 4000000; --quick: 20000].
    #[arg(long, value_name = "N", conflicts_with = "log_dir")]
    records: Option<u64>,
    /// Value size of the generated records, in bytes.
    #[arg(
        long,
        value_name = "BYTES",
        default_value_t = 100,
        conflicts_with = "log_dir"
    )]
    value_size: usize,
    /// Codec of the generated log: none, gzip, snappy, lz4 or zstd.
    #[arg(long, value_name = "CODEC", default_value_t = Compression::None, conflicts_with = "log_dir")]
    codec: Compression,
    /// Partitions of the generated log.
    #[arg(long, value_name = "N", default_value_t = 2, value_parser = clap::value_parser!(i32).range(1..), conflicts_with = "log_dir")]
    partitions: i32,
    /// Rounds; every measurement runs once per round, interleaved [default: 3; --quick: 1].
    #[arg(long, value_name = "N", value_parser = parse_at_least_one)]
    rounds: Option<usize>,
    /// One JSON object per measurement, then a summary.
    #[arg(long)]
    json: bool,
    /// A quick check of the harness (CI): a tiny log, one round, caches
    /// evicted with posix_fadvise only.
    #[arg(long)]
    quick: bool,
}

#[derive(Debug, Clone)]
pub struct BenchConfig {
    /// The log dir to measure; `None`: generate `gen` into a temporary dir.
    pub log_dir: Option<PathBuf>,
    /// What to generate (`log_dir` is set when run).
    pub gen: kreplay::writer::GenConfig,
    pub rounds: usize,
    pub format: Format,
    /// CI mode: tiny log, one round, no global drop_caches.
    pub quick: bool,
}

impl BenchArgs {
    /// What `bench` runs with.
    pub fn config(self) -> BenchConfig {
        BenchConfig {
            gen: kreplay::writer::GenConfig::default()
                .with_partitions(self.partitions)
                .with_records_per_topic(self.records.unwrap_or(if self.quick {
                    20_000
                } else {
                    4_000_000
                }))
                .with_value_size(self.value_size)
                .with_compression(self.codec),
            log_dir: self.log_dir,
            rounds: self.rounds.unwrap_or(if self.quick { 1 } else { 3 }),
            format: format(self.json),
            quick: self.quick,
        }
    }
}
