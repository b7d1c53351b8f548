//! `kreplay gen`: writes a log dir with the engine's generator and prints
//! what it wrote on stderr.

use std::fs;

use anyhow::{bail, Context};

use crate::args::{GenConfig, Overwrite};
use crate::status::Status;

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
