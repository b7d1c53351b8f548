//! Tests of the prefetcher: every mode, residency, windows, the io_uring
//! backend against the file's bytes, and drops with requests in flight.

use std::io::Write;
use std::time::{Duration, Instant};

use super::*;
use crate::mmap::ReadStrategy;

/// A temp file of `len` pseudo-random bytes, synced (so that it can be
/// evicted), and its bytes.
fn temp_file(len: usize) -> (tempfile::TempDir, std::path::PathBuf, Vec<u8>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("00000000000000000000.log");
    let mut rng = fastrand::Rng::with_seed(5);
    let bytes: Vec<u8> = (0..len).map(|_| rng.u8(..)).collect();
    let mut file = File::create(&path).expect("create");
    file.write_all(&bytes).expect("write");
    file.sync_all().expect("sync");
    (dir, path, bytes)
}

fn map(path: &std::path::Path) -> Mapping {
    Mapping::open(path, ReadStrategy::Mmap).expect("map")
}

/// Touches every page of the mapping: all resident afterwards.
fn touch(mapping: &Mapping) {
    let sum: u64 = mapping.iter().step_by(4096).map(|&b| u64::from(b)).sum();
    std::hint::black_box(sum);
}

#[cfg(target_os = "linux")]
#[test]
fn auto_leaves_resident_pages_alone() {
    let (_dir, path, _) = temp_file(4 << 20);
    {
        let mapping = map(&path);
        touch(&mapping);
        assert!(is_resident(&mapping, 0, 4 << 20));
        // Fallen back to pread, auto leaves each resident range alone (a
        // read of it would be a copy for nothing)...
        let fallback = Prefetcher::with_probe(
            IoMode::Auto,
            8 << 20,
            ProbeOptions {
                disabled: Some("test".into()),
                read_only: false,
            },
        );
        assert_eq!(fallback.mode(), IoMode::Pread);
        assert_eq!(fallback.skip_resident, SkipResident::Range);
        // ... which the modes asked for explicitly do not.
        for mode in [IoMode::Pread, IoMode::Uring, IoMode::Madvise, IoMode::Off] {
            assert_eq!(
                Prefetcher::new(mode, 8 << 20).skip_resident,
                SkipResident::Never
            );
        }
        // On io_uring, auto leaves resident windows alone.
        let mut auto = Prefetcher::new(IoMode::Auto, 8 << 20);
        if auto.mode() == IoMode::Uring {
            assert_eq!(auto.skip_resident, SkipResident::Window);
            auto.prefetch(&mapping, 0, 4 << 20);
            assert_eq!(auto.in_flight_bytes(), 0, "nothing requested");
        }
    }
    // Evicted pages (no mapping holds them now) are not resident.
    evict(&path);
    let cold = map(&path);
    assert!(!is_resident(&cold, 0, 4 << 20));
    // Owned bytes count as resident (nothing to prefetch).
    let owned = Mapping::open(&path, ReadStrategy::Read).expect("read");
    assert!(is_resident(&owned, 0, 4 << 20));
}

/// A prefetcher that requests nothing, deciding as `skip` does.
fn deciding(skip: SkipResident) -> Prefetcher {
    Prefetcher {
        mode: IoMode::Off,
        backend: Backend::Off,
        fallback_reason: None,
        ahead: Vec::new(),
        skip_resident: skip,
    }
}

#[cfg(target_os = "linux")]
#[test]
fn a_window_found_cold_stays_cold_and_a_seek_looks_again() {
    const MIB: u64 = 1 << 20;
    let (_dir, path, _) = temp_file(4 << 20);
    evict(&path);
    let mapping = map(&path);
    let file = Arc::clone(mapping.file().expect("a file mapping"));
    let mut window = deciding(SkipResident::Window);
    let mut range = deciding(SkipResident::Range);
    assert_eq!(window.not_yet_prefetched(&mapping, &file, 0, MIB), Some(0));
    assert_eq!(range.not_yet_prefetched(&mapping, &file, 0, MIB), Some(0));
    // The rest comes into memory (as the kernel's readahead brings it):
    // the cold window still requests it, a per-range check does not.
    touch(&mapping);
    assert!(is_resident(&mapping, MIB, 2 * MIB));
    assert_eq!(
        window.not_yet_prefetched(&mapping, &file, MIB / 2, 2 * MIB),
        Some(MIB)
    );
    assert_eq!(
        range.not_yet_prefetched(&mapping, &file, MIB / 2, 2 * MIB),
        None
    );
    // What was decided is not asked again.
    assert_eq!(
        window.not_yet_prefetched(&mapping, &file, MIB, 2 * MIB),
        None
    );
    // A seek starts a new window, which finds everything resident.
    assert_eq!(
        window.not_yet_prefetched(&mapping, &file, 3 * MIB, 4 * MIB),
        None
    );
    // Where it meets pages that are not, it turns cold for good.
    evict(&path);
    let cold = map(&path);
    let cold_file = Arc::clone(cold.file().expect("a file mapping"));
    if !is_resident(&cold, 0, MIB) {
        assert_eq!(
            window.not_yet_prefetched(&cold, &cold_file, 0, MIB),
            Some(0)
        );
        touch(&cold);
        assert_eq!(
            window.not_yet_prefetched(&cold, &cold_file, MIB, 2 * MIB),
            Some(MIB)
        );
    }
}

/// `Uring` with the given request kind, or `None` when io_uring is not
/// available here (the test then says so and checks less).
fn uring(max_in_flight_bytes: u64, read_only: bool) -> Option<Prefetcher> {
    let options = ProbeOptions {
        disabled: None,
        read_only,
    };
    let p = Prefetcher::with_probe(IoMode::Uring, max_in_flight_bytes, options);
    if p.mode() != IoMode::Uring {
        eprintln!("io_uring is not available here: {:?}", p.fallback_reason());
        return None;
    }
    Some(p)
}

/// Every mode, and io_uring with each request kind, with a one-page
/// budget too (everything queued).
fn every_prefetcher() -> Vec<Prefetcher> {
    let mut all: Vec<Prefetcher> = IoMode::ALL
        .into_iter()
        .map(|mode| Prefetcher::new(mode, 1 << 20))
        .collect();
    for read_only in [false, true] {
        all.extend(uring(1 << 20, read_only));
        all.extend(uring(1, read_only));
    }
    all
}

fn drain(prefetcher: &mut Prefetcher) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while prefetcher.in_flight_bytes() > 0 {
        assert!(Instant::now() < deadline, "{prefetcher:?} never drained");
        prefetcher.reap();
        std::thread::sleep(Duration::from_micros(100));
    }
}

/// Drops the file's pages from the page cache (where the file system
/// allows it; nothing may have it mapped).
#[cfg(target_os = "linux")]
fn evict(path: &std::path::Path) {
    let file = File::open(path).expect("open");
    let _ = rustix::fs::fadvise(&file, 0, None, rustix::fs::Advice::DontNeed);
}

/// How many of the mapping's pages are in memory (`mincore`).
#[cfg(target_os = "linux")]
fn resident_pages(mapping: &Mapping) -> usize {
    let page = 4096;
    let bytes = mapping.as_slice();
    let mut vec = vec![0u8; bytes.len().div_ceil(page)];
    // SAFETY: `bytes` is a live mapping (page-aligned, as mmap returns
    // it) of `bytes.len()` bytes, and `vec` has one byte per page of it.
    let rc = unsafe { libc::mincore(bytes.as_ptr() as *mut _, bytes.len(), vec.as_mut_ptr()) };
    assert_eq!(rc, 0, "mincore: {}", std::io::Error::last_os_error());
    vec.iter().filter(|&&b| b & 1 == 1).count()
}

#[test]
fn a_prefetcher_can_move_to_its_thread() {
    fn send<T: Send>() {}
    send::<Prefetcher>();
}

#[test]
fn io_mode_parse_display_round_trip() {
    for mode in IoMode::ALL {
        assert_eq!(mode.to_string().parse::<IoMode>(), Ok(mode));
        assert_eq!(mode.name().to_uppercase().parse::<IoMode>(), Ok(mode));
    }
    assert_eq!(IoMode::default(), IoMode::Auto);
    let err = "io_uring".parse::<IoMode>().unwrap_err();
    assert!(err.contains("unknown io mode 'io_uring'"), "{err}");
}

#[test]
fn every_mode_takes_any_range_and_leaves_the_file_alone() {
    let len = (3 << 20) + 123;
    let (_dir, path, bytes) = temp_file(len);
    let mapping = map(&path);
    let modified = std::fs::metadata(&path).and_then(|m| m.modified()).ok();
    let len = len as u64;
    let mut ranges = vec![
        (0, 0),
        (0, 1),
        (4095, 2),
        ((1 << 20) + 17, 700_000),
        (0, len),
        (len - 10, 100),
        (len, 10),
        (len + 4096, 1 << 20),
        (u64::MAX - 5, 10),
        (7, u64::MAX),
        (0, u64::MAX),
    ];
    let mut rng = fastrand::Rng::with_seed(11);
    ranges.extend((0..200).map(|_| (rng.u64(..len + 8192), rng.u64(..(2 << 20)))));
    for mut prefetcher in every_prefetcher() {
        for &(position, n) in &ranges {
            prefetcher.prefetch(&mapping, position, n);
            prefetcher.reap();
        }
        drain(&mut prefetcher);
        // Nothing left queued either: another reap starts nothing.
        prefetcher.reap();
        assert_eq!(prefetcher.in_flight_bytes(), 0, "{prefetcher:?}");
    }
    let empty = Mapping::empty();
    let owned = Mapping::from_vec(vec![1; 10]);
    let read = Mapping::open(&path, ReadStrategy::Read).expect("read");
    for mut prefetcher in every_prefetcher() {
        prefetcher.prefetch(&empty, 0, 100);
        prefetcher.prefetch(&owned, 0, 100);
        prefetcher.prefetch(&read, 0, u64::MAX);
        drain(&mut prefetcher);
    }
    assert_eq!(std::fs::read(&path).expect("read"), bytes);
    assert_eq!(
        std::fs::metadata(&path).and_then(|m| m.modified()).ok(),
        modified
    );
    let file = mapping.file().expect("a file");
    assert_eq!(
        Arc::strong_count(file),
        1,
        "every request let go of the file"
    );
}

#[test]
#[cfg(target_os = "linux")]
fn prefetched_pages_are_in_memory() {
    let (_dir, path, _) = temp_file((4 << 20) + 100);
    let mut prefetchers: Vec<Prefetcher> = [false, true]
        .into_iter()
        .filter_map(|read_only| uring(1 << 20, read_only))
        .collect();
    prefetchers.push(Prefetcher::new(IoMode::Pread, 1 << 20));
    for mut prefetcher in prefetchers {
        evict(&path);
        let mapping = map(&path);
        let pages = mapping.len().div_ceil(4096);
        let before = resident_pages(&mapping);
        prefetcher.prefetch(&mapping, 0, u64::MAX);
        drain(&mut prefetcher);
        let after = resident_pages(&mapping);
        eprintln!("{prefetcher:?}: {before} -> {after} of {pages} pages in memory");
        assert_eq!(after, pages, "{prefetcher:?} (before: {before} of {pages})");
    }
}

#[test]
#[cfg(target_os = "linux")]
fn uring_in_flight_stays_within_budget() {
    let (_dir, path, _) = temp_file(2 << 20);
    let mapping = map(&path);
    for read_only in [false, true] {
        for budget in [1, 4096, 100_000, 1 << 20] {
            let Some(mut prefetcher) = uring(budget, read_only) else {
                return;
            };
            let bound = budget.max(PAGE).next_multiple_of(PAGE);
            prefetcher.prefetch(&mapping, 3, 2 << 20);
            while prefetcher.in_flight_bytes() > 0 {
                assert!(prefetcher.in_flight_bytes() <= bound);
                prefetcher.reap();
            }
        }
    }
}

#[test]
#[cfg(target_os = "linux")]
fn uring_reads_land_in_the_right_buffers() {
    let (_dir, path, bytes) = temp_file((3 << 20) + 777);
    let file = Arc::new(File::open(&path).expect("open"));
    let mut ring = match uring::Uring::new(4 << 20, true) {
        Ok(ring) => ring,
        Err(reason) => {
            eprintln!("io_uring is not available here: {reason}");
            return;
        }
    };
    assert_eq!(ring.op(), uring::Op::Read);
    assert_eq!(ring.slot_count(), 8);
    let len = bytes.len() as u64;
    for (position, n) in [
        (0, len),
        (12_345, 1_500_001),
        (URING_CHUNK - 1, 2),
        (len - 777, 777),
        (4096, 4096),
    ] {
        let read = ring.read_through_ring(&file, position, n).expect("read");
        let expected = &bytes[position as usize..(position + n) as usize];
        assert!(
            read == expected,
            "bytes {position}..{} differ",
            position + n
        );
    }
    // Past the end: a short read, the rest untouched.
    let read = ring
        .read_through_ring(&file, len - 100, 1000)
        .expect("read");
    assert_eq!(&read[..100], &bytes[bytes.len() - 100..]);
    assert!(read[100..].iter().all(|&b| b == 0));
    assert_eq!(ring.in_flight_bytes(), 0);
}

#[test]
fn falls_back_to_pread_when_io_uring_is_unavailable() {
    let disabled = || ProbeOptions {
        disabled: Some("disabled by the test".into()),
        read_only: false,
    };
    for requested in [IoMode::Uring, IoMode::Auto] {
        let prefetcher = Prefetcher::with_probe(requested, 1 << 20, disabled());
        assert_eq!(prefetcher.mode(), IoMode::Pread);
        assert_eq!(prefetcher.fallback_reason(), Some("disabled by the test"));
    }
    for requested in [IoMode::Madvise, IoMode::Pread, IoMode::Off] {
        let prefetcher = Prefetcher::with_probe(requested, 1 << 20, disabled());
        assert_eq!(prefetcher.mode(), requested);
        assert_eq!(prefetcher.fallback_reason(), None);
    }
    let auto = Prefetcher::new(IoMode::Auto, 1 << 20);
    assert!(matches!(auto.mode(), IoMode::Uring | IoMode::Pread));
    assert_eq!(
        auto.mode() == IoMode::Pread,
        auto.fallback_reason().is_some()
    );
}

#[test]
#[cfg(target_os = "linux")]
fn drop_with_requests_in_flight_waits_for_them() {
    let (_dir, path, _) = temp_file(8 << 20);
    for read_only in [false, true] {
        let mut caught_in_flight = 0;
        for round in 0..10 {
            evict(&path);
            let mapping = map(&path);
            let Some(mut prefetcher) = uring(4 << 20, read_only) else {
                return;
            };
            prefetcher.prefetch(&mapping, round * 4096, 8 << 20);
            if prefetcher.in_flight_bytes() > 0 {
                caught_in_flight += 1;
            }
            drop(prefetcher);
            let file = mapping.file().expect("a file");
            assert_eq!(Arc::strong_count(file), 1, "requests let go of the file");
        }
        eprintln!(
            "read_only {read_only}: dropped with requests in flight {caught_in_flight} times of 10"
        );
    }
}

#[test]
fn a_range_already_prefetched_is_not_read_again() {
    let (_dir, path, _) = temp_file(1 << 20);
    let (_other_dir, other_path, _) = temp_file(1 << 20);
    let mapping = map(&path);
    let other = map(&other_path);
    let file = mapping.file().expect("a file");
    let mut p = Prefetcher::new(IoMode::Off, 1 << 20);
    assert_eq!(p.not_yet_prefetched(&mapping, file, 0, 0), None);
    assert_eq!(p.not_yet_prefetched(&mapping, file, 100, 1000), Some(100));
    assert_eq!(p.not_yet_prefetched(&mapping, file, 200, 900), None);
    assert_eq!(p.not_yet_prefetched(&mapping, file, 500, 3000), Some(1000));
    assert_eq!(p.not_yet_prefetched(&mapping, file, 3000, 4000), Some(3000));
    // Another file, then back: each file keeps its own window (a
    // fetcher taking turns between partitions asks for nothing twice).
    let other_file = other.file().expect("a file");
    assert_eq!(p.not_yet_prefetched(&other, other_file, 0, 10), Some(0));
    assert_eq!(p.not_yet_prefetched(&mapping, file, 200, 900), None);
    assert_eq!(p.not_yet_prefetched(&mapping, file, 3500, 5000), Some(4000));
    assert_eq!(p.not_yet_prefetched(&other, other_file, 5, 20), Some(10));
    // A jump backwards starts over.
    assert_eq!(p.not_yet_prefetched(&mapping, file, 50, 900), Some(50));
    assert_eq!(p.not_yet_prefetched(&mapping, file, 60, 800), None);
}
