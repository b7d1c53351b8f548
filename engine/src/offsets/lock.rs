//! The group lock: an exclusive `flock` of `offsets.lock`, re-taken when
//! the group dir was replaced (deleted) while a writer waited.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::Path;

use super::durable::create_dir_durable;
use crate::error::{Error, Result};

const LOCK_FILE: &str = "offsets.lock";
/// How many times a writer re-takes the group lock when the group dir was
/// replaced (deleted) while it waited.
const LOCK_ATTEMPTS: usize = 100;

/// Takes the exclusive lock of the group in `dir`, creating the dir first
/// when `create`. `None` when the dir does not exist (only without
/// `create`). The lock is released when the file is dropped.
pub(super) fn lock_group(dir: &Path, create: bool) -> Result<Option<File>> {
    let lock_path = dir.join(LOCK_FILE);
    for _ in 0..LOCK_ATTEMPTS {
        if create {
            create_dir_durable(dir)?;
        }
        let file = match OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_path)
        {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound && !create => return Ok(None),
            // The dir was deleted between its creation and the open.
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(Error::io(&lock_path, e)),
        };
        lock_exclusive(&file).map_err(|e| Error::io(&lock_path, e))?;
        // The group may have been deleted (its dir renamed away) while we
        // waited: then the lock is on a file no longer at `lock_path`.
        let held = file.metadata().map_err(|e| Error::io(&lock_path, e))?;
        match fs::metadata(&lock_path) {
            Ok(current) if same_file(&held, &current) => return Ok(Some(file)),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound && !create => return Ok(None),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io(&lock_path, e)),
        }
    }
    Err(Error::io(
        &lock_path,
        io::Error::other("the group dir kept being replaced while locking it"),
    ))
}

#[cfg(unix)]
fn lock_exclusive(file: &File) -> io::Result<()> {
    loop {
        match rustix::fs::flock(file, rustix::fs::FlockOperation::LockExclusive) {
            Ok(()) => return Ok(()),
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

#[cfg(not(unix))]
fn lock_exclusive(_file: &File) -> io::Result<()> {
    Ok(())
}

#[cfg(unix)]
pub(crate) fn same_file(a: &fs::Metadata, b: &fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    a.dev() == b.dev() && a.ino() == b.ino()
}

#[cfg(not(unix))]
pub(crate) fn same_file(_a: &fs::Metadata, _b: &fs::Metadata) -> bool {
    true
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )]

    use std::collections::BTreeMap;
    use std::fs;
    use std::sync::Arc;

    use crate::offsets::durable::DELETED_PREFIX;
    use crate::offsets::test_support::{one, store, tp};
    use crate::offsets::{OffsetAndMetadata, GROUPS_DIR};

    #[test]
    fn offsets_concurrent_threads_lose_nothing() {
        let (_dir, store) = store();
        let store = Arc::new(store);
        let writers: Vec<_> = (0..4)
            .map(|partition| {
                let store = Arc::clone(&store);
                std::thread::spawn(move || {
                    for offset in 1..=60 {
                        let metadata = format!("writer {partition} commit {offset}");
                        store
                            .commit(
                                "g",
                                &one(
                                    tp("t", partition),
                                    OffsetAndMetadata::with_metadata(offset, metadata),
                                ),
                            )
                            .unwrap();
                    }
                })
            })
            .collect();
        let reader = {
            let store = Arc::clone(&store);
            std::thread::spawn(move || {
                let mut last = BTreeMap::new();
                for _ in 0..300 {
                    for (topic_partition, offset) in store.committed_all("g").unwrap() {
                        let previous = last.insert(topic_partition, offset.offset).unwrap_or(0);
                        assert!(offset.offset >= previous);
                    }
                }
            })
        };
        for writer in writers {
            writer.join().unwrap();
        }
        reader.join().unwrap();
        let all = store.committed_all("g").unwrap();
        assert_eq!(all.len(), 4);
        assert!(all.values().all(|o| o.offset == 60), "{all:?}");
    }

    #[test]
    fn offsets_commit_races_delete() {
        let (_dir, store) = store();
        let store = Arc::new(store);
        let committer = {
            let store = Arc::clone(&store);
            std::thread::spawn(move || {
                for offset in 0..100 {
                    store
                        .commit("g", &one(tp("t", 0), OffsetAndMetadata::new(offset)))
                        .unwrap();
                }
            })
        };
        for _ in 0..50 {
            store.delete_group("g").unwrap();
        }
        committer.join().unwrap();
        // The last commit happened after or before the last delete; either
        // way the group is whole.
        let all = store.committed_all("g").unwrap();
        assert!(all.is_empty() || all[&tp("t", 0)].offset <= 99);
        let leftovers = fs::read_dir(store.state_dir().join(GROUPS_DIR))
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_str()
                    .unwrap()
                    .starts_with(DELETED_PREFIX)
            })
            .count();
        assert_eq!(leftovers, 0);
    }
}
