//! [`generate`]: a whole, deterministic log dir of realistic records for
//! `kreplay gen`, fixtures and benchmarks.

use std::fmt::Write as _;
use std::fs;
use std::path::PathBuf;

use crate::compression::Compression;
use crate::error::{Error, Result};

use super::encode::{EndTransactionMarker, RecordSpec, TransactionResult};
use super::partition::{
    write_log_start_offset_checkpoint, MarkerSpec, PartitionWriter, WriterOptions,
    DEFAULT_INDEX_INTERVAL_BYTES, DEFAULT_SEGMENT_BYTES,
};

/// First record timestamp of a generated log (2023-11-14T22:13:20Z).
pub const GEN_EPOCH_MS: i64 = 1_700_000_000_000;
/// Producer ids of generated transactions start here (one per partition).
pub const GEN_FIRST_PRODUCER_ID: i64 = 1000;

/// How generated records are spread over a topic's partitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Partitioner {
    /// Record `i` goes to partition `i % partitions`.
    #[default]
    RoundRobin,
    /// The Java client's default for keyed records:
    /// `(murmur2(key) & 0x7fffffff) % partitions`.
    KeyHash,
}

/// What [`generate`] writes. `Default` gives one topic `metrics` with 4
/// partitions and 100,000 records of 256 bytes, uncompressed, in batches of
/// 500, no transactions, seed 0; `log_dir` must be set.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct GenConfig {
    /// The log dir to write the partition dirs into (created if missing).
    pub log_dir: PathBuf,
    /// Topic names.
    pub topics: Vec<String>,
    /// Partitions per topic.
    pub partitions: i32,
    /// Records per topic, spread over its partitions by `partitioner`.
    pub records_per_topic: u64,
    /// How records are spread over partitions.
    pub partitioner: Partitioner,
    /// Number of distinct hosts (keys) the metrics come from.
    pub hosts: u32,
    /// Key size: `None` keeps the host name (`web-017`); `Some(n)` fits it to
    /// exactly `n` bytes (its tail when shorter, a domain suffix when
    /// longer).
    pub key_size: Option<usize>,
    /// Value size in bytes: JSON metrics padded with a `tags` field (or
    /// trimmed to fewer fields, then cut) to exactly this size.
    pub value_size: usize,
    /// Batch codec.
    pub compression: Compression,
    /// Records per batch (the last batch of a partition may be smaller).
    pub records_per_batch: usize,
    /// Kafka's `segment.bytes`.
    pub segment_bytes: u32,
    /// Kafka's `index.interval.bytes`.
    pub index_interval_bytes: u32,
    /// Share of batches written inside a transaction (each batch its own
    /// transaction, followed by its marker), 0.0 to 1.0.
    pub transactional_ratio: f64,
    /// Share of those transactions that are aborted, 0.0 to 1.0.
    pub abort_ratio: f64,
    /// First offset of every partition.
    pub start_offset: i64,
    /// PRNG seed: the same config and seed give the same bytes.
    pub seed: u64,
}

impl Default for GenConfig {
    fn default() -> Self {
        GenConfig {
            log_dir: PathBuf::new(),
            topics: vec!["metrics".to_string()],
            partitions: 4,
            records_per_topic: 100_000,
            partitioner: Partitioner::RoundRobin,
            hosts: 64,
            key_size: None,
            value_size: 256,
            compression: Compression::None,
            records_per_batch: 500,
            segment_bytes: DEFAULT_SEGMENT_BYTES,
            index_interval_bytes: DEFAULT_INDEX_INTERVAL_BYTES,
            transactional_ratio: 0.0,
            abort_ratio: 0.1,
            start_offset: 0,
            seed: 0,
        }
    }
}

/// What [`generate`] wrote.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GenSummary {
    /// Data records written (markers not included), aborted ones included.
    pub records: u64,
    /// Data records inside aborted transactions.
    pub aborted_records: u64,
    /// Data batches written.
    pub batches: u64,
    /// Transaction-marker control batches written.
    pub control_batches: u64,
    /// Bytes of `.log` files written.
    pub bytes: u64,
    /// Per partition, sorted by topic then partition.
    pub partitions: Vec<PartitionSummary>,
}

/// What [`generate`] wrote to one partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionSummary {
    /// The topic.
    pub topic: String,
    /// The partition number.
    pub partition: i32,
    /// First offset.
    pub log_start_offset: i64,
    /// Log end offset (next offset to write), markers included.
    pub log_end_offset: i64,
    /// Data records.
    pub records: u64,
    /// Data batches.
    pub batches: u64,
    /// Control batches.
    pub control_batches: u64,
    /// Segment files.
    pub segments: usize,
    /// Bytes of `.log` files.
    pub bytes: u64,
}

/// Writes a whole log dir from `config`: every topic's partition dirs with
/// segments and indexes, and a `log-start-offset-checkpoint`. Records are
/// server metrics as JSON (`{"host":"web-017","dc":"eu-west-1","cpu":37.2,...,"ts":...}`),
/// keyed by host, with timestamps a few milliseconds apart from
/// [`GEN_EPOCH_MS`]; everything is drawn from a `fastrand` PRNG seeded with
/// `config.seed`, so the same config writes the same bytes. Fails if a
/// partition dir already holds segments.
pub fn generate(config: &GenConfig) -> Result<GenSummary> {
    validate(config)?;
    fs::create_dir_all(&config.log_dir).map_err(|e| Error::io(&config.log_dir, e))?;
    let mut rng = fastrand::Rng::with_seed(config.seed);
    let mut hosts: Vec<Host> = (0..config.hosts).map(|i| Host::new(i, &mut rng)).collect();
    let mut clock = GEN_EPOCH_MS;
    let mut summary = GenSummary::default();
    let mut key = Vec::new();
    let mut text = String::new();

    for (topic_index, topic) in config.topics.iter().enumerate() {
        let options = WriterOptions {
            compression: config.compression,
            segment_bytes: config.segment_bytes,
            index_interval_bytes: config.index_interval_bytes,
            start_offset: config.start_offset,
            ..WriterOptions::default()
        };
        let mut partitions = Vec::with_capacity(config.partitions as usize);
        for partition in 0..config.partitions {
            let writer = PartitionWriter::open(&config.log_dir, topic, partition, options.clone())?;
            let global_index =
                topic_index as i64 * i64::from(config.partitions) + i64::from(partition);
            partitions.push(GenPartition {
                writer,
                producer_id: GEN_FIRST_PRODUCER_ID + global_index,
                pending: Vec::with_capacity(config.records_per_batch),
                pending_len: 0,
                summary: PartitionSummary {
                    topic: topic.clone(),
                    partition,
                    log_start_offset: config.start_offset,
                    log_end_offset: config.start_offset,
                    records: 0,
                    batches: 0,
                    control_batches: 0,
                    segments: 0,
                    bytes: 0,
                },
                aborted_records: 0,
            });
        }

        for i in 0..config.records_per_topic {
            clock += rng.i64(1..=4);
            let host_index = rng.u32(..config.hosts) as usize;
            let Some(host) = hosts.get_mut(host_index) else {
                continue;
            };
            host.step(&mut rng);
            host.fit_key(config.key_size, &mut key);
            let partition_index = match config.partitioner {
                Partitioner::RoundRobin => (i % config.partitions as u64) as usize,
                Partitioner::KeyHash => {
                    ((murmur2(&key) & 0x7fff_ffff) % config.partitions) as usize
                }
            };
            let Some(target) = partitions.get_mut(partition_index) else {
                continue;
            };
            let slot = target.next_slot();
            slot.timestamp = clock;
            let slot_key = slot.key.get_or_insert_with(Vec::new);
            slot_key.clear();
            slot_key.extend_from_slice(&key);
            let value = slot.value.get_or_insert_with(Vec::new);
            host.write_value(clock, config.value_size, &mut rng, &mut text, value);
            if target.pending_len == config.records_per_batch {
                target.flush(config, &mut rng, &mut clock)?;
            }
        }

        for mut target in partitions {
            target.flush(config, &mut rng, &mut clock)?;
            target.summary.log_end_offset = target.writer.next_offset();
            target.summary.segments = target.writer.segment_count();
            target.writer.close()?;
            summary.records += target.summary.records;
            summary.aborted_records += target.aborted_records;
            summary.batches += target.summary.batches;
            summary.control_batches += target.summary.control_batches;
            summary.bytes += target.summary.bytes;
            summary.partitions.push(target.summary);
        }
    }

    summary
        .partitions
        .sort_by(|a, b| (&a.topic, a.partition).cmp(&(&b.topic, b.partition)));
    let entries: Vec<(&str, i32, i64)> = summary
        .partitions
        .iter()
        .map(|p| (p.topic.as_str(), p.partition, p.log_start_offset))
        .collect();
    write_log_start_offset_checkpoint(&config.log_dir, &entries)?;
    Ok(summary)
}

fn validate(config: &GenConfig) -> Result<()> {
    let fail = |message: String| Err(Error::Config(message));
    if config.log_dir.as_os_str().is_empty() {
        return fail("generate needs a log dir".into());
    }
    if config.topics.is_empty() {
        return fail("generate needs at least one topic".into());
    }
    let mut names: Vec<&String> = config.topics.iter().collect();
    names.sort();
    if names.windows(2).any(|pair| pair.first() == pair.last()) {
        return fail("topic names must be distinct".into());
    }
    if config.partitions < 1 {
        return fail(format!(
            "partitions must be at least 1, not {}",
            config.partitions
        ));
    }
    if config.records_per_batch < 1 {
        return fail("records_per_batch must be at least 1".into());
    }
    if config.hosts < 1 {
        return fail("hosts must be at least 1".into());
    }
    for (name, ratio) in [
        ("transactional_ratio", config.transactional_ratio),
        ("abort_ratio", config.abort_ratio),
    ] {
        if !(0.0..=1.0).contains(&ratio) {
            return fail(format!("{name} {ratio} is outside 0.0..=1.0"));
        }
    }
    Ok(())
}

/// One partition being generated: its writer and the batch being filled.
struct GenPartition {
    writer: PartitionWriter,
    producer_id: i64,
    /// Reused records: the first `pending_len` are the current batch.
    pending: Vec<RecordSpec>,
    pending_len: usize,
    summary: PartitionSummary,
    aborted_records: u64,
}

impl GenPartition {
    /// The next record slot of the batch, reusing an old record's buffers.
    fn next_slot(&mut self) -> &mut RecordSpec {
        let index = self.pending_len;
        self.pending_len += 1;
        if index == self.pending.len() {
            self.pending.push(RecordSpec::default());
        }
        // In range: `pending_len` never exceeds `pending.len()`.
        let slot = &mut self.pending[index];
        slot.offset_delta = i32::try_from(index).unwrap_or(i32::MAX);
        slot
    }

    /// Writes the pending records as one batch (in a transaction, with its
    /// marker, for a `transactional_ratio` share of batches).
    fn flush(
        &mut self,
        config: &GenConfig,
        rng: &mut fastrand::Rng,
        clock: &mut i64,
    ) -> Result<()> {
        let count = self.pending_len;
        if count == 0 {
            return Ok(());
        }
        self.pending_len = 0;
        let records = self.pending.get(..count).unwrap_or_default();
        let transactional =
            config.transactional_ratio > 0.0 && rng.f64() < config.transactional_ratio;
        let info = if transactional {
            self.writer
                .append_transactional(self.producer_id, 0, records)?
        } else {
            self.writer.append(records)?
        };
        self.summary.records += count as u64;
        self.summary.batches += 1;
        self.summary.bytes += info.size_in_bytes;
        if transactional {
            let aborted = config.abort_ratio > 0.0 && rng.f64() < config.abort_ratio;
            *clock += 1;
            let marker = MarkerSpec {
                producer_id: self.producer_id,
                producer_epoch: 0,
                marker: EndTransactionMarker {
                    result: if aborted {
                        TransactionResult::Abort
                    } else {
                        TransactionResult::Commit
                    },
                    coordinator_epoch: 0,
                },
                timestamp: *clock,
            };
            let info = self.writer.write_marker(&marker)?;
            self.summary.control_batches += 1;
            self.summary.bytes += info.size_in_bytes;
            if aborted {
                self.aborted_records += count as u64;
            }
        }
        Ok(())
    }
}

const HOST_ROLES: [&str; 6] = ["web", "api", "db", "cache", "worker", "edge"];
const DATACENTERS: [&str; 4] = ["eu-west-1", "us-east-1", "us-west-2", "ap-south-1"];
const TAG_WORDS: [&str; 16] = [
    "env=prod",
    "env=staging",
    "team=payments",
    "team=search",
    "tier=gold",
    "tier=silver",
    "os=linux",
    "kernel=6.1.0",
    "rack=r12",
    "rack=r07",
    "az=a",
    "az=b",
    "svc=checkout",
    "svc=catalog",
    "canary=false",
    "version=2.14.3",
];

/// A simulated host: its name and metrics that wander between samples.
struct Host {
    name: String,
    datacenter: &'static str,
    cpu: f64,
    memory: f64,
    disk_io: u32,
    net_rx_kbps: u32,
    net_tx_kbps: u32,
    load1: f64,
}

impl Host {
    fn new(index: u32, rng: &mut fastrand::Rng) -> Self {
        let role = HOST_ROLES
            .get(index as usize % HOST_ROLES.len())
            .copied()
            .unwrap_or("web");
        let datacenter = DATACENTERS
            .get(index as usize / HOST_ROLES.len() % DATACENTERS.len())
            .copied()
            .unwrap_or("eu-west-1");
        Host {
            name: format!("{role}-{:03}", index + 1),
            datacenter,
            cpu: rng.f64() * 80.0 + 5.0,
            memory: rng.f64() * 60.0 + 20.0,
            disk_io: rng.u32(50..5000),
            net_rx_kbps: rng.u32(100..20_000),
            net_tx_kbps: rng.u32(100..10_000),
            load1: rng.f64() * 4.0,
        }
    }

    /// Moves the metrics a little, as successive samples do.
    fn step(&mut self, rng: &mut fastrand::Rng) {
        self.cpu = (self.cpu + rng.f64() * 10.0 - 5.0).clamp(0.0, 100.0);
        self.memory = (self.memory + rng.f64() * 2.0 - 1.0).clamp(0.0, 100.0);
        self.disk_io = self
            .disk_io
            .saturating_add(rng.u32(0..200))
            .saturating_sub(100)
            .max(1);
        self.net_rx_kbps = self
            .net_rx_kbps
            .saturating_add(rng.u32(0..1000))
            .saturating_sub(500)
            .max(1);
        self.net_tx_kbps = self
            .net_tx_kbps
            .saturating_add(rng.u32(0..600))
            .saturating_sub(300)
            .max(1);
        self.load1 = (self.load1 + rng.f64() * 0.4 - 0.2).clamp(0.0, 64.0);
    }

    /// The key: the host name, or it fitted to `size` bytes.
    fn fit_key(&self, size: Option<usize>, key: &mut Vec<u8>) {
        key.clear();
        let name = self.name.as_bytes();
        match size {
            None => key.extend_from_slice(name),
            Some(size) if size <= name.len() => {
                key.extend_from_slice(name.get(name.len() - size..).unwrap_or_default());
            }
            Some(size) => {
                key.extend_from_slice(name);
                let suffix = format!(".{}.compute.internal", self.datacenter);
                while key.len() < size {
                    let take = (size - key.len()).min(suffix.len());
                    key.extend_from_slice(suffix.as_bytes().get(..take).unwrap_or_default());
                }
            }
        }
    }

    /// Writes the JSON value of one sample at `ts`, fitted to `size` bytes.
    fn write_value(
        &self,
        ts: i64,
        size: usize,
        rng: &mut fastrand::Rng,
        text: &mut String,
        value: &mut Vec<u8>,
    ) {
        value.clear();
        text.clear();
        let _ = write!(
            text,
            "{{\"host\":\"{}\",\"dc\":\"{}\",\"cpu\":{:.1},\"memory\":{:.1},\"disk_io\":{},\
             \"net_rx_kbps\":{},\"net_tx_kbps\":{},\"load1\":{:.2},\"ts\":{}",
            self.name,
            self.datacenter,
            self.cpu,
            self.memory,
            self.disk_io,
            self.net_rx_kbps,
            self.net_tx_kbps,
            self.load1,
            ts
        );
        if text.len() + 1 > size {
            text.clear();
            let _ = write!(
                text,
                "{{\"host\":\"{}\",\"cpu\":{:.1},\"ts\":{}",
                self.name, self.cpu, ts
            );
        }
        if text.len() + 1 > size {
            text.push('}');
            value.extend_from_slice(text.as_bytes().get(..size).unwrap_or_default());
            return;
        }
        const TAGS_OPEN: &str = ",\"tags\":\"";
        let gap = size - text.len() - 1;
        if gap > TAGS_OPEN.len() {
            let filler = gap - TAGS_OPEN.len() - 1;
            text.push_str(TAGS_OPEN);
            let target = text.len() + filler;
            while text.len() < target {
                if text.len() + 1 < target && !text.ends_with('"') {
                    text.push(' ');
                }
                let word = TAG_WORDS
                    .get(rng.u32(..TAG_WORDS.len() as u32) as usize)
                    .copied()
                    .unwrap_or("env=prod");
                let take = word.len().min(target - text.len());
                text.push_str(word.get(..take).unwrap_or_default());
            }
            text.push('"');
        } else {
            // JSON allows whitespace before the closing brace.
            for _ in 0..gap {
                text.push(' ');
            }
        }
        text.push('}');
        value.extend_from_slice(text.as_bytes());
    }
}

/// Kafka's `Utils.murmur2` (the default partitioner's hash).
pub fn murmur2(data: &[u8]) -> i32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    let length = data.len();
    let mut h: u32 = SEED ^ (length as u32);
    let mut chunks = data.chunks_exact(4);
    for chunk in &mut chunks {
        let mut bytes = [0u8; 4];
        bytes.copy_from_slice(chunk);
        let mut k = u32::from_le_bytes(bytes);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let tail = chunks.remainder();
    if !tail.is_empty() {
        for (i, &byte) in tail.iter().enumerate().rev() {
            h ^= u32::from(byte) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::Path;

    use super::super::test_support::*;
    use super::*;

    #[test]
    fn murmur2_matches_kafka() {
        // Kafka's UtilsTest.testMurmur2.
        let cases: &[(&[u8], i32)] = &[
            (b"21", -973_932_308),
            (b"foobar", -790_332_482),
            (b"a-little-bit-long-string", -985_981_536),
            (b"a-little-bit-longer-string", -1_486_304_829),
            (
                b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
                -58_897_971,
            ),
            (b"abc", 479_470_107),
        ];
        for &(input, expected) in cases {
            assert_eq!(
                murmur2(input),
                expected,
                "{}",
                String::from_utf8_lossy(input)
            );
        }
    }

    fn all_files(root: &Path) -> BTreeMap<String, Vec<u8>> {
        let mut out = BTreeMap::new();
        let mut stack = vec![root.to_path_buf()];
        while let Some(dir) = stack.pop() {
            for entry in fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else {
                    let name = path
                        .strip_prefix(root)
                        .unwrap()
                        .to_string_lossy()
                        .into_owned();
                    out.insert(name, fs::read(&path).unwrap());
                }
            }
        }
        out
    }

    fn small_config(dir: &Path, seed: u64) -> GenConfig {
        GenConfig {
            log_dir: dir.to_path_buf(),
            topics: vec!["metrics".into(), "events".into()],
            partitions: 3,
            records_per_topic: 3000,
            records_per_batch: 50,
            segment_bytes: 100_000,
            transactional_ratio: 0.3,
            abort_ratio: 0.5,
            seed,
            ..GenConfig::default()
        }
    }

    #[test]
    fn same_seed_same_bytes_other_seed_other_bytes() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let c = tempfile::tempdir().unwrap();
        let summary_a = generate(&small_config(a.path(), 42)).unwrap();
        let summary_b = generate(&small_config(b.path(), 42)).unwrap();
        let summary_c = generate(&small_config(c.path(), 43)).unwrap();
        assert_eq!(summary_a, summary_b);
        let files_a = all_files(a.path());
        assert!(files_a.len() > 10);
        assert_eq!(files_a, all_files(b.path()));
        let files_c = all_files(c.path());
        let log = "metrics-0/00000000000000000000.log";
        assert_ne!(files_a[log], files_c[log]);
        assert_ne!(summary_a, summary_c);
        // Writing into a dir that already has the partitions fails.
        assert!(generate(&small_config(a.path(), 42)).is_err());
    }

    #[test]
    fn summary_matches_the_files() {
        let tmp = tempfile::tempdir().unwrap();
        let summary = generate(&small_config(tmp.path(), 1)).unwrap();
        assert_eq!(summary.records, 6000);
        assert_eq!(summary.partitions.len(), 6);
        assert!(summary.control_batches > 0 && summary.aborted_records > 0);
        let mut total_bytes = 0;
        for p in &summary.partitions {
            // Round robin: 3000 / 3 each.
            assert_eq!(p.records, 1000);
            assert_eq!(
                p.log_end_offset,
                p.records as i64 + p.control_batches as i64
            );
            let dir = tmp.path().join(format!("{}-{}", p.topic, p.partition));
            let segs = segments(&dir);
            assert_eq!(segs.len(), p.segments);
            let batches: Vec<TestBatch> = segs.iter().flat_map(|s| read_log(&s.1)).collect();
            assert_eq!(batches.len() as u64, p.batches + p.control_batches);
            assert_eq!(batches.last().unwrap().last_offset + 1, p.log_end_offset);
            let bytes: u64 = batches.iter().map(|b| b.size).sum();
            assert_eq!(bytes, p.bytes);
            total_bytes += bytes;
            let aborts = batches
                .iter()
                .filter(|b| b.attributes & 0x20 != 0)
                .filter(|b| records_of(b)[0].key.as_deref() == Some(&[0, 0, 0, 0][..]))
                .count();
            let txn_entries: usize = segs
                .iter()
                .map(|s| s.1.with_extension("txnindex"))
                .filter(|p| p.exists())
                .map(|p| read_txn_index(&p).len())
                .sum();
            assert_eq!(aborts, txn_entries);
            // Timestamps increase through each partition.
            let timestamps: Vec<i64> = batches
                .iter()
                .filter(|b| b.attributes & 0x20 == 0)
                .flat_map(records_of)
                .map(|r| r.timestamp)
                .collect();
            assert!(timestamps.windows(2).all(|w| w[0] < w[1]));
            assert!(timestamps[0] > GEN_EPOCH_MS);
        }
        assert_eq!(total_bytes, summary.bytes);
        let checkpoint =
            fs::read_to_string(tmp.path().join("log-start-offset-checkpoint")).unwrap();
        assert!(checkpoint.starts_with("0\n6\nevents 0 0\n"), "{checkpoint}");
    }

    #[test]
    fn values_are_json_of_the_requested_size_and_keys_hash_to_their_partition() {
        for (value_size, key_size) in [
            (256usize, None),
            (1000, Some(40)),
            (130, Some(3)),
            (60, Some(7)),
            (20, None),
            (0, Some(0)),
        ] {
            let tmp = tempfile::tempdir().unwrap();
            let config = GenConfig {
                log_dir: tmp.path().to_path_buf(),
                partitions: 5,
                records_per_topic: 400,
                records_per_batch: 64,
                partitioner: Partitioner::KeyHash,
                value_size,
                key_size,
                hosts: 20,
                ..GenConfig::default()
            };
            let summary = generate(&config).unwrap();
            assert_eq!(summary.records, 400);
            for p in &summary.partitions {
                let dir = tmp.path().join(format!("metrics-{}", p.partition));
                for record in segments(&dir)
                    .iter()
                    .flat_map(|s| read_log(&s.1))
                    .flat_map(|b| records_of(&b))
                {
                    let value = record.value.unwrap();
                    assert_eq!(value.len(), value_size);
                    let key = record.key.unwrap();
                    if let Some(size) = key_size {
                        assert_eq!(key.len(), size);
                    }
                    assert_eq!(
                        (murmur2(&key) & 0x7fff_ffff) % 5,
                        p.partition,
                        "key hash partition"
                    );
                    if value_size >= 60 {
                        let json: serde_json::Value = serde_json::from_slice(&value)
                            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&value)));
                        assert!(
                            json["host"].is_string()
                                && json["ts"].as_i64().unwrap() == record.timestamp
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn invalid_configs_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let base = GenConfig {
            log_dir: tmp.path().to_path_buf(),
            ..GenConfig::default()
        };
        for bad in [
            GenConfig {
                log_dir: PathBuf::new(),
                ..base.clone()
            },
            GenConfig {
                topics: vec![],
                ..base.clone()
            },
            GenConfig {
                topics: vec!["a".into(), "a".into()],
                ..base.clone()
            },
            GenConfig {
                partitions: 0,
                ..base.clone()
            },
            GenConfig {
                records_per_batch: 0,
                ..base.clone()
            },
            GenConfig {
                hosts: 0,
                ..base.clone()
            },
            GenConfig {
                transactional_ratio: 1.5,
                ..base.clone()
            },
            GenConfig {
                abort_ratio: f64::NAN,
                ..base.clone()
            },
        ] {
            assert!(generate(&bad).is_err(), "{bad:?}");
        }
    }
}
