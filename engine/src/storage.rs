//! Log dirs that are not on a local file system: a store (S3-compatible
//! object storage, say) mounted under a URL prefix such as
//! `s3://bucket/backups/broker-1`.
//!
//! The engine reads a log dir through a handful of calls: list a directory,
//! read a small file (checkpoints, `partition.metadata`), open a segment or
//! an index file. For a path under a mounted prefix those calls go to the
//! mounted [`ObjectSource`] instead of the file system; a segment's bytes
//! come back as an owned buffer behind the same [`Mapping`](crate::Mapping) a map would be,
//! so batches, records and every reader above them are the same code. The
//! engine holds no network code: a source lives in its own crate
//! (`kreplay-object-store` for S3) and is mounted by whoever links it.
//!
//! Paths under a mount are plain strings joined with `/`
//! (`s3://bucket/prefix/orders-0/00000000000000000000.log`), so errors name
//! the object. When nothing is mounted, each call costs one relaxed atomic
//! load before the local code runs.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use crate::error::{Error, Result};

/// What an entry of a listed directory is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// An object (a file).
    File,
    /// A common prefix (a directory).
    Dir,
}

/// One entry directly under a listed directory of an [`ObjectSource`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceEntry {
    /// Its name within the directory (no `/`).
    pub name: String,
    /// File or directory.
    pub kind: EntryKind,
    /// Its size in bytes (0 for a directory).
    pub len: u64,
}

/// A read-only tree of files addressed by `/`-separated keys relative to
/// the prefix it is mounted under (`""` is the prefix itself). Errors are
/// `io::Error`s; a missing key is [`io::ErrorKind::NotFound`].
pub trait ObjectSource: Send + Sync + fmt::Debug {
    /// The entries directly under `dir`, in any order; an empty list for a
    /// directory that does not exist (object stores have no empty ones).
    fn list(&self, dir: &str) -> io::Result<Vec<SourceEntry>>;

    /// The whole of the file at `key`.
    fn read(&self, key: &str) -> io::Result<Vec<u8>>;

    /// The size of the file at `key`, `None` when there is none. The
    /// default looks it up in its directory's listing.
    fn file_len(&self, key: &str) -> io::Result<Option<u64>> {
        let (dir, name) = key.rsplit_once('/').unwrap_or(("", key));
        Ok(self
            .list(dir)?
            .into_iter()
            .find(|e| e.kind == EntryKind::File && e.name == name)
            .map(|e| e.len))
    }

    /// A hint that `key` will be read soon: a source may start fetching it
    /// in the background. The default does nothing.
    fn will_read(&self, key: &str) {
        let _ = key;
    }
}

/// Mounted sources, by prefix (longest first).
static MOUNTS: RwLock<Vec<(String, Arc<dyn ObjectSource>)>> = RwLock::new(Vec::new());
/// Whether anything was ever mounted (the local path's only cost).
static ANY_MOUNTED: AtomicBool = AtomicBool::new(false);

/// Serves every path under `prefix` (a URL such as `s3://bucket/dir`, no
/// trailing `/`) from `source`, for the rest of the process. Mounting the
/// same prefix again replaces the source.
pub fn mount(prefix: &str, source: Arc<dyn ObjectSource>) {
    let prefix = prefix.trim_end_matches('/').to_string();
    let mut mounts = MOUNTS.write().unwrap_or_else(|e| e.into_inner());
    mounts.retain(|(p, _)| *p != prefix);
    mounts.push((prefix, source));
    mounts.sort_by_key(|(p, _)| std::cmp::Reverse(p.len()));
    ANY_MOUNTED.store(true, Ordering::Release);
}

/// Whether `path` is under a mounted prefix.
pub fn is_mounted(path: &Path) -> bool {
    remote(path).is_some()
}

/// Whether `path` is a directory: on the file system, or under a mount a
/// prefix with entries under it.
pub fn is_dir(path: &Path) -> bool {
    match remote(path) {
        Some(remote) => remote.list(path).is_ok_and(|entries| !entries.is_empty()),
        None => path.is_dir(),
    }
}

/// A path under a mount: its source and key.
pub(crate) struct Remote {
    pub(crate) source: Arc<dyn ObjectSource>,
    pub(crate) key: String,
}

impl fmt::Debug for Remote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Remote").field("key", &self.key).finish()
    }
}

/// The source and key serving `path`, when a prefix covering it is mounted.
pub(crate) fn remote(path: &Path) -> Option<Remote> {
    if !ANY_MOUNTED.load(Ordering::Acquire) {
        return None;
    }
    let text = path.to_str()?;
    let mounts = MOUNTS.read().unwrap_or_else(|e| e.into_inner());
    mounts.iter().find_map(|(prefix, source)| {
        let rest = text.strip_prefix(prefix.as_str())?;
        let key = match rest.strip_prefix('/') {
            Some(key) => key,
            None if rest.is_empty() => "",
            None => return None,
        };
        Some(Remote {
            source: Arc::clone(source),
            key: key.trim_end_matches('/').to_string(),
        })
    })
}

impl Remote {
    /// The entries under this directory.
    pub(crate) fn list(&self, path: &Path) -> Result<Vec<SourceEntry>> {
        self.source.list(&self.key).map_err(|e| Error::io(path, e))
    }

    /// The file's size, `None` when it does not exist.
    pub(crate) fn file_len(&self, path: &Path) -> Result<Option<u64>> {
        self.source
            .file_len(&self.key)
            .map_err(|e| Error::io(path, e))
    }

    /// The file's bytes, `None` when it does not exist.
    pub(crate) fn read_if_present(&self, path: &Path) -> Result<Option<Vec<u8>>> {
        match self.source.read(&self.key) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(path, e)),
        }
    }
}

/// `dir` joined with `name` as a mounted path (always with `/`).
pub(crate) fn join(dir: &Path, name: &str) -> PathBuf {
    let dir = dir.to_string_lossy();
    PathBuf::from(format!("{}/{name}", dir.trim_end_matches('/')))
}

/// The bytes of a mounted file, or `None` when `path` is not under a
/// mount (`Mapping::open` turns them into an owned mapping).
pub(crate) fn read_mounted(path: &Path) -> Result<Option<Vec<u8>>> {
    let Some(remote) = remote(path) else {
        return Ok(None);
    };
    let bytes = remote
        .source
        .read(&remote.key)
        .map_err(|e| Error::io(path, e))?;
    Ok(Some(bytes))
}

/// The text of a small file, `None` when it does not exist; local or
/// mounted.
pub(crate) fn read_to_string_if_present(path: &Path) -> Result<Option<String>> {
    let bytes = match remote(path) {
        Some(remote) => match remote.read_if_present(path)? {
            Some(bytes) => bytes,
            None => return Ok(None),
        },
        None => match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io(path, e)),
        },
    };
    String::from_utf8(bytes).map(Some).map_err(|_| {
        Error::io(
            path,
            io::Error::new(
                io::ErrorKind::InvalidData,
                "stream did not contain valid UTF-8",
            ),
        )
    })
}

/// Tells the source serving `path`, if any, that it will be read soon.
pub(crate) fn will_read(path: &Path) {
    if let Some(remote) = remote(path) {
        remote.source.will_read(&remote.key);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::collections::BTreeMap;

    use super::*;

    /// Files in memory, keyed by path.
    #[derive(Debug, Default)]
    struct Memory(BTreeMap<String, Vec<u8>>);

    impl ObjectSource for Memory {
        fn list(&self, dir: &str) -> io::Result<Vec<SourceEntry>> {
            let prefix = if dir.is_empty() {
                String::new()
            } else {
                format!("{dir}/")
            };
            let mut out: Vec<SourceEntry> = Vec::new();
            for (key, bytes) in self.0.range(prefix.clone()..) {
                let Some(rest) = key.strip_prefix(&prefix) else {
                    break;
                };
                let entry = match rest.split_once('/') {
                    Some((name, _)) => SourceEntry {
                        name: name.into(),
                        kind: EntryKind::Dir,
                        len: 0,
                    },
                    None => SourceEntry {
                        name: rest.into(),
                        kind: EntryKind::File,
                        len: bytes.len() as u64,
                    },
                };
                if !out.contains(&entry) {
                    out.push(entry);
                }
            }
            Ok(out)
        }

        fn read(&self, key: &str) -> io::Result<Vec<u8>> {
            self.0
                .get(key)
                .cloned()
                .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, key.to_string()))
        }
    }

    #[test]
    fn paths_under_a_mount_go_to_its_source() {
        let mut files = Memory::default();
        files.0.insert("t-0/a.txt".into(), b"hello".to_vec());
        mount("mem://unit-test/root/", Arc::new(files));
        let dir = Path::new("mem://unit-test/root");
        assert!(is_mounted(dir));
        assert!(!is_mounted(Path::new("mem://unit-test/rootless")));
        assert!(!is_mounted(Path::new("/tmp/mem://unit-test/root")));
        let names: Vec<String> = remote(dir)
            .unwrap()
            .list(dir)
            .unwrap()
            .into_iter()
            .map(|e| e.name)
            .collect();
        assert_eq!(names, ["t-0"]);
        let file = join(&join(dir, "t-0"), "a.txt");
        assert_eq!(file, Path::new("mem://unit-test/root/t-0/a.txt"));
        assert_eq!(
            read_to_string_if_present(&file).unwrap().as_deref(),
            Some("hello")
        );
        assert_eq!(
            read_to_string_if_present(&join(dir, "missing")).unwrap(),
            None
        );
        assert_eq!(read_mounted(&file).unwrap().unwrap(), b"hello");
        let found = remote(&file).unwrap().file_len(&file).unwrap();
        assert_eq!(found, Some(5));
        let missing = join(dir, "t-0/b.txt");
        assert_eq!(remote(&missing).unwrap().file_len(&missing).unwrap(), None);
        let error = read_mounted(&join(dir, "gone.log"))
            .unwrap_err()
            .to_string();
        assert!(error.contains("mem://unit-test/root/gone.log"), "{error}");
    }
}
