//! Replays a log dir through the `Consumer` and reports throughput and the
//! process's peak anonymous memory (what must stay flat whatever the log
//! size: mapped segment pages are file-backed, not anonymous).
//!
//! `cargo run --release -p kreplay --example replay -- LOG_DIR [IO_MODE] [drop-caches]`

use std::time::{Duration, Instant};

use kreplay::{AutoOffsetReset, Consumer, ConsumerConfig, IoMode};

fn rss_anon_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("RssAnon:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn cpu_seconds() -> f64 {
    // utime + stime of this process, in clock ticks (100 Hz on Linux).
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            let rest = s.rsplit_once(')')?.1;
            let fields: Vec<&str> = rest.split_whitespace().collect();
            let utime: f64 = fields.get(11)?.parse().ok()?;
            let stime: f64 = fields.get(12)?.parse().ok()?;
            Some((utime + stime) / 100.0)
        })
        .unwrap_or(0.0)
}

fn main() -> kreplay::Result<()> {
    let mut args = std::env::args().skip(1);
    let log_dir = args
        .next()
        .expect("usage: replay LOG_DIR [IO_MODE] [drop-caches]");
    let io_mode: IoMode = args
        .next()
        .map(|m| m.parse().expect("io mode"))
        .unwrap_or(IoMode::Auto);
    if args.next().as_deref() == Some("drop-caches") {
        let _ = std::fs::write("/proc/sys/vm/drop_caches", "1");
    }
    let mut config = ConsumerConfig::new([log_dir.as_str()]);
    config.auto_offset_reset = AutoOffsetReset::Earliest;
    config.io_mode = io_mode;
    if let Some(n) = std::env::var("MAX_POLL_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        config.max_poll_records = n;
    }
    let mut consumer = Consumer::new(config)?;
    let topics: Vec<String> = consumer.partitions().map(|tp| tp.topic.clone()).collect();
    consumer.subscribe(&topics)?;
    let start = Instant::now();
    let cpu0 = cpu_seconds();
    let (mut records, mut bytes, mut peak) = (0u64, 0u64, rss_anon_kib());
    let mut polls = 0u64;
    loop {
        let batch = consumer.poll(Duration::from_secs(5))?;
        let empty = batch.is_empty();
        for r in &batch {
            let r = r?;
            records += 1;
            bytes += r.value().map_or(0, <[u8]>::len) as u64;
        }
        polls += 1;
        if polls % 256 == 0 {
            peak = peak.max(rss_anon_kib());
        }
        if empty && consumer.at_end() {
            break;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    peak = peak.max(rss_anon_kib());
    println!(
        "io_mode={} records={records} value_bytes={bytes} seconds={secs:.3} records_per_s={:.0} cpu_seconds={:.2} peak_rss_anon_mib={:.1}",
        consumer.io_mode(),
        records as f64 / secs,
        cpu_seconds() - cpu0,
        peak as f64 / 1024.0
    );
    Ok(())
}
