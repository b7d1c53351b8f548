//! The committed-offset store: per consumer group, the next offset to read
//! of each partition, in crash-safe checkpoint files of a state dir. The
//! layout, the file format and the guarantees are documented on
//! [`OffsetStore`].

#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, Result};
use crate::log_dir::TopicPartition;
use crate::segment::base_offset_from_file_name;

/// The longest encoded group id, in bytes, that [`OffsetStore`] accepts as a
/// directory name.
pub const MAX_GROUP_DIR_NAME_LEN: usize = 200;

/// The largest metadata, in bytes, a commit may carry: Kafka's default
/// `offset.metadata.max.bytes`.
pub const MAX_METADATA_BYTES: usize = 4096;

const GROUPS_DIR: &str = "groups";
const OFFSETS_FILE: &str = "offsets";
const LOCK_FILE: &str = "offsets.lock";
const TEMP_PREFIX: &str = "offsets.tmp.";
const DELETED_PREFIX: &str = ".deleted.";
const FORMAT_VERSION: u32 = 1;
/// How many times a writer re-takes the group lock when the group dir was
/// replaced (deleted) while it waited.
const LOCK_ATTEMPTS: usize = 100;
/// Names a broker gives the checkpoint files at the root of a log dir.
const KAFKA_LOG_DIR_MARKERS: &[&str] = &[
    "meta.properties",
    "recovery-point-offset-checkpoint",
    "replication-offset-checkpoint",
    "log-start-offset-checkpoint",
    "cleaner-offset-checkpoint",
];

static UNIQUE: AtomicU64 = AtomicU64::new(0);

/// A committed position: the next offset to read, with optional metadata
/// (Kafka's `OffsetAndMetadata`).
///
/// `metadata: None` and `Some("")` are different and both survive a round
/// trip through the store.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct OffsetAndMetadata {
    /// The next offset to read (the last processed offset + 1), `>= 0`.
    pub offset: i64,
    /// Free-form text committed with the offset, at most
    /// [`MAX_METADATA_BYTES`] bytes.
    pub metadata: Option<String>,
}

impl OffsetAndMetadata {
    /// An offset without metadata.
    pub fn new(offset: i64) -> Self {
        OffsetAndMetadata {
            offset,
            metadata: None,
        }
    }

    /// An offset with metadata.
    pub fn with_metadata(offset: i64, metadata: impl Into<String>) -> Self {
        OffsetAndMetadata {
            offset,
            metadata: Some(metadata.into()),
        }
    }
}

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

/// Checks one entry of a commit.
fn validate_entry(topic_partition: &TopicPartition, offset: &OffsetAndMetadata) -> Result<()> {
    if topic_partition.topic.is_empty() {
        return Err(Error::Config(
            "cannot commit an offset for an empty topic name".into(),
        ));
    }
    if topic_partition.partition < 0 {
        return Err(Error::Config(format!(
            "cannot commit an offset for negative partition {} of topic {:?}",
            topic_partition.partition,
            short(&topic_partition.topic)
        )));
    }
    if offset.offset < 0 {
        return Err(Error::Config(format!(
            "invalid negative offset {} for {}",
            offset.offset, topic_partition
        )));
    }
    if let Some(metadata) = &offset.metadata {
        if metadata.len() > MAX_METADATA_BYTES {
            return Err(Error::Config(format!(
                "offset metadata for {} is {} bytes, over the limit of {MAX_METADATA_BYTES} bytes",
                topic_partition,
                metadata.len()
            )));
        }
    }
    Ok(())
}

/// At most 40 characters of a name, for error messages.
pub(crate) fn short(name: &str) -> String {
    let mut chars = name.chars();
    let head: String = chars.by_ref().take(40).collect();
    if chars.next().is_some() {
        format!("{head}…")
    } else {
        head
    }
}

// ---------------------------------------------------------------------------
// Names

fn is_group_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

fn is_field_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.')
}

pub(crate) fn percent_encode(text: &str, keep: fn(u8) -> bool) -> String {
    let mut out = String::with_capacity(text.len());
    for &b in text.as_bytes() {
        if keep(b) {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(hex_digit(b >> 4));
            out.push(hex_digit(b & 0x0f));
        }
    }
    out
}

fn hex_digit(nibble: u8) -> char {
    char::from_digit(u32::from(nibble), 16)
        .map(|c| c.to_ascii_uppercase())
        .unwrap_or('0')
}

/// Decodes `%XX` escapes (either case); other bytes stand for themselves.
/// `None` for a bad escape or a result that is not UTF-8.
pub(crate) fn percent_decode(text: &str) -> Option<String> {
    let mut out = Vec::with_capacity(text.len());
    let mut bytes = text.bytes();
    while let Some(b) = bytes.next() {
        if b == b'%' {
            let high = bytes.next().and_then(hex_value)?;
            let low = bytes.next().and_then(hex_value)?;
            out.push(high << 4 | low);
        } else {
            out.push(b);
        }
    }
    String::from_utf8(out).ok()
}

fn hex_value(b: u8) -> Option<u8> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

/// The directory name of a group id (see the module docs).
fn encode_group_id(group: &str) -> Result<String> {
    if group.is_empty() {
        return Err(Error::Config(
            "group id must not be empty (kafka refuses empty group ids)".into(),
        ));
    }
    let encoded = percent_encode(group, is_group_byte);
    if encoded.len() > MAX_GROUP_DIR_NAME_LEN {
        return Err(Error::Config(format!(
            "group id {:?} is too long: encoded as a directory name it takes {} bytes, \
             over the limit of {MAX_GROUP_DIR_NAME_LEN} bytes",
            short(group),
            encoded.len()
        )));
    }
    Ok(encoded)
}

/// The group id a directory name encodes, if it is the canonical encoding
/// of one.
fn decode_group_dir_name(name: &str) -> Option<String> {
    let group = percent_decode(name)?;
    (!group.is_empty() && percent_encode(&group, is_group_byte) == name).then_some(group)
}

// ---------------------------------------------------------------------------
// The offsets file

/// Reads a group's offsets file; `None` when it does not exist.
fn read_offsets_file(path: &Path) -> Result<Option<BTreeMap<TopicPartition, OffsetAndMetadata>>> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(path, e)),
    };
    parse_offsets(path, &bytes).map(Some)
}

fn parse_offsets(path: &Path, bytes: &[u8]) -> Result<BTreeMap<TopicPartition, OffsetAndMetadata>> {
    let bad = |line: usize, what: String| Error::InvalidPath {
        path: path.to_path_buf(),
        reason: format!("malformed offsets file at line {line}: {what}"),
    };
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            let line = bytes
                .get(..e.valid_up_to())
                .map_or(0, |valid| valid.iter().filter(|&&b| b == b'\n').count());
            return Err(bad(line + 1, "not utf-8".into()));
        }
    };
    if text.is_empty() {
        return Err(bad(1, "the file is empty".into()));
    }
    if !text.ends_with('\n') {
        let line = text.split('\n').count();
        return Err(bad(line, "no final newline (a partial line)".into()));
    }
    let mut lines = text.split_terminator('\n');
    let version = match lines.next() {
        Some("0") => 0,
        Some("1") => 1,
        other => {
            return Err(bad(
                1,
                format!(
                    "expected version 0 or 1, found {:?}",
                    short(other.unwrap_or(""))
                ),
            ))
        }
    };
    let count: usize = lines
        .next()
        .and_then(parse_digits)
        .ok_or_else(|| bad(2, "expected an entry count".into()))?;
    let mut entries = BTreeMap::new();
    for n in 0..count {
        let line_number = n + 3;
        let Some(line) = lines.next() else {
            return Err(bad(
                line_number,
                format!("the count says {count} entries, found {n}"),
            ));
        };
        let (topic_partition, offset) = if version == 0 {
            parse_v0_line(line)
        } else {
            parse_v1_line(line)
        }
        .map_err(|what| bad(line_number, what))?;
        if entries.contains_key(&topic_partition) {
            return Err(bad(
                line_number,
                format!("a second entry for {topic_partition}"),
            ));
        }
        entries.insert(topic_partition, offset);
    }
    if lines.next().is_some() {
        return Err(bad(
            count + 3,
            format!("more entries than the count of {count}"),
        ));
    }
    Ok(entries)
}

/// A non-negative decimal number made of ASCII digits only.
pub(crate) fn parse_digits<T: std::str::FromStr>(text: &str) -> Option<T> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

type Entry = (TopicPartition, OffsetAndMetadata);

/// Kafka's `topic partition offset` (topic as is, may hold spaces).
fn parse_v0_line(line: &str) -> std::result::Result<Entry, String> {
    let mut fields = line.rsplitn(3, ' ');
    let offset = fields.next().and_then(parse_digits::<i64>);
    let partition = fields.next().and_then(parse_digits::<i32>);
    match (fields.next(), partition, offset) {
        (Some(topic), Some(partition), Some(offset)) if !topic.is_empty() => Ok((
            TopicPartition::new(topic, partition),
            OffsetAndMetadata::new(offset),
        )),
        _ => Err(format!(
            "expected 'topic partition offset', found {:?}",
            short(line)
        )),
    }
}

/// kreplay's `topic partition offset metadata` (see the module docs).
fn parse_v1_line(line: &str) -> std::result::Result<Entry, String> {
    let fields: Vec<&str> = line.split(' ').collect();
    let [topic, partition, offset, metadata] = fields.as_slice() else {
        return Err(format!(
            "expected 4 fields 'topic partition offset metadata', found {} in {:?}",
            fields.len(),
            short(line)
        ));
    };
    let topic = percent_decode(topic)
        .filter(|topic| !topic.is_empty())
        .ok_or_else(|| format!("bad topic {:?}", short(topic)))?;
    let partition = parse_digits::<i32>(partition)
        .ok_or_else(|| format!("bad partition {:?}", short(partition)))?;
    let offset =
        parse_digits::<i64>(offset).ok_or_else(|| format!("bad offset {:?}", short(offset)))?;
    let metadata = match *metadata {
        "-" => None,
        encoded => Some(
            encoded
                .strip_prefix('=')
                .and_then(percent_decode)
                .ok_or_else(|| {
                    format!(
                        "bad metadata {:?} (expected '-' or '=' and percent-encoded text)",
                        short(encoded)
                    )
                })?,
        ),
    };
    Ok((
        TopicPartition::new(topic, partition),
        OffsetAndMetadata { offset, metadata },
    ))
}

/// The version-1 text of a group's offsets.
fn render(entries: &BTreeMap<TopicPartition, OffsetAndMetadata>) -> String {
    let mut out = format!("{FORMAT_VERSION}\n{}\n", entries.len());
    for (topic_partition, offset) in entries {
        out.push_str(&percent_encode(&topic_partition.topic, is_field_byte));
        out.push(' ');
        out.push_str(&topic_partition.partition.to_string());
        out.push(' ');
        out.push_str(&offset.offset.to_string());
        out.push(' ');
        match &offset.metadata {
            None => out.push('-'),
            Some(metadata) => {
                out.push('=');
                out.push_str(&percent_encode(metadata, is_field_byte));
            }
        }
        out.push('\n');
    }
    out
}

// ---------------------------------------------------------------------------
// Durable writes

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
fn remove_stale_temps(dir: &Path) {
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
fn remove_deleted(groups_dir: &Path) {
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

// ---------------------------------------------------------------------------
// Locking

/// Takes the exclusive lock of the group in `dir`, creating the dir first
/// when `create`. `None` when the dir does not exist (only without
/// `create`). The lock is released when the file is dropped.
fn lock_group(dir: &Path, create: bool) -> Result<Option<File>> {
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

// ---------------------------------------------------------------------------
// The state dir is not a log dir

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

    use std::cell::Cell;
    use std::sync::Arc;

    use super::*;

    thread_local! {
        /// Makes this thread's offset writes fail halfway with "no space".
        pub(super) static FAIL_WRITES: Cell<bool> = const { Cell::new(false) };
    }

    fn tp(topic: &str, partition: i32) -> TopicPartition {
        TopicPartition::new(topic, partition)
    }

    fn store() -> (tempfile::TempDir, OffsetStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = OffsetStore::open(&dir.path().join("state"), &[]).unwrap();
        (dir, store)
    }

    fn one(
        topic_partition: TopicPartition,
        offset: OffsetAndMetadata,
    ) -> BTreeMap<TopicPartition, OffsetAndMetadata> {
        BTreeMap::from([(topic_partition, offset)])
    }

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
    fn offsets_reads_kafka_version_0() {
        let (_dir, store) = store();
        let dir = store.group_dir("g").unwrap();
        fs::write(
            dir.join(OFFSETS_FILE),
            "0\n3\norders 0 100\norders 1 0\n__consumer_offsets 36 5\n",
        )
        .unwrap();
        let all = store.committed_all("g").unwrap();
        assert_eq!(all[&tp("orders", 0)], OffsetAndMetadata::new(100));
        assert_eq!(all[&tp("orders", 1)], OffsetAndMetadata::new(0));
        assert_eq!(
            all[&tp("__consumer_offsets", 36)],
            OffsetAndMetadata::new(5)
        );
        // A commit rewrites it as version 1, keeping the entries.
        store
            .commit("g", &one(tp("orders", 1), OffsetAndMetadata::new(8)))
            .unwrap();
        let text = fs::read_to_string(dir.join(OFFSETS_FILE)).unwrap();
        assert!(text.starts_with("1\n3\n"), "{text}");
        assert_eq!(store.committed_all("g").unwrap().len(), 3);
    }

    #[test]
    fn offsets_malformed_files_name_file_and_line() {
        let (_dir, store) = store();
        let path = store.group_dir("g").unwrap().join(OFFSETS_FILE);
        let cases: &[(&[u8], &str)] = &[
            (b"", "line 1: the file is empty"),
            (b"2\n0\n", "line 1: expected version 0 or 1"),
            (b"1\nx\n", "line 2: expected an entry count"),
            (
                b"1\n2\na 0 1 -\n",
                "line 4: the count says 2 entries, found 1",
            ),
            (b"1\n1\na 0 1 -\nb 0 1 -\n", "line 4: more entries"),
            (b"1\n1\na 0 1 -", "line 3: no final newline"),
            (b"1\n1\na 0 1\n", "line 3: expected 4 fields"),
            (b"1\n1\na -1 1 -\n", "line 3: bad partition"),
            (b"1\n1\na 0 -5 -\n", "line 3: bad offset"),
            (b"1\n1\na 0 1 x\n", "line 3: bad metadata"),
            (b"1\n1\na 0 1 =%4\n", "line 3: bad metadata"),
            (b"1\n1\n%FF 0 1 -\n", "line 3: bad topic"),
            (
                b"1\n2\na 0 1 -\na 0 2 -\n",
                "line 4: a second entry for a-0",
            ),
            (
                b"0\n1\norders 0\n",
                "line 3: expected 'topic partition offset'",
            ),
            (b"1\n1\na 0 1 -\xff\n", "line 3: not utf-8"),
        ];
        for (bytes, expected) in cases {
            fs::write(&path, bytes).unwrap();
            let err = store.committed_all("g").unwrap_err().to_string();
            assert!(
                err.contains(expected),
                "{:?}: {err}",
                String::from_utf8_lossy(bytes)
            );
            assert!(err.contains(&path.display().to_string()), "{err}");
            assert!(err.contains("malformed offsets file"), "{err}");
            // A commit does not paper over it either.
            let err = store
                .commit("g", &one(tp("a", 0), OffsetAndMetadata::new(1)))
                .unwrap_err()
                .to_string();
            assert!(err.contains(expected), "{err}");
        }
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

    #[test]
    fn offsets_hostile_group_names() {
        let (dir, store) = store();
        let groups_dir = store.state_dir().join(GROUPS_DIR);
        let long = "x".repeat(10_000);
        let accepted = [
            "../x",
            "/etc/passwd",
            ".",
            "..",
            "a/b",
            "a\0b",
            "\n",
            "😀",
            "%41",
            "-",
            "_",
            "CON",
            "g%",
            " ",
            "\\..\\x",
            "a.b",
        ];
        for group in accepted {
            let offsets = one(tp("t", 0), OffsetAndMetadata::new(1));
            store.commit(group, &offsets).unwrap();
            let path = store.group_dir(group).unwrap();
            assert_eq!(path.parent(), Some(groups_dir.as_path()), "{group:?}");
            let name = path.file_name().unwrap().to_str().unwrap();
            assert!(
                name.bytes().all(|b| is_group_byte(b) || b == b'%'),
                "{name}"
            );
            assert_eq!(store.committed_all(group).unwrap(), offsets, "{group:?}");
        }
        let mut expected: Vec<String> = accepted.iter().map(|g| g.to_string()).collect();
        expected.sort();
        assert_eq!(store.groups().unwrap(), expected);
        // Nothing escaped: the temp dir holds only the state dir.
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["state"]);

        let err = store.commit("", &BTreeMap::new()).unwrap_err().to_string();
        assert!(err.contains("group id must not be empty"), "{err}");
        for long in [long.clone(), "é".repeat(40), ".".repeat(67)] {
            let err = store.committed_all(&long).unwrap_err().to_string();
            assert!(err.contains("over the limit of 200 bytes"), "{err}");
            assert!(err.len() < 400, "{err}");
        }
        // The longest accepted name.
        let max = "y".repeat(MAX_GROUP_DIR_NAME_LEN);
        store
            .commit(&max, &one(tp("t", 0), OffsetAndMetadata::new(1)))
            .unwrap();
        assert!(store.groups().unwrap().contains(&max));
    }

    #[test]
    fn offsets_group_dir_names_are_canonical() {
        for name in ["a", "%41", "a%2e", "%2E%2E", "a%2", "%C3", "a.b", ""] {
            let decoded = decode_group_dir_name(name);
            match name {
                "a" => assert_eq!(decoded.as_deref(), Some("a")),
                "%2E%2E" => assert_eq!(decoded.as_deref(), Some("..")),
                _ => assert_eq!(decoded, None, "{name}"),
            }
        }
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
