//! A throughput loop: every record of a log dir through the consumer, the
//! way a replay job reads them, with the records per second and bytes per
//! second it reached. The loop body only touches each record's value length,
//! so the figure is the engine's (mapping, prefetch, CRC, decoding, `poll`).
//!
//! ```text
//! cargo run --release -p kreplay --example throughput -- fixtures/demo
//! ```
//!
//! For a larger log: `kreplay gen /tmp/big --records 10000000` first.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use kreplay::{list_partitions, AutoOffsetReset, Consumer, ConsumerConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let Some(log_dir) = std::env::args().nth(1).map(PathBuf::from) else {
        return Err("usage: throughput LOG_DIR".into());
    };
    let mut config = ConsumerConfig::new([&log_dir]);
    config.auto_offset_reset = AutoOffsetReset::Earliest;
    config.max_poll_records = 10_000;
    let mut consumer = Consumer::new(config)?;
    let partitions: Vec<_> = list_partitions(&log_dir)?
        .into_iter()
        .map(|dir| dir.topic_partition)
        .collect();
    consumer.assign(&partitions)?;

    let started = Instant::now();
    let (mut records, mut bytes) = (0u64, 0u64);
    loop {
        let polled = consumer.poll(Duration::from_secs(1))?;
        let empty = polled.is_empty();
        for batch in polled.batches() {
            // Internal iteration: a batch's records decode in one loop.
            batch?.records().try_for_each(|record| {
                let record = record?;
                records += 1;
                bytes += record.value().map_or(0, |v| v.len() as u64);
                Ok::<_, kreplay::Error>(())
            })?;
        }
        if empty && consumer.at_end() {
            break;
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{records} records, {bytes} value bytes from {} partitions in {seconds:.3} s: {:.1} M records/s, {:.0} MB/s",
        partitions.len(),
        records as f64 / seconds / 1e6,
        bytes as f64 / seconds / 1e6
    );
    Ok(())
}
