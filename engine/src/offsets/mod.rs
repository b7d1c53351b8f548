//! The committed-offset store: per consumer group, the next offset to read
//! of each partition, in crash-safe checkpoint files of a state dir. The
//! layout, the file format and the guarantees are documented on
//! [`OffsetStore`].
//!
//! This file holds the store itself; what it is built on sits below it, in
//! files that import nothing from here: `names` (group ids as directory
//! names, percent-encoding), `offset_and_metadata` (a committed position and
//! the checks of a commit), `file_format` (the offsets file), `durable`
//! (atomic file replacement, durable directories), `lock` (the group lock)
//! and `state_dir` (kreplay's directories kept out of Kafka log dirs).

#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod durable;
mod file_format;
mod lock;
mod names;
mod offset_and_metadata;
mod state_dir;
#[cfg(test)]
mod test_support;

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use self::durable::{remove_deleted, remove_stale_temps, DELETED_PREFIX, UNIQUE};
use self::file_format::{read_offsets_file, render};
use self::lock::lock_group;
use self::names::{decode_group_dir_name, encode_group_id};
use self::offset_and_metadata::validate_entry;
use crate::error::{Error, Result};
use crate::log_dir::TopicPartition;

pub use self::names::MAX_GROUP_DIR_NAME_LEN;
pub use self::offset_and_metadata::{OffsetAndMetadata, MAX_METADATA_BYTES};

pub(crate) use self::durable::{create_dir_durable, sync_dir, write_atomically};
pub(crate) use self::file_format::parse_digits;
pub(crate) use self::lock::same_file;
pub(crate) use self::names::{percent_decode, percent_encode, short};
pub(crate) use self::state_dir::create_outside_log_dirs;

const GROUPS_DIR: &str = "groups";
const OFFSETS_FILE: &str = "offsets";

/// The committed offsets of every consumer group: crash-safe checkpoint
/// files in a state dir that is never inside a Kafka log dir.
///
/// A commit records, per partition, the *next offset to read* with optional
/// metadata, as Kafka's `OffsetAndMetadata` does ([`OffsetAndMetadata`]).
/// [`OffsetStore::commit`] merges the given partitions into what the group
/// has stored (the others are kept) and replaces the group's file
/// atomically; [`OffsetStore::committed`] reads offsets back. After a crash
/// at any point a group finds exactly its last completed commit.
///
/// # Layout
///
/// ```text
/// <state dir>/
///   groups/
///     <encoded group id>/
///       offsets                the group's committed offsets (format below)
///       offsets.lock           flock()ed, exclusive, around every read-merge-write
///       offsets.tmp.<pid>.<n>  a commit being written (a crash may leave one:
///                              it is never read, and the next commit removes it)
///       …                      free for other per-group state (membership);
///                              names starting with `offsets` belong to this module
///     .deleted.<pid>.<n>/      a group being deleted (never a valid encoded name)
/// ```
///
/// [`OffsetStore::open`] refuses a state dir that is, or is inside, one of
/// the given log dirs (compared after resolving symlinks), or that is inside
/// anything that looks like a Kafka log dir (`meta.properties`, a broker's
/// `*-offset-checkpoint` files) or partition dir (`<topic>-<n>` holding
/// segments), or that itself looks like one: kreplay never writes into a log
/// dir.
///
/// # Group ids as directory names
///
/// A group id may be any non-empty string: it is percent-encoded into one
/// directory name. Every byte outside `[A-Za-z0-9_-]` becomes `%XX`
/// (upper-case hex), dots included, so `.`, `..`, `/`, NUL, control
/// characters and non-ASCII text can never name anything but a child of
/// `groups/`: `../x` is `groups/%2E%2E%2Fx`, `my.group` is `groups/my%2Egroup`.
/// The encoding is reversible ([`OffsetStore::groups`] lists the original
/// ids). The empty id is refused (Kafka refuses it too), and so is an id
/// whose encoding is longer than [`MAX_GROUP_DIR_NAME_LEN`] bytes (file
/// systems cap a name at 255 bytes). On a case-insensitive file system,
/// ids differing only in letter case share a directory. Ids are `&str`: a
/// caller holding bytes that are not UTF-8 (a command-line argument) must
/// reject them before they get here, as the CLI does.
///
/// # File format
///
/// Kafka's offset checkpoint text format (`OffsetCheckpointFile`): a version
/// line, a count line, then one line per partition, each ending in `\n`.
/// kreplay writes version `1`, whose lines have four fields separated by one
/// space:
///
/// ```text
/// 1
/// 3
/// orders 0 100 -
/// orders 1 57 =
/// my%20topic 3 7 =checkpoint%20at%2012%3A00
/// ```
///
/// `topic partition offset metadata`: the topic is percent-encoded (every
/// byte outside `[A-Za-z0-9._-]`); the metadata is `-` when there is none
/// and otherwise `=` followed by the percent-encoded metadata (`=` alone is
/// empty metadata), so no value can break a line or a field. Version `0`,
/// what a Kafka broker writes (`topic partition offset`, no metadata, topic
/// as is), is read too. A file that does not parse — a wrong version or
/// count, a bad field, a duplicate partition, a missing final newline — is
/// an [`Error::InvalidPath`] naming the file and the line; it is never taken
/// for an empty one, and commits to that group fail until it is repaired or
/// the group deleted.
///
/// # Crash safety and concurrency
///
/// A commit writes the whole file to a fresh temporary file in the group
/// dir, `fsync`s it, renames it over `offsets` and `fsync`s the directory.
/// A reader therefore sees the previous file or the new one, never a mix;
/// readers take no lock. Writers — threads or processes sharing the state
/// dir — serialise on an exclusive `flock` of `offsets.lock` around the
/// read-merge-write, so concurrent commits to one group never lose each
/// other's partitions. Locks are released by the kernel when a process dies.
/// Locking and directory `fsync` are done on Unix; elsewhere commits are
/// still atomic but concurrent writers to one group are not serialised.
///
/// # Example
///
/// ```
/// use std::collections::BTreeMap;
/// use kreplay::{OffsetAndMetadata, OffsetStore, TopicPartition};
///
/// # fn main() -> kreplay::Result<()> {
/// # let tmp = tempfile::tempdir().map_err(|e| kreplay::Error::Config(e.to_string()))?;
/// # let state_dir = tmp.path().join("state");
/// # let log_dir = tmp.path().join("kafka-logs");
/// let store = OffsetStore::open(&state_dir, &[log_dir])?;
/// let orders_0 = TopicPartition::new("orders", 0);
/// let offsets = BTreeMap::from([(orders_0.clone(), OffsetAndMetadata::new(100))]);
/// store.commit("metrics-to-es", &offsets)?;
///
/// let committed = store.committed("metrics-to-es", &[orders_0.clone()])?;
/// assert_eq!(committed[&orders_0].offset, 100);
/// assert_eq!(store.groups()?, ["metrics-to-es"]);
/// # Ok(())
/// # }
/// ```
///
/// [`OffsetStore`] is cheap to clone and holds no open files. Any number of
/// stores, in any number of threads and processes, may share one state dir.
#[derive(Debug, Clone)]
pub struct OffsetStore {
    /// The state dir, symlinks resolved.
    state_dir: PathBuf,
}

impl OffsetStore {
    /// Opens the store in `state_dir`, creating the directory if needed.
    ///
    /// Refused ([`Error::InvalidPath`]) when `state_dir` is one of
    /// `log_dirs` or inside one (after resolving symlinks), is inside a
    /// directory that looks like a Kafka log dir or partition dir, or
    /// itself looks like one (holds `meta.properties`, `*-checkpoint` files
    /// or `<topic>-<n>` dirs with `.log` files). Nothing is created then.
    pub fn open(state_dir: &Path, log_dirs: &[PathBuf]) -> Result<OffsetStore> {
        Ok(OffsetStore {
            state_dir: create_outside_log_dirs(state_dir, "the state dir", log_dirs)?,
        })
    }

    /// The state dir (symlinks resolved).
    pub fn state_dir(&self) -> &Path {
        &self.state_dir
    }

    /// Stores `offsets` for `group`, keeping what the group has stored for
    /// other partitions, and returns once the new file is durable.
    ///
    /// Each offset must be `>= 0`, each partition `>= 0`, each topic
    /// non-empty and each metadata at most [`MAX_METADATA_BYTES`] bytes
    /// ([`Error::Config`] otherwise, nothing written). An empty map writes
    /// nothing. On any error before the rename (an unwritable state dir, a
    /// full disk) the stored offsets are those of the previous commit; an
    /// error from the final directory `fsync` means the commit is in place
    /// but may not survive a power loss.
    pub fn commit(
        &self,
        group: &str,
        offsets: &BTreeMap<TopicPartition, OffsetAndMetadata>,
    ) -> Result<()> {
        let dir = self.group_path(group)?;
        for (topic_partition, offset) in offsets {
            validate_entry(topic_partition, offset)?;
        }
        if offsets.is_empty() {
            return Ok(());
        }
        self.update(&dir, |stored| {
            for (topic_partition, offset) in offsets {
                stored.insert(topic_partition.clone(), offset.clone());
            }
        })
    }

    /// Removes the committed offsets of `partitions` from `group` (Kafka's
    /// `deleteConsumerGroupOffsets`); other partitions are kept. Partitions
    /// without a committed offset are ignored.
    pub fn delete_offsets(&self, group: &str, partitions: &[TopicPartition]) -> Result<()> {
        let dir = self.group_path(group)?;
        if partitions.is_empty() || !dir.join(OFFSETS_FILE).exists() {
            return Ok(());
        }
        self.update(&dir, |stored| {
            for topic_partition in partitions {
                stored.remove(topic_partition);
            }
        })
    }

    /// The committed offsets of `partitions` for `group`. A partition
    /// without one is absent from the map (as is every partition of a group
    /// that never committed).
    pub fn committed(
        &self,
        group: &str,
        partitions: &[TopicPartition],
    ) -> Result<BTreeMap<TopicPartition, OffsetAndMetadata>> {
        let mut all = self.committed_all(group)?;
        let mut found = BTreeMap::new();
        for topic_partition in partitions {
            if let Some(offset) = all.remove(topic_partition) {
                found.insert(topic_partition.clone(), offset);
            }
        }
        Ok(found)
    }

    /// Every committed offset of `group` (empty for a group that never
    /// committed).
    pub fn committed_all(
        &self,
        group: &str,
    ) -> Result<BTreeMap<TopicPartition, OffsetAndMetadata>> {
        let path = self.group_path(group)?.join(OFFSETS_FILE);
        Ok(read_offsets_file(&path)?.unwrap_or_default())
    }

    /// The ids of the groups that have a directory in the store, sorted.
    /// Directories whose names are not valid encoded ids are skipped.
    pub fn groups(&self) -> Result<Vec<String>> {
        let dir = self.groups_dir();
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io(&dir, e)),
        };
        let mut groups = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| Error::io(&dir, e))?;
            let file_type = entry.file_type().map_err(|e| Error::io(entry.path(), e))?;
            let name = entry.file_name();
            match name.to_str().and_then(decode_group_dir_name) {
                Some(group) if file_type.is_dir() => groups.push(group),
                _ => log::debug!("skipping {}: not a group dir", entry.path().display()),
            }
        }
        groups.sort();
        Ok(groups)
    }

    /// The directory of `group` (`<state dir>/groups/<encoded id>`), created
    /// if needed: the place for other per-group state. Names starting with
    /// `offsets` are this store's; [`delete_group`](Self::delete_group)
    /// removes the whole directory.
    pub fn group_dir(&self, group: &str) -> Result<PathBuf> {
        let dir = self.group_path(group)?;
        create_dir_durable(&dir)?;
        Ok(dir)
    }

    fn groups_dir(&self) -> PathBuf {
        self.state_dir.join(GROUPS_DIR)
    }

    /// The group's directory path (not created).
    fn group_path(&self, group: &str) -> Result<PathBuf> {
        Ok(self.groups_dir().join(encode_group_id(group)?))
    }

    /// Read-modify-write of a group's offsets file under the group lock.
    fn update(
        &self,
        dir: &Path,
        change: impl FnOnce(&mut BTreeMap<TopicPartition, OffsetAndMetadata>),
    ) -> Result<()> {
        let Some(_lock) = lock_group(dir, true)? else {
            return Err(Error::io(
                dir,
                io::Error::new(io::ErrorKind::NotFound, "group dir vanished"),
            ));
        };
        update_locked(dir, change)
    }

    /// Takes `group`'s lock (the one every commit takes), creating the group
    /// dir when `create`; `None` when the group does not exist and `!create`.
    /// Group membership changes its state under this lock too, so a commit
    /// checked under it cannot interleave with a rebalance.
    pub(crate) fn lock(&self, group: &str, create: bool) -> Result<Option<GroupLock>> {
        let dir = self.group_path(group)?;
        Ok(lock_group(&dir, create)?.map(|file| GroupLock { _file: file, dir }))
    }

    /// [`commit`](Self::commit) with the group's lock already held.
    pub(crate) fn commit_locked(
        &self,
        lock: &GroupLock,
        offsets: &BTreeMap<TopicPartition, OffsetAndMetadata>,
    ) -> Result<()> {
        for (topic_partition, offset) in offsets {
            validate_entry(topic_partition, offset)?;
        }
        if offsets.is_empty() {
            return Ok(());
        }
        update_locked(&lock.dir, |stored| {
            for (topic_partition, offset) in offsets {
                stored.insert(topic_partition.clone(), offset.clone());
            }
        })
    }

    /// [`delete_offsets`](Self::delete_offsets) with the group's lock held.
    pub(crate) fn delete_offsets_locked(
        &self,
        lock: &GroupLock,
        partitions: &[TopicPartition],
    ) -> Result<()> {
        if partitions.is_empty() || !lock.dir.join(OFFSETS_FILE).exists() {
            return Ok(());
        }
        update_locked(&lock.dir, |stored| {
            for topic_partition in partitions {
                stored.remove(topic_partition);
            }
        })
    }

    /// [`delete_group`](Self::delete_group) with the group's lock held.
    pub(crate) fn delete_group_locked(&self, lock: GroupLock) -> Result<()> {
        let groups_dir = self.groups_dir();
        let trash = groups_dir.join(format!(
            "{DELETED_PREFIX}{}.{}",
            std::process::id(),
            UNIQUE.fetch_add(1, Ordering::Relaxed)
        ));
        fs::rename(&lock.dir, &trash).map_err(|e| Error::io(&lock.dir, e))?;
        drop(lock);
        sync_dir(&groups_dir)?;
        remove_deleted(&groups_dir);
        Ok(())
    }

    /// The group's directory path (not created).
    pub(crate) fn group_path_of(&self, group: &str) -> Result<PathBuf> {
        self.group_path(group)
    }
}

/// A group's lock, held until dropped; `dir` is the group's directory.
#[derive(Debug)]
pub(crate) struct GroupLock {
    _file: File,
    pub(crate) dir: PathBuf,
}

/// Read-modify-write of a group's offsets file; the group lock is held.
fn update_locked(
    dir: &Path,
    change: impl FnOnce(&mut BTreeMap<TopicPartition, OffsetAndMetadata>),
) -> Result<()> {
    let path = dir.join(OFFSETS_FILE);
    let mut stored = read_offsets_file(&path)?.unwrap_or_default();
    change(&mut stored);
    remove_stale_temps(dir);
    write_atomically(dir, &path, render(&stored).as_bytes())
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )]

    use super::*;
    use crate::offsets::test_support::{one, store, tp};

    #[test]
    fn offsets_round_trip_with_metadata() {
        let (_dir, store) = store();
        let offsets = BTreeMap::from([
            (tp("orders", 0), OffsetAndMetadata::new(100)),
            (tp("orders", 1), OffsetAndMetadata::with_metadata(7, "")),
            (
                tp("my topic", 3),
                OffsetAndMetadata::with_metadata(0, "line one\nline two\r\n tab\t= - % ü 😀"),
            ),
            (
                tp("odd\ntopic %41", 2),
                OffsetAndMetadata::with_metadata(5, "-"),
            ),
            (tp("eq", 9), OffsetAndMetadata::with_metadata(6, "=")),
        ]);
        store.commit("g", &offsets).unwrap();
        assert_eq!(store.committed_all("g").unwrap(), offsets);
        let some = store
            .committed("g", &[tp("orders", 1), tp("orders", 5), tp("my topic", 3)])
            .unwrap();
        assert_eq!(some.len(), 2);
        assert_eq!(some[&tp("orders", 1)].metadata.as_deref(), Some(""));
        assert!(store
            .committed("other", &[tp("orders", 0)])
            .unwrap()
            .is_empty());
        // Every entry is one line of four fields.
        let text = fs::read_to_string(store.group_dir("g").unwrap().join(OFFSETS_FILE)).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "1");
        assert_eq!(lines[1], "5");
        assert_eq!(lines.len(), 7);
        assert!(
            lines[2..].iter().all(|l| l.split(' ').count() == 4),
            "{text}"
        );
        assert!(text.contains("orders 0 100 -\n"), "{text}");
        assert!(text.contains("orders 1 7 =\n"), "{text}");
    }

    #[test]
    fn offsets_commit_merges() {
        let (_dir, store) = store();
        store
            .commit(
                "g",
                &BTreeMap::from([
                    (tp("a", 0), OffsetAndMetadata::new(1)),
                    (tp("a", 1), OffsetAndMetadata::new(2)),
                ]),
            )
            .unwrap();
        store
            .commit(
                "g",
                &one(tp("a", 1), OffsetAndMetadata::with_metadata(20, "m")),
            )
            .unwrap();
        store
            .commit("g", &one(tp("b", 0), OffsetAndMetadata::new(3)))
            .unwrap();
        store.commit("g", &BTreeMap::new()).unwrap();
        let all = store.committed_all("g").unwrap();
        assert_eq!(
            all,
            BTreeMap::from([
                (tp("a", 0), OffsetAndMetadata::new(1)),
                (tp("a", 1), OffsetAndMetadata::with_metadata(20, "m")),
                (tp("b", 0), OffsetAndMetadata::new(3)),
            ])
        );
        store
            .delete_offsets("g", &[tp("a", 0), tp("zz", 0)])
            .unwrap();
        assert_eq!(store.committed_all("g").unwrap().len(), 2);
        // Groups are isolated.
        store
            .commit("h", &one(tp("a", 0), OffsetAndMetadata::new(9)))
            .unwrap();
        assert_eq!(store.committed_all("g").unwrap().len(), 2);
        assert_eq!(store.groups().unwrap(), ["g", "h"]);
        assert!(store.delete_group("g").unwrap());
        assert!(!store.delete_group("g").unwrap());
        assert!(store.committed_all("g").unwrap().is_empty());
        assert_eq!(store.groups().unwrap(), ["h"]);
        // Nothing left behind by the delete.
        let names: Vec<_> = fs::read_dir(store.state_dir().join(GROUPS_DIR))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["h"]);
        // A deleted group can commit again.
        store
            .commit("g", &one(tp("a", 0), OffsetAndMetadata::new(4)))
            .unwrap();
        assert_eq!(store.committed_all("g").unwrap()[&tp("a", 0)].offset, 4);
    }

    #[test]
    fn offsets_bad_commits_are_refused() {
        let (_dir, store) = store();
        let cases = [
            (
                tp("a", 0),
                OffsetAndMetadata::new(-1),
                "invalid negative offset -1",
            ),
            (tp("a", -1), OffsetAndMetadata::new(0), "negative partition"),
            (tp("", 0), OffsetAndMetadata::new(0), "empty topic"),
            (
                tp("a", 0),
                OffsetAndMetadata::with_metadata(0, "x".repeat(MAX_METADATA_BYTES + 1)),
                "over the limit of 4096 bytes",
            ),
        ];
        for (topic_partition, offset, expected) in cases {
            let err = store
                .commit("g", &one(topic_partition, offset))
                .unwrap_err();
            assert!(matches!(err, Error::Config(_)), "{err}");
            assert!(err.to_string().contains(expected), "{err}");
        }
        assert!(store.groups().unwrap().is_empty());
    }
}
