//! Forcing io_uring off through the environment: `Uring` and `Auto` fall back
//! to `Pread`, say why, and log the choice once per process.
//!
//! One test in this binary: it sets an environment variable and installs the
//! process's logger, so nothing may run beside it.

use std::sync::Mutex;

use kreplay::{IoMode, Mapping, Prefetcher, ReadStrategy, DISABLE_IO_URING_ENV};

struct Capture(Mutex<Vec<(log::Level, String)>>);

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }

    fn log(&self, record: &log::Record<'_>) {
        if let Ok(mut lines) = self.0.lock() {
            lines.push((record.level(), record.args().to_string()));
        }
    }

    fn flush(&self) {}
}

static LOG: Capture = Capture(Mutex::new(Vec::new()));

#[test]
fn disabling_io_uring_falls_back_to_pread_and_logs_once() {
    log::set_logger(&LOG).expect("logger");
    log::set_max_level(log::LevelFilter::Info);
    std::env::set_var(DISABLE_IO_URING_ENV, "1");

    let path = std::path::Path::new(
        "../fixtures/conformance/corpus/v2-uncompressed/orders-0/00000000000000000000.log",
    );
    let mapping = Mapping::open(path, ReadStrategy::Mmap).expect("map");
    for _ in 0..3 {
        let mut prefetcher = Prefetcher::new(IoMode::Uring, 1 << 20);
        assert_eq!(prefetcher.mode(), IoMode::Pread);
        let reason = prefetcher.fallback_reason().expect("a reason");
        assert!(reason.contains(DISABLE_IO_URING_ENV), "{reason}");
        prefetcher.prefetch(&mapping, 0, u64::MAX);
        prefetcher.reap();
        assert_eq!(prefetcher.in_flight_bytes(), 0);
    }
    let auto = Prefetcher::new(IoMode::Auto, 1 << 20);
    assert_eq!(auto.mode(), IoMode::Pread);
    let madvise = Prefetcher::new(IoMode::Madvise, 1 << 20);
    assert_eq!(madvise.mode(), IoMode::Madvise);

    let lines = LOG.0.lock().expect("log").clone();
    let about = |needle: &str| {
        lines
            .iter()
            .filter(|(level, line)| *level == log::Level::Info && line.contains(needle))
            .count()
    };
    assert_eq!(
        about("io mode pread (pread; requested uring, io_uring unavailable: KREPLAY_DISABLE_IO_URING is set)"),
        1,
        "{lines:?}"
    );
    assert_eq!(
        about("io mode pread (pread; requested auto"),
        1,
        "{lines:?}"
    );
    assert_eq!(
        about("io mode madvise (MADV_WILLNEED; requested)"),
        1,
        "{lines:?}"
    );
}
