//! Durable writes: a file replaced atomically (temporary file, `fsync`,
//! rename, directory `fsync`), directories created durably, and the
//! clean-up of what a crash leaves (stale temporary files, groups half
//! deleted).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, Result};

const TEMP_PREFIX: &str = "offsets.tmp.";
pub(super) const DELETED_PREFIX: &str = ".deleted.";

pub(super) static UNIQUE: AtomicU64 = AtomicU64::new(0);

/// Writes `contents` to a new temporary file in `dir`, syncs it, renames it
/// over `target` and syncs `dir`. The temporary file is removed on failure.
pub(crate) fn write_atomically(dir: &Path, target: &Path, contents: &[u8]) -> Result<()> {
    let (temp_path, mut file) = create_temp(dir)?;
    let written = write_contents(&mut file, contents)
        .and_then(|()| file.sync_all())
        .map_err(|e| Error::io(&temp_path, e));
    drop(file);
    let renamed =
        written.and_then(|()| fs::rename(&temp_path, target).map_err(|e| Error::io(target, e)));
    if let Err(e) = renamed {
        if let Err(remove) = fs::remove_file(&temp_path) {
            log::warn!("cannot remove {}: {remove}", temp_path.display());
        }
        return Err(e);
    }
    sync_dir(dir)
}

fn write_contents(file: &mut File, contents: &[u8]) -> io::Result<()> {
    #[cfg(test)]
    if tests::FAIL_WRITES.with(std::cell::Cell::get) {
        file.write_all(contents.get(..contents.len() / 2).unwrap_or_default())?;
        return Err(io::ErrorKind::StorageFull.into());
    }
    file.write_all(contents)
}

/// A new, uniquely named temporary file in `dir`.
fn create_temp(dir: &Path) -> Result<(PathBuf, File)> {
    let mut attempts = 0;
    loop {
        let path = dir.join(format!(
            "{TEMP_PREFIX}{}.{}",
            std::process::id(),
            UNIQUE.fetch_add(1, Ordering::Relaxed)
        ));
        match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(file) => return Ok((path, file)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempts < 16 => attempts += 1,
            Err(e) => return Err(Error::io(&path, e)),
        }
    }
}

/// Removes temporary files a crashed commit left in `dir`. Called with the
/// group lock held, so no other writer's file is in progress. Best effort.
pub(super) fn remove_stale_temps(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        if name.to_str().is_some_and(|n| n.starts_with(TEMP_PREFIX)) {
            match fs::remove_file(entry.path()) {
                Ok(()) => log::debug!("removed stale {}", entry.path().display()),
                Err(e) => log::warn!("cannot remove stale {}: {e}", entry.path().display()),
            }
        }
    }
}

/// Removes the directories of deleted groups. Best effort.
pub(super) fn remove_deleted(groups_dir: &Path) {
    let Ok(entries) = fs::read_dir(groups_dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        if name.to_str().is_some_and(|n| n.starts_with(DELETED_PREFIX)) {
            if let Err(e) = fs::remove_dir_all(entry.path()) {
                if e.kind() != io::ErrorKind::NotFound {
                    log::warn!("cannot remove {}: {e}", entry.path().display());
                }
            }
        }
    }
}

/// Creates `dir` and any missing parents, syncing each parent whose
/// directory entries changed.
pub(crate) fn create_dir_durable(dir: &Path) -> Result<()> {
    match fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => return Ok(()),
        Ok(_) => {
            return Err(Error::InvalidPath {
                path: dir.to_path_buf(),
                reason: "exists and is not a directory".into(),
            })
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io(dir, e)),
    }
    let parent = dir.parent().filter(|p| !p.as_os_str().is_empty());
    if let Some(parent) = parent {
        create_dir_durable(parent)?;
    }
    match fs::create_dir(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists && dir.is_dir() => return Ok(()),
        Err(e) => return Err(Error::io(dir, e)),
    }
    match parent {
        Some(parent) => sync_dir(parent),
        None => Ok(()),
    }
}

/// Makes `dir`'s entries (a rename, a new file) durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        let synced = File::open(dir).and_then(|d| d.sync_all());
        match synced {
            Ok(()) => {}
            // Some file systems cannot fsync a directory; nothing to do there.
            Err(e) if e.kind() == io::ErrorKind::InvalidInput => {
                log::debug!("{}: directory fsync unsupported: {e}", dir.display());
            }
            Err(e) => return Err(Error::io(dir, e)),
        }
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )]

    use std::cell::Cell;

    use super::*;
    use crate::offsets::test_support::{one, store, tp};
    use crate::offsets::OffsetAndMetadata;

    thread_local! {
        /// Makes this thread's offset writes fail halfway with "no space".
        pub(super) static FAIL_WRITES: Cell<bool> = const { Cell::new(false) };
    }

    #[test]
    fn offsets_failed_write_keeps_previous_commit() {
        let (_dir, store) = store();
        let first = one(tp("a", 0), OffsetAndMetadata::new(1));
        store.commit("g", &first).unwrap();
        FAIL_WRITES.with(|f| f.set(true));
        let err = store.commit("g", &one(tp("a", 0), OffsetAndMetadata::new(2)));
        FAIL_WRITES.with(|f| f.set(false));
        let err = err.unwrap_err();
        assert!(matches!(err, Error::Io { .. }), "{err}");
        assert!(err.to_string().contains("offsets.tmp."), "{err}");
        assert_eq!(store.committed_all("g").unwrap(), first);
        let dir = store.group_dir("g").unwrap();
        let temps = fs::read_dir(&dir)
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_str()
                    .unwrap()
                    .starts_with(TEMP_PREFIX)
            })
            .count();
        assert_eq!(temps, 0);
    }

    #[test]
    fn offsets_stale_temps_are_ignored_then_removed() {
        let (_dir, store) = store();
        let dir = store.group_dir("g").unwrap();
        fs::write(dir.join("offsets.tmp.1.0"), "1\n5\ngarbage").unwrap();
        assert!(store.committed_all("g").unwrap().is_empty());
        store
            .commit("g", &one(tp("a", 0), OffsetAndMetadata::new(1)))
            .unwrap();
        assert!(!dir.join("offsets.tmp.1.0").exists());
        assert_eq!(store.groups().unwrap(), ["g"]);
    }
}
