//! A custom reader: every record of a log dir that carries a given header
//! (optionally with a given value), printed as `topic-partition@offset`
//! and its value.
//!
//! ```text
//! cargo run -p kreplay --example header_filter -- fixtures/conformance/corpus/v2-headers trace-id
//! ```
//!
//! It reads through the [`Consumer`](kreplay::Consumer) with every partition
//! assigned and no group: the records arrive in offset order per partition,
//! and every error already names the file, the byte position and the offset.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use kreplay::{list_partitions, AutoOffsetReset, Consumer, ConsumerConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(log_dir), Some(name)) = (args.next(), args.next()) else {
        return Err("usage: header_filter LOG_DIR HEADER_KEY [HEADER_VALUE]".into());
    };
    let wanted_value = args.next();
    let log_dir = PathBuf::from(log_dir);

    let mut config = ConsumerConfig::new([&log_dir]);
    config.auto_offset_reset = AutoOffsetReset::Earliest;
    let mut consumer = Consumer::new(config)?;
    let partitions: Vec<_> = list_partitions(&log_dir)?
        .into_iter()
        .map(|dir| dir.topic_partition)
        .collect();
    consumer.assign(&partitions)?;

    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut matched = 0u64;
    let mut read = 0u64;
    while !consumer.at_end() {
        let records = consumer.poll(Duration::from_secs(1))?;
        for batch in records.batches() {
            let batch = batch?;
            for record in batch.records() {
                let record = record?;
                read += 1;
                let hit = record.headers().iter().any(|h| {
                    h.key == name.as_bytes()
                        && wanted_value
                            .as_deref()
                            .is_none_or(|v| h.value == Some(v.as_bytes()))
                });
                if hit {
                    matched += 1;
                    let value = record.value().map(String::from_utf8_lossy);
                    writeln!(
                        out,
                        "{}@{}\t{}",
                        batch.topic_partition(),
                        record.offset(),
                        value.as_deref().unwrap_or("(null)")
                    )?;
                }
            }
        }
    }
    eprintln!("{matched} of {read} records carry header {name:?}");
    Ok(())
}
