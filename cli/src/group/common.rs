//! What the `group` subcommands share (`group/import.rs` too): their
//! error, opening the offsets store and the logs, and the output (JSON
//! lines or a table).

use std::io::Write;
use std::path::PathBuf;

use kreplay::{Consumer, ConsumerConfig, OffsetStore};
use serde::Serialize;

use crate::group::args::GroupConfig;
use crate::output::{self, Out};
use crate::shared_args::Format;

/// Why a group command failed.
#[derive(Debug)]
pub(crate) enum Failure {
    /// Writing stdout (a closed pipe ends quietly).
    Io(std::io::Error),
    /// The engine: I/O (exit 2) or corruption (exit 1).
    Engine(kreplay::Error),
    /// A data error (exit 1): the group does not exist, nothing to shift.
    Data(String),
}

impl From<std::io::Error> for Failure {
    fn from(error: std::io::Error) -> Self {
        Failure::Io(error)
    }
}

impl From<kreplay::Error> for Failure {
    fn from(error: kreplay::Error) -> Self {
        Failure::Engine(error)
    }
}

/// The store, or `None` when the state dir does not exist (then there is no
/// group, and nothing is created).
pub(crate) fn open_store(
    config: &GroupConfig,
    log_dirs: &[PathBuf],
) -> Result<Option<OffsetStore>, Failure> {
    if !config.state_dir.exists() {
        return Ok(None);
    }
    Ok(Some(OffsetStore::open(&config.state_dir, log_dirs)?))
}

/// A consumer over the log dirs, used for log start / end offsets and
/// offsets for times (assigned nothing, so it reads nothing).
pub(crate) fn open_logs(log_dirs: &[PathBuf]) -> Result<Consumer, Failure> {
    let mut consumer_config = ConsumerConfig::new(log_dirs.iter().cloned());
    consumer_config.follow = false;
    Ok(Consumer::new(consumer_config)?)
}

/// Writes `lines` in `format`: one JSON line each, or a table under
/// `header` with one row each, made by `row`.
pub(crate) fn emit<T: Serialize>(
    out: &mut Out,
    format: Format,
    lines: &[T],
    header: &[&str],
    row: impl Fn(&T) -> Vec<String>,
) -> std::io::Result<()> {
    match format {
        Format::Json => {
            for line in lines {
                output::json_line(out, line)?;
            }
            Ok(())
        }
        Format::Text => {
            let rows: Vec<Vec<String>> = lines.iter().map(row).collect();
            table(out, header, &rows)
        }
    }
}

/// Writes rows as a table: columns two spaces apart, padded to the widest cell.
pub(crate) fn table(out: &mut Out, header: &[&str], rows: &[Vec<String>]) -> std::io::Result<()> {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut line = |cells: &mut dyn Iterator<Item = &str>| -> std::io::Result<()> {
        let mut text = String::new();
        for (n, (cell, width)) in cells.zip(&widths).enumerate() {
            if n + 1 == widths.len() {
                text.push_str(cell);
            } else {
                text.push_str(&format!("{cell:<width$}  "));
            }
        }
        writeln!(out, "{}", text.trim_end())
    };
    line(&mut header.iter().copied())?;
    for row in rows {
        line(&mut row.iter().map(String::as_str))?;
    }
    Ok(())
}
