//! Writes a small broker log dir with consumer group state, for the README's
//! disaster-recovery walkthrough (`kreplay group list --from-log-dir`,
//! `kreplay group import`): topic `orders` (2 partitions, 1000 records
//! each) and `__consumer_offsets-0` holding what two groups committed.
//!
//! ```text
//! cargo run -p kreplay --example dead_broker_disk -- /tmp/broker-1
//! ```
//!
//! - `billing` (2 members, `range`): orders-0 committed at 500 then 620
//!   (with metadata), orders-1 at 480; a transactional commit of orders-1
//!   to 900 has no marker (the broker died mid-transaction).
//! - `audit` (no members left): orders-0 at 1000; its orders-1 commit was
//!   deleted (a tombstone, as `kafka-consumer-groups --delete-offsets`).

use std::path::PathBuf;

use kreplay::state::consumer_offsets::{GroupMetadataValue, MemberMetadata};
use kreplay::writer::{
    fill_offset_deltas, group_metadata_record, offset_commit_record, offset_commit_tombstone,
    PartitionWriter, RecordSpec, StateRecord, WriterOptions,
};

const T0: i64 = 1_700_000_000_000;

fn specs(records: &[StateRecord], timestamp: i64) -> Vec<RecordSpec> {
    let mut specs: Vec<RecordSpec> = records
        .iter()
        .map(|r| RecordSpec::new(timestamp, r.key(), r.value()))
        .collect();
    fill_offset_deltas(&mut specs);
    specs
}

fn member(id: &str) -> MemberMetadata {
    MemberMetadata {
        member_id: id.into(),
        client_id: "billing-app".into(),
        client_host: "/10.0.0.7".into(),
        rebalance_timeout: 300_000,
        session_timeout: 45_000,
        ..Default::default()
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let log_dir: PathBuf = std::env::args_os()
        .nth(1)
        .ok_or("usage: dead_broker_disk LOG_DIR")?
        .into();
    for partition in 0..2 {
        let mut w = PartitionWriter::open(&log_dir, "orders", partition, WriterOptions::default())?;
        for first in (0..1000).step_by(50) {
            let values: Vec<String> = (first..first + 50)
                .map(|n| format!("{{\"order\":{n},\"partition\":{partition}}}"))
                .collect();
            let mut batch: Vec<RecordSpec> = values
                .iter()
                .map(|v| RecordSpec::new(T0 + first * 1000, None, Some(v.as_bytes())))
                .collect();
            fill_offset_deltas(&mut batch);
            w.append(&batch)?;
        }
        w.close()?;
    }

    let billing = GroupMetadataValue {
        version: 3,
        protocol_type: "consumer".into(),
        generation: 7,
        protocol: Some("range".into()),
        leader: Some("billing-app-1".into()),
        current_state_timestamp: T0,
        members: vec![member("billing-app-1"), member("billing-app-2")],
        unknown_tagged_fields: Vec::new(),
    };
    let audit = GroupMetadataValue {
        version: 3,
        generation: 3,
        ..Default::default()
    };
    let mut w = PartitionWriter::open(&log_dir, "__consumer_offsets", 0, WriterOptions::default())?;
    w.append(&specs(
        &[
            group_metadata_record("billing", Some(&billing))?,
            offset_commit_record("billing", "orders", 0, 500, "", T0)?,
            offset_commit_record("billing", "orders", 1, 480, "", T0)?,
            offset_commit_record("audit", "orders", 0, 1000, "", T0)?,
            offset_commit_record("audit", "orders", 1, 1000, "", T0)?,
        ],
        T0,
    ))?;
    w.append(&specs(
        &[
            offset_commit_record("billing", "orders", 0, 620, "batch-31", T0 + 60_000)?,
            offset_commit_tombstone("audit", "orders", 1)?,
            group_metadata_record("audit", Some(&audit))?,
        ],
        T0 + 60_000,
    ))?;
    w.append_transactional(
        4000,
        0,
        &specs(
            &[offset_commit_record(
                "billing",
                "orders",
                1,
                900,
                "",
                T0 + 90_000,
            )?],
            T0 + 90_000,
        ),
    )?;
    w.close()?;
    println!("wrote {}", log_dir.display());
    Ok(())
}
