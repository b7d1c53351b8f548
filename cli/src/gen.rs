//! `kreplay gen`: writes a log dir with the engine's generator and prints
//! what it wrote on stderr.

use std::fs;
use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::Args;
use kreplay::Compression;

use crate::shared_args::{parse_at_least_one, parse_topic};
use crate::status::Status;

#[derive(Debug, Args)]
pub struct GenArgs {
    /// The log dir to create (must be absent or empty unless --force).
    #[arg(value_name = "OUT_DIR")]
    out_dir: PathBuf,
    /// Topic names, comma-separated.
    #[arg(long, value_delimiter = ',', value_name = "TOPICS", default_values_t = DEFAULT_GEN.with(|d| d.topics.clone()), value_parser = parse_topic)]
    topics: Vec<String>,
    /// Partitions per topic.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_GEN.with(|d| d.partitions), value_parser = clap::value_parser!(i32).range(1..))]
    partitions: i32,
    /// Records per topic (spread round-robin over its partitions).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_GEN.with(|d| d.records_per_topic))]
    records: u64,
    /// Key size in bytes [default: the host name the metric comes from, e.g. web-017].
    #[arg(long, value_name = "BYTES")]
    key_size: Option<usize>,
    /// Value size in bytes (JSON metrics padded or cut to it).
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_GEN.with(|d| d.value_size))]
    value_size: usize,
    /// Compression codec: none, gzip, snappy, lz4 or zstd.
    #[arg(long, value_name = "CODEC", default_value_t = DEFAULT_GEN.with(|d| d.compression))]
    codec: Compression,
    /// Records per batch.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_GEN.with(|d| d.records_per_batch), value_parser = parse_at_least_one)]
    batch_records: usize,
    /// Roll to a new segment past this many bytes (Kafka's segment.bytes).
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_GEN.with(|d| d.segment_bytes), value_parser = clap::value_parser!(u32).range(14..))]
    segment_bytes: u32,
    /// Share of batches written in transactions, each followed by its marker (0.0 to 1.0).
    #[arg(long, value_name = "F", default_value_t = DEFAULT_GEN.with(|d| d.transactional_ratio), value_parser = parse_ratio)]
    transactional_ratio: f64,
    /// Share of those transactions that are aborted (0.0 to 1.0).
    #[arg(long, value_name = "F", default_value_t = DEFAULT_GEN.with(|d| d.abort_ratio), value_parser = parse_ratio)]
    abort_ratio: f64,
    /// Seed of the generator: the same flags and seed give the same bytes.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_GEN.with(|d| d.seed))]
    seed: u64,
    /// Write into OUT_DIR even when it is not empty (partitions that already
    /// hold segments are still refused).
    #[arg(long)]
    force: bool,
}

thread_local! {
    /// The engine's defaults, shown in --help and used when a flag is absent.
    static DEFAULT_GEN: kreplay::writer::GenConfig = kreplay::writer::GenConfig::default();
}

fn parse_ratio(s: &str) -> Result<f64, String> {
    let value: f64 = s.parse().map_err(|e| format!("{e}"))?;
    if (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        Err(format!("{value} is not between 0.0 and 1.0"))
    }
}

/// Whether `gen` may write into a non-empty directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overwrite {
    Refuse,
    Force,
}

#[derive(Debug, Clone)]
pub struct GenConfig {
    pub overwrite: Overwrite,
    /// What the engine writes (`log_dir` is OUT_DIR).
    pub gen: kreplay::writer::GenConfig,
}

impl GenArgs {
    /// What `gen` runs with.
    pub fn config(self) -> GenConfig {
        GenConfig {
            overwrite: if self.force {
                Overwrite::Force
            } else {
                Overwrite::Refuse
            },
            gen: kreplay::writer::GenConfig::default()
                .with_log_dir(self.out_dir)
                .with_topics(self.topics)
                .with_partitions(self.partitions)
                .with_records_per_topic(self.records)
                .with_key_size(self.key_size)
                .with_value_size(self.value_size)
                .with_compression(self.codec)
                .with_records_per_batch(self.batch_records)
                .with_segment_bytes(self.segment_bytes)
                .with_transactional_ratio(self.transactional_ratio)
                .with_abort_ratio(self.abort_ratio)
                .with_seed(self.seed),
        }
    }
}

/// Runs `kreplay gen`.
pub fn run(config: &GenConfig) -> anyhow::Result<Status> {
    let dir = &config.gen.log_dir;
    if config.overwrite == Overwrite::Refuse {
        match fs::read_dir(dir) {
            Ok(mut entries) => {
                if entries.next().is_some() {
                    bail!(
                        "{}: the directory is not empty (use --force to write into it anyway)",
                        dir.display()
                    );
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("{}", dir.display())),
        }
    }
    let summary = kreplay::writer::generate(&config.gen)?;
    eprintln!(
        "kreplay: generated {} records ({} aborted) in {} batches and {} transaction markers, {} bytes of .log files, in {}",
        summary.records,
        summary.aborted_records,
        summary.batches,
        summary.control_batches,
        summary.bytes,
        dir.display()
    );
    for p in &summary.partitions {
        eprintln!(
            "  {}-{}: log start offset {}, log end offset {}, {} records, {} batches, {} markers, {} segments, {} bytes",
            p.topic,
            p.partition,
            p.log_start_offset,
            p.log_end_offset,
            p.records,
            p.batches,
            p.control_batches,
            p.segments,
            p.bytes
        );
    }
    Ok(Status::Ok)
}
