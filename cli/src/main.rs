//! `kreplay`: list, dump, verify, generate and consume Kafka partition logs on disk.
//!
//! A thin binary over the `kreplay` engine: [`args`] parses the command line
//! into one configuration per command (each command's flags, and their
//! conversion, beside the command); [`run`] dispatches it; each command module
//! calls the engine and prints. Imports point down: `main` → `args` → the
//! commands → `shared_args`, `status`, `output` and the other shared modules.
//! Data goes to stdout, diagnostics to stderr.

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
mod ls;
mod ls_metadata;
mod output;
mod record_format;
mod segment_name;
mod shared_args;
mod sink;
mod status;
mod verify;

use std::ffi::OsString;
use std::process::ExitCode;

use crate::args::Command;
use crate::status::{chain, init_logging, is_broken_pipe, Diagnostics, Status};

fn main() -> ExitCode {
    run(std::env::args_os())
}

/// Parses `args`, runs the command and returns its exit code. A closed stdout
/// (`kreplay dump … | head`) ends the command quietly with status 0.
fn run(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let args: Vec<OsString> = args.into_iter().collect();
    let command = match args::parse(args.iter().cloned()) {
        Ok(command) => command,
        Err(error) => {
            let code = if error.use_stderr() {
                Status::Failure
            } else {
                Status::Ok
            };
            let _ = error.print();
            return code.into();
        }
    };
    // The engine's warnings (skipped entries, recovered faults) reach stderr
    // for every command; consume raises the level with -v.
    init_logging(false);
    if let Err(error) = mount_object_stores(&args) {
        Diagnostics::new(false).error(&error);
        return Status::Failure.into();
    }
    let result = match command {
        Command::Ls(config) => crate::ls::run(&config),
        Command::Dump(config) => crate::dump::run(&config),
        Command::Verify(config) => crate::verify::run(&config),
        Command::Gen(config) => crate::gen::run(&config),
        Command::Consume(config) => crate::consume::run(&config),
        Command::Bench(config) => crate::bench::run(&config),
        Command::Group(config) => crate::group::run(&config),
        Command::Export(config) => crate::export::run(&config),
    };
    match result {
        Ok(status) => status.into(),
        Err(error) if is_broken_pipe(&error) => Status::Ok.into(),
        Err(error) => {
            Diagnostics::new(false).error(chain(&error));
            Status::Failure.into()
        }
    }
}

/// Mounts the bucket of every `s3://` argument, so that the commands read
/// those paths from object storage (`kreplay-object-store`).
#[cfg(feature = "s3")]
fn mount_object_stores(args: &[OsString]) -> Result<(), String> {
    kreplay_object_store::mount_args(args.iter().filter_map(|a| a.to_str()))
        .map_err(|e| e.to_string())
}

/// Without the `s3` feature an `s3://` argument is refused by name.
#[cfg(not(feature = "s3"))]
fn mount_object_stores(args: &[OsString]) -> Result<(), String> {
    match args
        .iter()
        .filter_map(|a| a.to_str())
        .find(|a| a.contains("s3://"))
    {
        Some(arg) => Err(format!(
            "{arg}: this kreplay was built without object storage (cargo feature `s3`)"
        )),
        None => Ok(()),
    }
}
