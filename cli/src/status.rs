//! Exit statuses and stderr diagnostics (messages, the progress bar, the
//! engine's log), shared by every command; imports none of them.

use std::fmt::Display;
use std::io::{self, IsTerminal};
use std::process::ExitCode;

use indicatif::{ProgressBar, ProgressStyle};

/// How a command ended; the exit code is its number. Combining keeps the worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum Status {
    /// Everything read cleanly (a torn tail at the end of a log included).
    #[default]
    Ok = 0,
    /// Corruption or a data error was found.
    DataError = 1,
    /// A usage error or an I/O error.
    Failure = 2,
}

impl Status {
    /// The worse of the two.
    pub fn worst(self, other: Status) -> Status {
        self.max(other)
    }

    /// The status an engine error calls for.
    pub fn of_error(error: &kreplay::Error) -> Status {
        if error.is_corruption()
            || matches!(
                error,
                kreplay::Error::Group { .. } | kreplay::Error::ValueMismatch { .. }
            )
        {
            Status::DataError
        } else {
            Status::Failure
        }
    }
}

impl From<Status> for ExitCode {
    fn from(status: Status) -> ExitCode {
        ExitCode::from(status as u8)
    }
}

/// An error and its causes, `: `-separated, without repeating a cause the
/// message already ends with (the engine's I/O errors print their source).
pub fn chain(error: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in error.chain() {
        let cause = cause.to_string();
        if text.ends_with(&cause) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&cause);
    }
    text
}

/// Sends the engine's `log` messages to stderr as `kreplay: warning: …`
/// (warnings and errors; notes too when `verbose`).
pub fn init_logging(verbose: bool) {
    static LOGGER: StderrLogger = StderrLogger;
    let _ = log::set_logger(&LOGGER); // already set: only the level changes
    log::set_max_level(if verbose {
        log::LevelFilter::Info
    } else {
        log::LevelFilter::Warn
    });
}

#[derive(Debug)]
struct StderrLogger;

impl log::Log for StderrLogger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            let level = match record.level() {
                log::Level::Error => "error",
                log::Level::Warn => "warning",
                _ => "note",
            };
            eprintln!("kreplay: {level}: {}", record.args());
        }
    }

    fn flush(&self) {}
}

/// Whether `error` is (caused by) a write to a closed pipe.
pub fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    })
}

/// Messages for stderr (`kreplay: error: …`, `kreplay: note: …`) and the
/// progress bar, which is drawn only when stderr is a terminal.
#[derive(Debug)]
pub struct Diagnostics {
    bar: Option<ProgressBar>,
}

impl Diagnostics {
    /// Diagnostics; with `progress`, a byte-count bar when stderr is a terminal.
    pub fn new(progress: bool) -> Self {
        let bar = (progress && io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::new(0);
            if let Ok(style) = ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} ({bytes_per_sec}) {msg}",
            ) {
                bar.set_style(style);
            }
            bar
        });
        Diagnostics { bar }
    }

    /// Adds `bytes` to the work the bar measures.
    pub fn add_work(&self, bytes: u64) {
        if let Some(bar) = &self.bar {
            bar.inc_length(bytes);
        }
    }

    /// Marks `bytes` of work done.
    pub fn done(&self, bytes: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(bytes);
        }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }

    fn print(&self, level: &str, message: impl Display) {
        let line = format!("kreplay: {level}: {message}");
        match &self.bar {
            Some(bar) => bar.suspend(|| eprintln!("{line}")),
            None => eprintln!("{line}"),
        }
    }

    /// An error (corruption, I/O).
    pub fn error(&self, message: impl Display) {
        self.print("error", message);
    }

    /// A warning.
    pub fn warning(&self, message: impl Display) {
        self.print("warning", message);
    }

    /// A note (a torn tail at the end of a log, a summary).
    pub fn note(&self, message: impl Display) {
        self.print("note", message);
    }
}
