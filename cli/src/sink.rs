//! Where `kreplay consume` delivers the records of each poll: stdout (the
//! default), or the stdin of a command run once per poll (`--exec CMD`).
//!
//! Either way a sink gets one [`Batch`]: the poll's records formatted as
//! `--format` says (the very bytes stdout would get) and, per partition, the
//! first and last offsets among them. [`Sink::deliver`] answers whether the
//! batch was taken; `consume` commits a batch only once it was.
//!
//! `--exec` runs `sh -c CMD` for every batch, its stdin a pipe holding the
//! batch, its stdout and stderr on kreplay's stderr (stdout stays empty), and
//! these variables in its environment:
//!
//! | variable | value |
//! |---|---|
//! | `KREPLAY_GROUP` | the `--group` (unset without one) |
//! | `KREPLAY_RECORDS` | the number of records on stdin |
//! | `KREPLAY_PARTITIONS` | `topic-partition:first-last` per partition, joined by `,` (`metrics-0:100-199,metrics-1:100-198`) |
//! | `KREPLAY_ATTEMPT` | 1, then 2, 3, … when the batch is retried |
//!
//! The batch is taken when CMD exits 0, and only then: a non-zero exit, a
//! signal, or a command that cannot be started is a failure, and the same
//! batch is tried again, `retries` more times, after a backoff that doubles
//! each time (up to [`MAX_BACKOFF`]). A CMD that exits without reading its
//! stdin (a closed pipe on our side) is not a failure by itself: only its
//! exit status counts.

use std::collections::BTreeMap;
use std::fmt;
use std::io::{self, Stdout, Write};
use std::os::fd::AsFd;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::Duration;

use kreplay::TopicPartition;

use crate::status::Diagnostics;

/// The longest wait between two runs of a failing `--exec` command (unless
/// `--retry-backoff` itself is longer).
pub const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// Where `consume` delivers records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SinkConfig {
    /// Written to stdout and flushed, poll after poll.
    Stdout,
    /// Piped to a new command per poll (`--exec`).
    Exec(ExecConfig),
}

/// `--exec CMD --retries N --retry-backoff DURATION`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecConfig {
    /// Run as `sh -c command`; never blank.
    pub command: String,
    /// How many times a failed batch is tried again before `consume` stops.
    pub retries: u32,
    /// The wait before the first retry; doubled before each next one.
    pub retry_backoff: Duration,
    /// How many `--exec` commands this process's members run at once
    /// (`--exec-concurrency`); `None`: one per member, all at once.
    pub concurrency: Option<usize>,
}

/// The offsets of the first and last records of one partition in a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OffsetRange {
    pub first: i64,
    pub last: i64,
}

/// One poll's records, formatted.
#[derive(Debug, Clone, Copy)]
pub struct Batch<'a> {
    /// The records as `--format` writes them.
    pub bytes: &'a [u8],
    /// How many records `bytes` holds.
    pub records: u64,
    /// Per partition with records in `bytes`, their offsets.
    pub partitions: &'a BTreeMap<TopicPartition, OffsetRange>,
}

/// What a sink did with a batch.
#[must_use]
#[derive(Debug)]
pub enum Delivery {
    /// Taken whole: the batch may be committed.
    Accepted,
    /// Not taken, after every retry; the message says why and what.
    Refused(Refusal),
}

/// A sink: stdout, or a command per batch.
#[derive(Debug)]
pub enum Sink {
    /// Locked per batch: members running as threads share stdout, each
    /// batch written whole.
    Stdout(Stdout),
    Exec(Exec),
}

impl Sink {
    /// The sink `config` asks for; `group` is passed on to `--exec` commands.
    pub fn new(config: &SinkConfig, group: Option<&str>) -> Sink {
        match config {
            SinkConfig::Stdout => {
                let stdout = io::stdout();
                widen_pipe(&stdout);
                Sink::Stdout(stdout)
            }
            SinkConfig::Exec(config) => Sink::Exec(Exec {
                config: config.clone(),
                group: group.map(str::to_string),
            }),
        }
    }

    /// Delivers `batch`. On stdout it is written and flushed, and a failed
    /// write (a closed pipe too) is the `Err`; an `--exec` command is run
    /// (and run again on failure) and never gives an `Err`: a command that
    /// fails every retry is [`Delivery::Refused`]. Retries are announced as
    /// warnings on `diagnostics`.
    pub fn deliver(
        &mut self,
        batch: &Batch<'_>,
        diagnostics: &Diagnostics,
    ) -> io::Result<Delivery> {
        match self {
            Sink::Stdout(out) => {
                let mut out = out.lock();
                out.write_all(batch.bytes)?;
                out.flush()?;
                Ok(Delivery::Accepted)
            }
            Sink::Exec(exec) => Ok(exec.deliver(batch, diagnostics)),
        }
    }
}

/// What [`widen_pipe`] asks for: Linux's limit for unprivileged processes
/// (`/proc/sys/fs/pipe-max-size`) by default.
const PIPE_BYTES: usize = 1 << 20;

/// When stdout is a pipe, grows its buffer from the default 64 KiB to
/// [`PIPE_BYTES`], best effort. A poll's output (about 130 KiB of JSON)
/// no longer fills the pipe several times, each a sleep and a wake-up of
/// both ends: `consume --format json --bytes base64 | cat` of 10 M records
/// (2.7 GB) took 3.7–4.2 s with 64 KiB and 1.2 s with 1 MiB.
fn widen_pipe(stdout: &io::Stdout) {
    // F_GETPIPE_SZ fails on anything but a pipe.
    #[cfg(target_os = "linux")]
    if rustix::pipe::fcntl_getpipe_size(stdout).is_ok_and(|n| n < PIPE_BYTES) {
        // Refused (a lower limit, or the user's pipes over their quota):
        // the pipe stays as it was.
        let _ = rustix::pipe::fcntl_setpipe_size(stdout, PIPE_BYTES);
    }
    #[cfg(not(target_os = "linux"))]
    let _ = stdout;
}

/// Runs `sh -c CMD` per batch.
#[derive(Debug)]
pub struct Exec {
    config: ExecConfig,
    group: Option<String>,
}

impl Exec {
    fn deliver(&self, batch: &Batch<'_>, diagnostics: &Diagnostics) -> Delivery {
        let attempts = self.config.retries.saturating_add(1);
        let mut attempt: u32 = 1;
        loop {
            let failure = match self.run(batch, attempt) {
                Ok(()) => return Delivery::Accepted,
                Err(failure) => failure,
            };
            if attempt >= attempts {
                return Delivery::Refused(Refusal {
                    command: self.config.command.clone(),
                    failure,
                    attempts,
                    records: batch.records,
                    partitions: Ranges(batch.partitions).to_string(),
                    group: self.group.clone(),
                });
            }
            let wait = backoff(self.config.retry_backoff, attempt);
            diagnostics.warning(format_args!(
                "--exec command '{}' {failure} (attempt {attempt} of {attempts}) on {}; retrying in {}",
                self.config.command,
                Ranges(batch.partitions),
                humantime::format_duration(wait)
            ));
            std::thread::sleep(wait);
            attempt += 1;
        }
    }

    /// One run of the command on `batch`, in turn with the other members'
    /// runs under `--exec-concurrency`.
    fn run(&self, batch: &Batch<'_>, attempt: u32) -> Result<(), Failure> {
        let _slot = self.config.concurrency.map(ExecSlot::take);
        self.run_now(batch, attempt)
    }

    fn run_now(&self, batch: &Batch<'_>, attempt: u32) -> Result<(), Failure> {
        // The command's stdout goes to our stderr: kreplay's stdout stays
        // empty with --exec.
        let stdout = io::stderr()
            .as_fd()
            .try_clone_to_owned()
            .map_err(Failure::Spawn)?;
        let mut command = Command::new("sh");
        command
            .arg("-c")
            .arg(&self.config.command)
            .stdin(Stdio::piped())
            .stdout(Stdio::from(stdout))
            .env("KREPLAY_RECORDS", batch.records.to_string())
            .env("KREPLAY_PARTITIONS", Ranges(batch.partitions).to_string())
            .env("KREPLAY_ATTEMPT", attempt.to_string());
        match &self.group {
            Some(group) => command.env("KREPLAY_GROUP", group),
            None => command.env_remove("KREPLAY_GROUP"),
        };
        let mut child = command.spawn().map_err(Failure::Spawn)?;
        let written = match child.stdin.take() {
            // Dropping `stdin` closes the pipe: the command sees the end.
            Some(mut stdin) => match stdin.write_all(batch.bytes) {
                // A command that exits without reading all of its stdin
                // decides by its exit status alone.
                Err(error) if error.kind() == io::ErrorKind::BrokenPipe => Ok(()),
                other => other,
            },
            None => Ok(()),
        };
        let status = child.wait().map_err(Failure::Wait)?;
        written.map_err(Failure::Stdin)?;
        if status.success() {
            Ok(())
        } else {
            Err(Failure::Status(status))
        }
    }
}

/// The wait before retry number `retry` (1 for the first): `base`, doubled
/// for each retry after the first, at most [`MAX_BACKOFF`] (or `base` when
/// longer).
fn backoff(base: Duration, retry: u32) -> Duration {
    let factor = 2u32.saturating_pow(retry.saturating_sub(1));
    base.saturating_mul(factor).min(MAX_BACKOFF.max(base))
}

/// The `--exec` commands running in this process (members are threads of
/// it), and the wake-up of a member waiting for its turn.
static EXEC_RUNNING: Mutex<usize> = Mutex::new(0);
static EXEC_TURN: Condvar = Condvar::new();

/// One of `--exec-concurrency` slots, held while a command runs.
struct ExecSlot;

impl ExecSlot {
    /// Waits until fewer than `limit` commands run, then counts this one.
    fn take(limit: usize) -> ExecSlot {
        let mut running = EXEC_RUNNING.lock().unwrap_or_else(PoisonError::into_inner);
        while *running >= limit.max(1) {
            running = EXEC_TURN
                .wait(running)
                .unwrap_or_else(PoisonError::into_inner);
        }
        *running += 1;
        ExecSlot
    }
}

impl Drop for ExecSlot {
    fn drop(&mut self) {
        let mut running = EXEC_RUNNING.lock().unwrap_or_else(PoisonError::into_inner);
        *running = running.saturating_sub(1);
        EXEC_TURN.notify_one();
    }
}

/// Why one run of an `--exec` command failed.
#[derive(Debug)]
enum Failure {
    /// It exited non-zero, or was killed by a signal.
    Status(ExitStatus),
    /// `sh` could not be started.
    Spawn(io::Error),
    /// Writing its stdin failed (other than a closed pipe).
    Stdin(io::Error),
    /// Waiting for it failed.
    Wait(io::Error),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Status(status) => match (status.code(), status.signal()) {
                (Some(code), _) => write!(f, "exited with status {code}"),
                (None, Some(signal)) => write!(f, "was killed by signal {signal}"),
                (None, None) => write!(f, "ended with {status}"),
            },
            Failure::Spawn(error) => write!(f, "could not be started: {error}"),
            Failure::Stdin(error) => write!(f, "could not be given its records: {error}"),
            Failure::Wait(error) => write!(f, "could not be waited for: {error}"),
        }
    }
}

/// A batch an `--exec` command did not take, after every retry.
#[derive(Debug)]
pub struct Refusal {
    command: String,
    failure: Failure,
    attempts: u32,
    records: u64,
    /// As in `KREPLAY_PARTITIONS`.
    partitions: String,
    group: Option<String>,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "--exec command '{}' {} (attempt {} of {}, giving up): {} record(s) not accepted: {}",
            self.command, self.failure, self.attempts, self.attempts, self.records, self.partitions
        )?;
        match &self.group {
            Some(group) => write!(
                f,
                "; group '{group}' keeps the offsets committed before them"
            ),
            None => write!(f, "; nothing committed (no --group)"),
        }
    }
}

/// `metrics-0:100-199,metrics-1:100-198`: per partition, the first and last
/// offsets (topic names hold neither `:` nor `,`).
struct Ranges<'a>(&'a BTreeMap<TopicPartition, OffsetRange>);

impl fmt::Display for Ranges<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (n, (tp, range)) in self.0.iter().enumerate() {
            if n > 0 {
                f.write_str(",")?;
            }
            write!(f, "{tp}:{}-{}", range.first, range.last)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn partitions() -> BTreeMap<TopicPartition, OffsetRange> {
        BTreeMap::from([
            (
                TopicPartition::new("metrics", 1),
                OffsetRange {
                    first: 100,
                    last: 198,
                },
            ),
            (
                TopicPartition::new("metrics", 0),
                OffsetRange {
                    first: 100,
                    last: 199,
                },
            ),
            (
                TopicPartition::new("web.logs-x", 12),
                OffsetRange { first: 7, last: 7 },
            ),
        ])
    }

    fn exec(command: &str, retries: u32) -> Exec {
        Exec {
            config: ExecConfig {
                command: command.to_string(),
                retries,
                retry_backoff: Duration::ZERO,
                concurrency: None,
            },
            group: Some("g".to_string()),
        }
    }

    #[test]
    fn ranges_read_as_documented() {
        assert_eq!(
            Ranges(&partitions()).to_string(),
            "metrics-0:100-199,metrics-1:100-198,web.logs-x-12:7-7"
        );
        assert_eq!(Ranges(&BTreeMap::new()).to_string(), "");
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let second = Duration::from_secs(1);
        let waits: Vec<Duration> = (1..=8).map(|n| backoff(second, n)).collect();
        assert_eq!(
            waits,
            [1, 2, 4, 8, 16, 32, 60, 60]
                .map(Duration::from_secs)
                .to_vec()
        );
        assert_eq!(backoff(Duration::ZERO, 5), Duration::ZERO);
        let long = Duration::from_secs(300);
        assert_eq!(backoff(long, 1), long);
        assert_eq!(backoff(long, 40), long);
        assert_eq!(backoff(Duration::from_millis(200), u32::MAX), MAX_BACKOFF);
    }

    #[test]
    fn the_command_sees_the_batch_and_its_environment() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let command = format!(
            "{{ cat; echo \"$KREPLAY_GROUP $KREPLAY_RECORDS $KREPLAY_PARTITIONS $KREPLAY_ATTEMPT\"; }} > '{}'",
            out.display()
        );
        let partitions = partitions();
        let batch = Batch {
            bytes: b"a\nb\n",
            records: 2,
            partitions: &partitions,
        };
        assert!(exec(&command, 0).run(&batch, 3).is_ok());
        assert_eq!(
            std::fs::read_to_string(&out).unwrap(),
            "a\nb\ng 2 metrics-0:100-199,metrics-1:100-198,web.logs-x-12:7-7 3\n"
        );
    }

    #[test]
    fn only_the_exit_status_counts() {
        let partitions = partitions();
        // More than a pipe holds: a command that does not read gets EPIPE.
        let bytes = vec![b'x'; 1 << 20];
        let batch = Batch {
            bytes: &bytes,
            records: 1,
            partitions: &partitions,
        };
        let diagnostics = Diagnostics::new(false);
        assert!(matches!(
            exec("exit 0", 0).deliver(&batch, &diagnostics),
            Delivery::Accepted
        ));
        let Delivery::Refused(refusal) = exec("exit 3", 2).deliver(&batch, &diagnostics) else {
            panic!("exit 3 accepted")
        };
        assert_eq!(
            refusal.to_string(),
            "--exec command 'exit 3' exited with status 3 (attempt 3 of 3, giving up): \
             1 record(s) not accepted: metrics-0:100-199,metrics-1:100-198,web.logs-x-12:7-7; \
             group 'g' keeps the offsets committed before them"
        );
        let Delivery::Refused(refusal) = exec("kill -9 $$", 0).deliver(&batch, &diagnostics) else {
            panic!("a killed command accepted")
        };
        assert!(
            refusal.to_string().contains("was killed by signal 9"),
            "{refusal}"
        );
    }
}
