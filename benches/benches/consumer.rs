//! The consumer end to end and the partition's seek, each beside its
//! baseline in the same group:
//!
//! - `poll/uncompressed/100B`: `Consumer::poll` to the end of a warm
//!   partition (CRCs checked in the fetcher thread, as by default), the
//!   records walked with a `for` loop and with `for_each`, beside plain
//!   record iteration of the same segment on one thread with CRC off
//!   (`records_no_crc`, the floor `poll` approaches): the ratio of the two
//!   reads directly.
//! - `poll/lz4/100B`, `poll/zstd/100B`: `Consumer::poll` (`for_each`, CRCs
//!   on) of a compressed partition, beside the codec alone inflating the same
//!   batches' payloads on one thread. The fetcher inflates while the caller
//!   decodes, so the ratio is what the engine adds to the codec on two cores.
//! - `members/2partitions`: one consumer assigned two partitions, beside two
//!   consumers (one thread each, each assigned one partition) reading them
//!   in parallel; throughput in records of both partitions, so the ratio is
//!   the speed-up.
//! - `seek/random/16MiB_segments`: `Partition::seek` to random offsets of a
//!   multi-segment partition with sane offset indexes, beside the same
//!   partition opened with `ReadOptions::use_indexes` off (each seek scans
//!   batch headers from its segment's start).
//!
//! Every record walk touches offset, timestamp, key, value and header count
//! (`kreplay_benches::touch`) and is checked (count and sum) against plain
//! iteration before it is timed. A consumer is made once per case and
//! rewound (`seek_to_beginning`) before each timed pass, outside the timed
//! part; the fetcher starts on the rewind, microseconds before the clock.
//!
//! `cargo bench -p kreplay-benches --bench consumer`; with `-- --test`, each
//! runs once (harness check).

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use kreplay::writer::WriterOptions;
use kreplay::{
    list_partitions, AutoOffsetReset, Compression, Consumer, ConsumerConfig, Inflater, Partition,
    ReadOptions, ReadStrategy, Segment, TopicPartition,
};
use kreplay_benches::{
    compressed_payloads, inflate_all, kreplay_for_each, kreplay_iterate, make_partition,
    make_partition_with, touch_record,
};

const RECORDS: usize = 200_000;
const BATCH_RECORDS: usize = 500;

/// A consumer of `log_dir` assigned partitions `partitions` of `bench`.
fn consumer(log_dir: &Path, partitions: &[i32], check_crcs: bool) -> Consumer {
    let mut config = ConsumerConfig::new([log_dir.to_path_buf()]);
    config.auto_offset_reset = AutoOffsetReset::Earliest;
    config.check_crcs = check_crcs;
    let mut consumer = Consumer::new(config).expect("consumer");
    let assignment: Vec<TopicPartition> = partitions
        .iter()
        .map(|&p| TopicPartition::new("bench", p))
        .collect();
    consumer.assign(&assignment).expect("assign");
    consumer
}

fn rewind(consumer: &mut Consumer) {
    let assignment = consumer.assignment();
    consumer
        .seek_to_beginning(&assignment)
        .expect("seek to beginning");
}

/// Polls to the end; the records walked with a `for` loop, or with
/// `for_each` when `for_each`. Returns the record count and the sum of
/// [`touch`].
#[inline]
fn poll_to_end(consumer: &mut Consumer, for_each: bool) -> (u64, u64) {
    let (mut records, mut acc) = (0u64, 0u64);
    loop {
        let polled = consumer.poll(Duration::from_secs(5)).expect("poll");
        let empty = polled.is_empty();
        let mut add = |r: kreplay::ConsumerRecord<'_>| {
            records += 1;
            acc = touch_record(acc, &r);
        };
        if for_each {
            polled
                .iter()
                .for_each(|record| add(record.expect("record")));
        } else {
            for record in &polled {
                add(record.expect("record"));
            }
        }
        if empty && consumer.at_end() {
            break;
        }
    }
    (records, acc)
}

/// Time of `iters` passes of `pass`, each after `setup` (untimed).
fn timed<S>(iters: u64, state: &mut S, setup: impl Fn(&mut S), pass: impl Fn(&mut S)) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        setup(state);
        let start = Instant::now();
        pass(state);
        total += start.elapsed();
    }
    total
}

fn poll(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = make_partition(dir.path(), RECORDS, 100, BATCH_RECORDS, Compression::None);
    let segment = Segment::open(&path, ReadStrategy::Mmap).expect("open segment");
    let mut inflater = Inflater::default();
    let expected = (
        RECORDS as u64,
        kreplay_iterate(&segment, true, &mut inflater),
    );
    assert_eq!(kreplay_for_each(&segment, false, &mut inflater), expected.1);

    let mut g = c.benchmark_group("poll/uncompressed/100B");
    g.throughput(Throughput::Elements(RECORDS as u64));
    for (name, check_crcs, for_each) in [
        ("poll_for_crc", true, false),
        ("poll_for_each_crc", true, true),
        ("poll_for_no_crc", false, false),
    ] {
        let mut consumer = consumer(dir.path(), &[0], check_crcs);
        assert_eq!(poll_to_end(&mut consumer, for_each), expected, "{name}");
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                timed(iters, &mut consumer, rewind, |consumer| {
                    black_box(poll_to_end(consumer, for_each));
                })
            })
        });
    }
    // A caller that stopped reading for a while (2 ms, untimed) before each
    // pass: the fetcher has filled its budget and sleeps on its timer by the
    // time the caller catches up.
    let mut consumer = consumer(dir.path(), &[0], true);
    g.bench_function("poll_for_each_crc_after_pause", |b| {
        b.iter_custom(|iters| {
            let pause = |consumer: &mut Consumer| {
                rewind(consumer);
                std::thread::sleep(Duration::from_millis(2));
            };
            timed(iters, &mut consumer, pause, |consumer| {
                black_box(poll_to_end(consumer, true));
            })
        })
    });
    drop(consumer);
    g.bench_function("records_no_crc", |b| {
        b.iter(|| kreplay_iterate(&segment, false, &mut inflater))
    });
    g.bench_function("records_no_crc_for_each", |b| {
        b.iter(|| kreplay_for_each(&segment, false, &mut inflater))
    });
    g.finish();
}

fn poll_compressed(c: &mut Criterion) {
    for codec in [Compression::Lz4, Compression::Zstd] {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = make_partition(dir.path(), RECORDS, 100, BATCH_RECORDS, codec);
        let segment = Segment::open(&path, ReadStrategy::Mmap).expect("open segment");
        let mut inflater = Inflater::default();
        let expected = (
            RECORDS as u64,
            kreplay_iterate(&segment, true, &mut inflater),
        );
        let payloads = compressed_payloads(&segment);
        let mut g = c.benchmark_group(format!("poll/{codec}/100B"));
        g.throughput(Throughput::Elements(RECORDS as u64));
        let mut consumer = consumer(dir.path(), &[0], true);
        assert_eq!(poll_to_end(&mut consumer, true), expected, "{codec}");
        g.bench_function("poll_for_each_crc", |b| {
            b.iter_custom(|iters| {
                timed(iters, &mut consumer, rewind, |consumer| {
                    black_box(poll_to_end(consumer, true));
                })
            })
        });
        let mut decompressor = kreplay::Decompressor::new();
        let mut out = Vec::new();
        g.bench_function("codec_only", |b| {
            b.iter(|| inflate_all(&mut decompressor, codec, &payloads, &mut out))
        });
        g.finish();
    }
}

fn members(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    for partition in [0, 1] {
        make_partition_with(
            dir.path(),
            partition,
            RECORDS,
            100,
            BATCH_RECORDS,
            Compression::None,
            WriterOptions::default(),
        );
    }
    let total = 2 * RECORDS as u64;

    let mut g = c.benchmark_group("members/2partitions");
    g.throughput(Throughput::Elements(total));

    let mut one = consumer(dir.path(), &[0, 1], true);
    assert_eq!(poll_to_end(&mut one, false).0, total);
    g.bench_function("one_consumer", |b| {
        b.iter_custom(|iters| {
            timed(iters, &mut one, rewind, |one| {
                black_box(poll_to_end(one, false));
            })
        })
    });
    drop(one);

    let mut pair = [
        consumer(dir.path(), &[0], true),
        consumer(dir.path(), &[1], true),
    ];
    let both = |pair: &mut [Consumer; 2]| {
        let [a, b] = pair;
        std::thread::scope(|s| {
            let other = s.spawn(|| poll_to_end(a, false));
            let mine = poll_to_end(b, false);
            let theirs = other.join().expect("member thread");
            mine.0 + theirs.0
        })
    };
    assert_eq!(both(&mut pair), total);
    g.bench_function("two_consumers_threads", |b| {
        b.iter_custom(|iters| {
            timed(
                iters,
                &mut pair,
                |pair| pair.iter_mut().for_each(rewind),
                |pair| {
                    black_box(both(pair));
                },
            )
        })
    });
    g.finish();
}

/// Seeks per timed pass.
const SEEKS: usize = 256;
/// Records of the seek partition: 64 MiB of ~100 B records in 16 MiB segments.
const SEEK_RECORDS: usize = 640_000;
/// Records per batch of the seek partition: ~5 KB batches, about 3 300 of
/// them per segment, an offset index entry every ~4 KiB.
const SEEK_BATCH_RECORDS: usize = 50;

fn seek(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let options = WriterOptions::default().with_segment_bytes(16 << 20);
    make_partition_with(
        dir.path(),
        0,
        SEEK_RECORDS,
        100,
        SEEK_BATCH_RECORDS,
        Compression::None,
        options,
    );
    let partition_dir = list_partitions(dir.path())
        .expect("list partitions")
        .into_iter()
        .next()
        .expect("a partition");
    let indexed = Partition::open(&partition_dir, ReadOptions::default()).expect("open");
    let scanning = Partition::open(
        &partition_dir,
        ReadOptions::default().with_use_indexes(false),
    )
    .expect("open");
    assert!(indexed.segments().len() >= 4, "not multi-segment");
    for file in indexed.segments() {
        let index = std::fs::metadata(file.index_path("index")).expect("offset index");
        assert!(index.len() > 0, "empty index for {}", file.path.display());
    }

    let mut rng = fastrand::Rng::with_seed(11);
    let offsets: Vec<i64> = (0..SEEKS)
        .map(|_| rng.i64(0..SEEK_RECORDS as i64))
        .collect();
    for &offset in &offsets {
        let found = indexed.seek(offset).expect("seek");
        assert!(found.is_some(), "offset {offset} not found");
        assert_eq!(
            found,
            scanning.seek(offset).expect("seek"),
            "offset {offset}"
        );
    }

    let mut g = c.benchmark_group("seek/random/16MiB_segments");
    g.throughput(Throughput::Elements(SEEKS as u64));
    for (name, partition) in [("index", &indexed), ("scan_no_index", &scanning)] {
        g.bench_function(name, |b| {
            b.iter(|| {
                offsets
                    .iter()
                    .map(|&o| partition.seek(black_box(o)).expect("seek"))
                    .filter_map(|p| p.map(|p| p.position))
                    .sum::<u64>()
            })
        });
    }
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! {
    name = benches;
    config = config();
    targets = poll, poll_compressed, members, seek
}
criterion_main!(benches);
