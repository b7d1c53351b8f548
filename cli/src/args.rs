//! The command line: the top-level `Cli` and its subcommands (clap derive),
//! each subcommand's flags beside its command (`ls::LsArgs`,
//! `consume::ConsumeArgs`, ...), turned here into the [`Command`] to run.
//! The argument types several commands share are in `shared_args`.

use std::ffi::OsString;

use clap::error::ErrorKind;
use clap::{CommandFactory, Parser, Subcommand};

use crate::bench::{BenchArgs, BenchConfig};
use crate::consume::{ConsumeArgs, ConsumeConfig, CONSUME_HELP};
use crate::dump::{DumpArgs, DumpConfig};
use crate::export::{ExportArgs, ExportConfig, EXPORT_HELP};
use crate::gen::{GenArgs, GenConfig};
use crate::group::{GroupCmd, GroupConfig, GROUP_HELP};
use crate::ls::{LsArgs, LsConfig};
use crate::shared_args::UsageError;
use crate::verify::{VerifyArgs, VerifyConfig};

const EXIT_STATUS: &str = "\
Exit status:
  0  success (a torn tail at the end of a log is reported as a note, not an error)
  1  corruption or a data error was found
  2  usage error or I/O error (bad flag, missing path, unreadable file)

A closed stdout (`kreplay dump ... | head`) ends the command quietly with status 0.";

/// Read Apache Kafka partition logs straight from disk.
#[derive(Debug, Parser)]
#[command(name = "kreplay", version, after_help = EXIT_STATUS, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// List partitions: segments, log start and end offsets, size, time range, index health.
    #[command(after_help = EXIT_STATUS)]
    Ls(LsArgs),
    /// Print batches (and with --deep-iteration, records) like Kafka's kafka-dump-log.
    #[command(after_help = EXIT_STATUS)]
    Dump(DumpArgs),
    /// Check CRCs, offsets, batch fields and indexes of every segment.
    #[command(after_help = EXIT_STATUS)]
    Verify(VerifyArgs),
    /// Generate a Kafka-compatible log dir with synthetic records.
    #[command(after_help = EXIT_STATUS)]
    Gen(GenArgs),
    /// Replay records with Kafka consumer semantics, printed like kcat -C / -G.
    #[command(after_help = CONSUME_HELP)]
    Consume(ConsumeArgs),
    /// Measure replay speed per IoMode, warm and cold, beside the memory ceiling and dd.
    #[command(after_help = EXIT_STATUS)]
    Bench(BenchArgs),
    /// Consumer groups' committed offsets: list, describe (lag), delete, reset, import.
    #[command(after_help = GROUP_HELP, subcommand)]
    Group(GroupCmd),
    /// Write records to Parquet, Arrow IPC or JSON-lines files, one partition at a time.
    #[command(after_help = EXPORT_HELP)]
    Export(ExportArgs),
}

/// A parsed command line.
#[derive(Debug, Clone)]
pub enum Command {
    Ls(LsConfig),
    Dump(DumpConfig),
    Verify(VerifyConfig),
    Gen(GenConfig),
    Consume(ConsumeConfig),
    Bench(BenchConfig),
    Group(GroupConfig),
    Export(ExportConfig),
}

/// Parses the command line into a [`Command`]; `Err` is clap's (usage error,
/// or `--help` / `--version`, which clap prints).
pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Command, clap::Error> {
    Cli::try_parse_from(args)?.command.try_into()
}

impl From<UsageError> for clap::Error {
    /// A usage error reported like clap's own (exit status 2).
    fn from(error: UsageError) -> clap::Error {
        let mut command = Cli::command();
        let command = command
            .find_subcommand_mut(&error.subcommand)
            .cloned()
            .unwrap_or(command);
        command
            .bin_name(format!("kreplay {}", error.subcommand))
            .error(ErrorKind::ArgumentConflict, error.message)
    }
}

impl TryFrom<Cmd> for Command {
    type Error = clap::Error;

    fn try_from(cmd: Cmd) -> Result<Command, clap::Error> {
        Ok(match cmd {
            Cmd::Ls(a) => Command::Ls(a.config()),
            Cmd::Dump(a) => Command::Dump(a.config()),
            Cmd::Verify(a) => Command::Verify(a.config()),
            Cmd::Gen(a) => Command::Gen(a.config()),
            Cmd::Consume(a) => Command::Consume(a.config()?),
            Cmd::Group(g) => Command::Group(g.config()?),
            Cmd::Export(a) => Command::Export(a.config()?),
            Cmd::Bench(a) => Command::Bench(a.config()),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use kreplay::Compression;

    use super::*;
    use crate::dump::DumpLevel;
    use crate::gen::Overwrite;

    fn parse_ok(args: &[&str]) -> Command {
        parse(args.iter().map(OsString::from)).unwrap()
    }

    #[test]
    fn clap_definition_is_valid() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn print_data_log_implies_deep_iteration() {
        let Command::Dump(c) = parse_ok(&["kreplay", "dump", "--print-data-log", "x"]) else {
            panic!()
        };
        assert_eq!(c.level, DumpLevel::RecordsWithData);
        assert!(c.read.check_crcs);
        let Command::Dump(c) = parse_ok(&["kreplay", "dump", "--check-crcs", "false", "x"]) else {
            panic!()
        };
        assert_eq!(c.level, DumpLevel::Batches);
        assert!(!c.read.check_crcs);
    }

    #[test]
    fn gen_flags() {
        let Command::Gen(c) = parse_ok(&[
            "kreplay",
            "gen",
            "out",
            "--topics",
            "a,b",
            "--codec",
            "zstd",
            "--transactional-ratio",
            "0.25",
        ]) else {
            panic!()
        };
        assert_eq!(c.gen.topics, ["a", "b"]);
        assert_eq!(c.gen.compression, Compression::Zstd);
        assert_eq!(c.gen.transactional_ratio, 0.25);
        assert_eq!(c.gen.log_dir, PathBuf::from("out"));
        assert_eq!(c.overwrite, Overwrite::Refuse);
        let defaults = kreplay::writer::GenConfig::default();
        assert_eq!(c.gen.partitions, defaults.partitions);
        assert_eq!(c.gen.records_per_batch, defaults.records_per_batch);
        assert!(
            parse(["kreplay", "gen", "out", "--transactional-ratio", "2"].map(OsString::from))
                .is_err()
        );
        assert!(
            parse(["kreplay", "gen", "out", "--topics", "a,../b"].map(OsString::from)).is_err()
        );
    }
}
