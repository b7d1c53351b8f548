//! `kreplay`: list, dump, verify, generate and consume Kafka partition logs on disk.
//!
//! A thin binary over the `kreplay` engine: [`args`] parses the command line
//! and turns it into one configuration per command; each command module
//! calls the engine and prints. Data goes to stdout, diagnostics to stderr.

mod args;
mod bench;
mod consume;
mod dump;
mod dump_metadata;
mod dump_state;
mod export;
mod export_values;
mod gen;
mod group;
mod group_import;
mod ls;
mod ls_metadata;
mod output;
mod record_format;
mod segment_name;
mod sink;
mod status;
mod verify;

use std::process::ExitCode;

fn main() -> ExitCode {
    status::run(std::env::args_os())
}
