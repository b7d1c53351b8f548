//! Keeping kreplay's own directories (the state dir, an export dir) out of
//! Kafka log dirs: resolved through symlinks, checked against the given log
//! dirs and against anything that looks like a log dir or partition dir.

use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};

use super::durable::create_dir_durable;
use crate::error::{Error, Result};
use crate::log_dir::TopicPartition;
use crate::segment::base_offset_from_file_name;

/// Names a broker gives the checkpoint files at the root of a log dir.
const KAFKA_LOG_DIR_MARKERS: &[&str] = &[
    "meta.properties",
    "recovery-point-offset-checkpoint",
    "replication-offset-checkpoint",
    "log-start-offset-checkpoint",
    "cleaner-offset-checkpoint",
];

/// Creates the directory `dir` (durably, with its missing parents) where
/// kreplay writes (`role`: "the state dir", "the export dir"), and returns
/// it with symlinks resolved. Refused ([`Error::InvalidPath`]) when `dir` is
/// one of `log_dirs` or inside one (after resolving symlinks), is inside a
/// directory that looks like a Kafka log dir or partition dir, or itself
/// looks like one. Nothing is created then.
pub(crate) fn create_outside_log_dirs(
    dir: &Path,
    role: &str,
    log_dirs: &[PathBuf],
) -> Result<PathBuf> {
    let resolved = resolve(dir, role)?;
    check_not_in_log_dir(dir, role, &resolved, log_dirs)?;
    create_dir_durable(&resolved)?;
    // Check again now that every symlink on the way can be resolved
    // (and against anything that moved meanwhile).
    let canonical = resolved
        .canonicalize()
        .map_err(|e| Error::io(&resolved, e))?;
    check_not_in_log_dir(dir, role, &canonical, log_dirs)?;
    Ok(canonical)
}

/// `path` made absolute with symlinks resolved; the part that does not
/// exist yet is appended as is.
fn resolve(path: &Path, role: &str) -> Result<PathBuf> {
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .map_err(|e| Error::io(path, e))?
            .join(path)
    };
    let mut existing = absolute.clone();
    let mut missing = Vec::new();
    loop {
        match existing.canonicalize() {
            Ok(mut resolved) => {
                resolved.extend(missing.iter().rev());
                return Ok(resolved);
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                match existing.components().next_back() {
                    Some(Component::Normal(name)) => missing.push(name.to_os_string()),
                    Some(Component::CurDir) => {}
                    _ => {
                        return Err(Error::InvalidPath {
                            path: path.to_path_buf(),
                            reason: format!(
                                "cannot resolve {role}: '..' follows a directory that does \
                                 not exist"
                            ),
                        })
                    }
                }
                if !existing.pop() {
                    return Err(Error::io(path, e));
                }
            }
            Err(e) => return Err(Error::io(&existing, e)),
        }
    }
}

/// Refuses a directory to write in (`resolved`, as given: `given`) that is or is inside
/// a log dir, or looks like one.
fn check_not_in_log_dir(
    given: &Path,
    role: &str,
    resolved: &Path,
    log_dirs: &[PathBuf],
) -> Result<()> {
    let refuse = |reason: String| Error::InvalidPath {
        path: given.to_path_buf(),
        reason: format!("cannot be {role}: {reason}; kreplay never writes into a log dir"),
    };
    for log_dir in log_dirs {
        let canonical = match log_dir.canonicalize() {
            Ok(canonical) => canonical,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(Error::io(log_dir, e)),
        };
        if resolved == canonical {
            return Err(refuse(format!("it is the log dir {}", log_dir.display())));
        }
        if resolved.starts_with(&canonical) {
            return Err(refuse(format!(
                "it is inside the log dir {}",
                log_dir.display()
            )));
        }
    }
    if let Some(what) = looks_like_log_dir(resolved)? {
        return Err(refuse(format!("it {what}")));
    }
    for ancestor in resolved.ancestors().skip(1) {
        if let Some(marker) = KAFKA_LOG_DIR_MARKERS
            .iter()
            .find(|marker| ancestor.join(marker).is_file())
        {
            return Err(refuse(format!(
                "it is inside {}, which holds {marker} as a kafka log dir does",
                ancestor.display()
            )));
        }
        if is_partition_dir(ancestor) {
            return Err(refuse(format!(
                "it is inside {}, which looks like a kafka partition dir",
                ancestor.display()
            )));
        }
    }
    Ok(())
}

/// Why the existing directory `dir` looks like a Kafka log dir or partition
/// dir, if it does.
fn looks_like_log_dir(dir: &Path) -> Result<Option<String>> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
            ) =>
        {
            return Ok(None)
        }
        Err(e) => return Err(Error::io(dir, e)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            continue;
        };
        let path = entry.path();
        if name == "meta.properties" || name.ends_with("-checkpoint") {
            return Ok(Some(format!("holds {name}, as a kafka log dir does")));
        }
        if is_segment_name(&path) {
            return Ok(Some(format!(
                "holds the segment {name}, as a kafka partition dir does"
            )));
        }
        if TopicPartition::parse_dir_name(&name).is_some() && is_partition_dir(&path) {
            return Ok(Some(format!(
                "holds the partition dir {name}, as a kafka log dir does"
            )));
        }
    }
    Ok(None)
}

/// A directory named `<topic>-<n>` holding at least one segment file.
fn is_partition_dir(dir: &Path) -> bool {
    let named_like_one = dir
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(TopicPartition::parse_dir_name)
        .is_some();
    named_like_one
        && fs::read_dir(dir).is_ok_and(|entries| {
            entries
                .flatten()
                .any(|entry| is_segment_name(&entry.path()))
        })
}

/// `<20 digits>.log`.
fn is_segment_name(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "log") && base_offset_from_file_name(path).is_some()
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )]

    use std::fs;
    use std::path::{Path, PathBuf};

    use crate::error::Error;
    use crate::offsets::test_support::{one, tp};
    use crate::offsets::{OffsetAndMetadata, OffsetStore, GROUPS_DIR};

    #[cfg(unix)]
    #[test]
    fn offsets_state_dir_is_never_a_log_dir() {
        let root = tempfile::tempdir().unwrap();
        let log_dir = root.path().join("kafka-logs");
        let partition = log_dir.join("orders-0");
        fs::create_dir_all(&partition).unwrap();
        fs::write(partition.join("00000000000000000000.log"), b"").unwrap();
        let log_dirs = [log_dir.clone()];

        let refused = |state: &Path, log_dirs: &[PathBuf], expected: &str| {
            let err = OffsetStore::open(state, log_dirs).unwrap_err();
            assert!(matches!(err, Error::InvalidPath { .. }), "{err}");
            let message = err.to_string();
            assert!(message.contains(expected), "{message}");
        };
        refused(&log_dir, &log_dirs, "it is the log dir");
        refused(&log_dir, &log_dirs, "kreplay never writes into a log dir");
        refused(&log_dir.join("state"), &log_dirs, "inside the log dir");
        refused(&log_dir.join("a/b/c"), &log_dirs, "inside the log dir");
        assert!(!log_dir.join("state").exists() && !log_dir.join("a").exists());
        refused(&log_dir.join("x/../state"), &log_dirs, "'..' follows");
        refused(&partition, &log_dirs, "inside the log dir");
        // Through a symlink, and through a relative path with `..`.
        let link = root.path().join("link");
        std::os::unix::fs::symlink(&log_dir, &link).unwrap();
        refused(&link.join("state"), &log_dirs, "inside the log dir");
        refused(
            &log_dir.join("orders-0/../state"),
            &log_dirs,
            "inside the log dir",
        );
        // Without being told the log dir: it looks like one.
        refused(&log_dir, &[], "holds the partition dir orders-0");
        refused(&partition, &[], "holds the segment");
        refused(
            &partition.join("state"),
            &[],
            "looks like a kafka partition dir",
        );
        let broker_dir = root.path().join("broker");
        fs::create_dir(&broker_dir).unwrap();
        fs::write(
            broker_dir.join("recovery-point-offset-checkpoint"),
            "0\n0\n",
        )
        .unwrap();
        refused(&broker_dir, &[], "holds recovery-point-offset-checkpoint");
        refused(
            &broker_dir.join("state"),
            &[],
            "holds recovery-point-offset-checkpoint",
        );
        fs::write(broker_dir.join("meta.properties"), "").unwrap();
        refused(&broker_dir.join("state"), &[], "holds meta.properties");
        assert!(!broker_dir.join("state").exists());

        // Beside the log dir is fine; a missing log dir is no obstacle.
        let state = root.path().join("state");
        let store =
            OffsetStore::open(&state, &[log_dir.clone(), root.path().join("gone")]).unwrap();
        assert_eq!(store.state_dir(), state.canonicalize().unwrap());
        // And so is a parent of the log dir.
        OffsetStore::open(root.path(), &log_dirs).unwrap();
        // Reopening an existing store works.
        store
            .commit("g", &one(tp("a", 0), OffsetAndMetadata::new(1)))
            .unwrap();
        let again = OffsetStore::open(&state, &log_dirs).unwrap();
        assert_eq!(again.committed_all("g").unwrap().len(), 1);
    }

    #[test]
    fn offsets_unusable_state_dir_is_a_clear_error() {
        let root = tempfile::tempdir().unwrap();
        let file = root.path().join("plain-file");
        fs::write(&file, "").unwrap();
        // A state dir below a regular file.
        let err = OffsetStore::open(&file.join("state"), &[]).unwrap_err();
        assert!(matches!(err, Error::Io { .. }), "{err}");
        assert!(err.to_string().contains("plain-file"), "{err}");
        let err = OffsetStore::open(&file, &[]).unwrap_err();
        assert!(err.to_string().contains("not a directory"), "{err}");
        // A group dir that cannot be created.
        let store = OffsetStore::open(&root.path().join("state"), &[]).unwrap();
        fs::write(store.state_dir().join(GROUPS_DIR), "").unwrap();
        let err = store
            .commit("g", &one(tp("a", 0), OffsetAndMetadata::new(1)))
            .unwrap_err();
        assert!(err.to_string().contains(GROUPS_DIR), "{err}");
        assert!(store.committed_all("g").is_err());
    }

    #[cfg(unix)]
    #[test]
    fn offsets_read_only_state_dir_is_a_clear_error() {
        use std::os::unix::fs::PermissionsExt;
        let root = tempfile::tempdir().unwrap();
        let store = OffsetStore::open(&root.path().join("state"), &[]).unwrap();
        let first = one(tp("a", 0), OffsetAndMetadata::new(1));
        store.commit("g", &first).unwrap();
        let group_dir = store.group_dir("g").unwrap();
        let read_only = fs::Permissions::from_mode(0o555);
        let groups_dir = store.state_dir().join(GROUPS_DIR);
        fs::set_permissions(&group_dir, read_only.clone()).unwrap();
        fs::set_permissions(&groups_dir, read_only).unwrap();
        let probe = group_dir.join("probe");
        let privileged = fs::write(&probe, "").is_ok();
        if privileged {
            let _ = fs::remove_file(&probe);
            eprintln!(
                "skipped: permissions are not enforced for this user (root); \
                 the failed-write path is covered by offsets_failed_write_keeps_previous_commit"
            );
        } else {
            let err = store
                .commit("g", &one(tp("a", 0), OffsetAndMetadata::new(2)))
                .unwrap_err();
            assert!(matches!(err, Error::Io { .. }), "{err}");
            assert!(
                err.to_string().contains(&group_dir.display().to_string()),
                "{err}"
            );
            assert_eq!(store.committed_all("g").unwrap(), first);
            let err = store.commit("new", &first).unwrap_err();
            assert!(err.to_string().contains("new"), "{err}");
        }
        let writable = fs::Permissions::from_mode(0o755);
        fs::set_permissions(&group_dir, writable.clone()).unwrap();
        fs::set_permissions(&groups_dir, writable).unwrap();
    }
}
