//! A consumer-group member that commits after processing: it reads topic
//! `orders` of a log dir as a member of group `billing`, "processes" each
//! poll (sums the value bytes) and only then commits, so a crash replays at
//! most the poll it was in (at-least-once, as Kafka's consumers do it).
//! Run it twice with the same state dir: the second run starts where the
//! first committed and, the log being read to its end, finds nothing new.
//!
//! ```text
//! cargo run -p kreplay --example group_member -- fixtures/demo /tmp/kreplay-state
//! ```

use std::path::PathBuf;
use std::time::Duration;

use kreplay::{AutoOffsetReset, Consumer, ConsumerConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(log_dir), Some(state_dir)) = (args.next(), args.next()) else {
        return Err("usage: group_member LOG_DIR STATE_DIR [MAX_RECORDS]".into());
    };
    let max_records: Option<u64> = args.next().map(|n| n.parse()).transpose()?;

    let mut config = ConsumerConfig::new([PathBuf::from(log_dir)]);
    config.group_id = Some("billing".into());
    config.state_dir = Some(PathBuf::from(state_dir));
    // Where a group with no committed offset starts, as Kafka's setting.
    config.auto_offset_reset = AutoOffsetReset::Earliest;
    config.max_poll_records = 500;
    let mut consumer = Consumer::new(config)?;
    consumer.subscribe(&["orders"])?;

    let (mut records_read, mut value_bytes) = (0u64, 0u64);
    loop {
        let records = consumer.poll(Duration::from_secs(1))?;
        let empty = records.is_empty();
        for record in &records {
            let record = record?;
            value_bytes += record.value().map_or(0, |v| v.len() as u64);
            records_read += 1;
        }
        if empty && consumer.at_end() {
            break;
        }
        // Processed: now the positions may be committed.
        consumer.commit_sync()?;
        if max_records.is_some_and(|max| records_read >= max) {
            break;
        }
    }
    for (tp, committed) in consumer.committed(&consumer.assignment())? {
        println!("{tp}\tcommitted {}", committed.offset);
    }
    println!("read {records_read} records, {value_bytes} value bytes");
    consumer.close()?;
    Ok(())
}
