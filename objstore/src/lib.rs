//! kreplay over S3-compatible object storage.
//!
//! A log dir copied under a bucket prefix (`aws s3 sync /var/lib/kafka
//! s3://backups/broker-1`) is read where it lies: [`mount`] serves every
//! path under `s3://bucket/prefix` to the engine ([`kreplay::storage`]), so
//! `ls`, `dump`, `verify`, `consume` and `export` take `s3://…` wherever
//! they take a log dir, partition dir or segment file.
//!
//! How the bytes come:
//! - listings are one `LIST` per directory (kept for the process: a backup
//!   does not change under a replay);
//! - a file is fetched with ranged `GET`s of [`MountOptions::chunk_size`]
//!   bytes, at most [`MountOptions::requests_in_flight`] at once, into one
//!   buffer the engine's batch views borrow from as they would from a map;
//! - when the engine opens segment N of a partition it tells the source
//!   that segment N+1 comes next, and its fetch starts in the background
//!   (at most [`MountOptions::files_ahead`] such files are held);
//! - failed requests (5xx answers, dropped connections, timeouts) are
//!   retried with exponential backoff by `object_store`; after the last
//!   retry the error names the object and what the server said.
//!
//! The network code and its runtime (tokio, owned by the mount) live in
//! this crate only: the engine's local read path has no async runtime.
//!
//! Configuration comes from the usual `AWS_*` environment variables
//! (`AWS_ENDPOINT_URL` for a non-AWS server, `AWS_REGION`,
//! `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, …); an `http://` endpoint
//! is allowed without further setting.

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::ops::Range;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use kreplay::storage::{EntryKind, ObjectSource, SourceEntry};
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::path::Path as ObjectPath;
use object_store::{BackoffConfig, ClientOptions, ObjectStore, RetryConfig};
use tokio::runtime::Runtime;
use tokio::task::JoinHandle;

/// How a mount fetches.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct MountOptions {
    /// Retries of one failed request before its error is returned.
    pub max_retries: usize,
    /// The first retry's wait; each later one waits up to twice as long.
    pub init_backoff: Duration,
    /// The longest wait between two tries.
    pub max_backoff: Duration,
    /// No retry starts later than this after the first try.
    pub retry_timeout: Duration,
    /// One request's time limit.
    pub request_timeout: Duration,
    /// Bytes per ranged `GET`.
    pub chunk_size: u64,
    /// Ranged `GET`s of one file in flight at once.
    pub requests_in_flight: usize,
    /// Files fetched ahead of the reader (the next segments), held at most.
    pub files_ahead: usize,
    /// Settings that take precedence over the environment, by
    /// `object_store`'s names (`aws_endpoint`, `aws_access_key_id`, …).
    pub config: Vec<(String, String)>,
}

impl Default for MountOptions {
    fn default() -> Self {
        MountOptions {
            max_retries: 10,
            init_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(15),
            retry_timeout: Duration::from_secs(180),
            request_timeout: Duration::from_secs(60),
            chunk_size: 8 << 20,
            requests_in_flight: 8,
            files_ahead: 2,
            config: Vec::new(),
        }
    }
}

impl MountOptions {
    /// Sets [`max_retries`](Self::max_retries).
    pub fn with_max_retries(mut self, n: usize) -> Self {
        self.max_retries = n;
        self
    }

    /// Sets [`init_backoff`](Self::init_backoff) and
    /// [`max_backoff`](Self::max_backoff).
    pub fn with_backoff(mut self, init: Duration, max: Duration) -> Self {
        self.init_backoff = init;
        self.max_backoff = max;
        self
    }

    /// Sets [`request_timeout`](Self::request_timeout).
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Sets [`chunk_size`](Self::chunk_size) (at least 1).
    pub fn with_chunk_size(mut self, bytes: u64) -> Self {
        self.chunk_size = bytes.max(1);
        self
    }

    /// Sets [`requests_in_flight`](Self::requests_in_flight) (at least 1).
    pub fn with_requests_in_flight(mut self, n: usize) -> Self {
        self.requests_in_flight = n.max(1);
        self
    }

    /// Sets [`files_ahead`](Self::files_ahead) (0: no fetching ahead).
    pub fn with_files_ahead(mut self, n: usize) -> Self {
        self.files_ahead = n;
        self
    }

    /// Adds a setting by `object_store`'s name (`aws_endpoint`,
    /// `aws_region`, `aws_access_key_id`, …), over the environment's.
    pub fn with_config(mut self, key: &str, value: &str) -> Self {
        self.config.push((key.to_string(), value.to_string()));
        self
    }

    /// The options with `KREPLAY_S3_MAX_RETRIES`, `KREPLAY_S3_CHUNK_BYTES`,
    /// `KREPLAY_S3_REQUESTS_IN_FLIGHT` and `KREPLAY_S3_FILES_AHEAD` applied
    /// where set.
    pub fn from_env() -> Result<MountOptions, Error> {
        let mut options = MountOptions::default();
        let var = |name: &str| -> Result<Option<u64>, Error> {
            match std::env::var(name) {
                Ok(text) => text.trim().parse().map(Some).map_err(|_| Error::Config {
                    what: format!("{name}={text:?} is not a whole number"),
                }),
                Err(_) => Ok(None),
            }
        };
        if let Some(n) = var("KREPLAY_S3_MAX_RETRIES")? {
            options.max_retries = n as usize;
        }
        if let Some(n) = var("KREPLAY_S3_CHUNK_BYTES")? {
            options = options.with_chunk_size(n);
        }
        if let Some(n) = var("KREPLAY_S3_REQUESTS_IN_FLIGHT")? {
            options = options.with_requests_in_flight(n as usize);
        }
        if let Some(n) = var("KREPLAY_S3_FILES_AHEAD")? {
            options.files_ahead = n as usize;
        }
        Ok(options)
    }
}

/// Why a mount could not be made.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The URL is not `s3://bucket[/prefix]`.
    Url {
        /// The URL given.
        url: String,
        /// What is wrong with it.
        why: String,
    },
    /// The store or its configuration was refused.
    Config {
        /// What was refused.
        what: String,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Url { url, why } => write!(f, "{url}: {why}"),
            Error::Config { what } => write!(f, "object storage: {what}"),
        }
    }
}

impl std::error::Error for Error {}

/// `s3://bucket/prefix` split: the bucket and the key prefix (no slashes at
/// either end, possibly empty).
pub fn parse_s3_url(url: &str) -> Result<(String, String), Error> {
    let bad = |why: &str| Error::Url {
        url: url.to_string(),
        why: why.to_string(),
    };
    let rest = url
        .strip_prefix("s3://")
        .ok_or_else(|| bad("not an s3:// URL"))?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return Err(bad("no bucket name"));
    }
    if prefix.split('/').any(|part| part == "." || part == "..") {
        return Err(bad("a prefix with . or .. parts"));
    }
    Ok((bucket.to_string(), prefix.trim_matches('/').to_string()))
}

/// The S3 client for `bucket`: the environment, then `options.config`.
fn build_store(bucket: &str, options: &MountOptions) -> Result<object_store::aws::AmazonS3, Error> {
    let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
    for (key, value) in &options.config {
        let key: AmazonS3ConfigKey = key.parse().map_err(|_| Error::Config {
            what: format!("{key:?} is not an S3 setting"),
        })?;
        builder = builder.with_config(key, value);
    }
    let plain_http = builder
        .get_config_value(&AmazonS3ConfigKey::Endpoint)
        .is_some_and(|e| e.starts_with("http://"));
    builder = builder
        .with_allow_http(plain_http)
        .with_retry(RetryConfig {
            backoff: BackoffConfig {
                init_backoff: options.init_backoff,
                max_backoff: options.max_backoff,
                base: 2.0,
            },
            max_retries: options.max_retries,
            retry_timeout: options.retry_timeout,
        })
        .with_client_options(
            ClientOptions::new()
                .with_allow_http(plain_http)
                .with_timeout(options.request_timeout)
                .with_connect_timeout(Duration::from_secs(10)),
        );
    builder.build().map_err(|e| Error::Config {
        what: e.to_string(),
    })
}

/// A tokio runtime of two threads for a mount's requests.
fn runtime() -> Result<Runtime, Error> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("kreplay-s3")
        .enable_all()
        .build()
        .map_err(|e| Error::Config {
            what: format!("cannot start the fetch threads: {e}"),
        })
}

/// Mounts the bucket of `url` (`s3://bucket[/prefix]`) into the engine,
/// configured from the environment (see the crate docs), so that every path
/// under `s3://bucket` reads from it. Returns the mounted `s3://bucket`.
pub fn mount(url: &str, options: MountOptions) -> Result<String, Error> {
    let (bucket, _) = parse_s3_url(url)?;
    let store = build_store(&bucket, &options)?;
    let runtime = runtime()?;
    let mounted = format!("s3://{bucket}");
    let source = BucketSource {
        store: Arc::new(store),
        runtime,
        options,
        listings: Mutex::new(HashMap::new()),
        ahead: Mutex::new(Vec::new()),
    };
    kreplay::storage::mount(&mounted, Arc::new(source));
    Ok(mounted)
}

/// Copies every file under the local `dir` to `url` (`s3://bucket/prefix`),
/// keeping relative paths: a log dir's copy for a replay from the bucket
/// (tests, demos; `aws s3 sync` does the same). Returns the files copied.
pub fn put_dir(url: &str, dir: &std::path::Path, options: &MountOptions) -> Result<usize, Error> {
    let (bucket, prefix) = parse_s3_url(url)?;
    let store = build_store(&bucket, options)?;
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    let io_error = |path: &std::path::Path, e: io::Error| Error::Config {
        what: format!("{}: {e}", path.display()),
    };
    while let Some(here) = stack.pop() {
        for entry in std::fs::read_dir(&here).map_err(|e| io_error(&here, e))? {
            let path = entry.map_err(|e| io_error(&here, e))?.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(relative) = path.strip_prefix(dir) {
                let relative = relative.to_string_lossy().replace('\\', "/");
                let key = match prefix.is_empty() {
                    true => relative,
                    false => format!("{prefix}/{relative}"),
                };
                files.push((path.clone(), key));
            }
        }
    }
    let runtime = runtime()?;
    let count = files.len();
    runtime.block_on(async {
        futures::stream::iter(files.into_iter().map(|(path, key)| {
            let store = &store;
            async move {
                let bytes = std::fs::read(&path).map_err(|e| io_error(&path, e))?;
                store
                    .put(&ObjectPath::from(key.as_str()), bytes.into())
                    .await
                    .map_err(|e| Error::Config {
                        what: format!("putting {key}: {e}"),
                    })
            }
        }))
        .buffer_unordered(8)
        .try_collect::<Vec<_>>()
        .await
    })?;
    Ok(count)
}

/// Mounts the bucket of every argument that is an `s3://` URL (`s3://…` or
/// `--flag=s3://…`) and not mounted yet, with the options from
/// [`MountOptions::from_env`]: a command line's paths then read from the
/// bucket.
pub fn mount_args<'a>(args: impl IntoIterator<Item = &'a str>) -> Result<(), Error> {
    let mut mounted: Vec<String> = Vec::new();
    for arg in args {
        let url = match arg.split_once("=s3://") {
            Some((flag, rest)) if flag.starts_with("--") => format!("s3://{rest}"),
            _ if arg.starts_with("s3://") => arg.to_string(),
            _ => continue,
        };
        let (bucket, _) = parse_s3_url(&url)?;
        let root = format!("s3://{bucket}");
        // A bucket mounted before (an earlier call) keeps its mount and
        // what it has listed.
        if !mounted.contains(&bucket) && !kreplay::storage::is_mounted(std::path::Path::new(&root))
        {
            mount(&url, MountOptions::from_env()?)?;
            mounted.push(bucket);
        }
    }
    Ok(())
}

/// A whole file being fetched in the background.
type Fetch = JoinHandle<io::Result<Vec<u8>>>;

/// The files of one bucket, fetched with ranged `GET`s.
struct BucketSource {
    store: Arc<dyn ObjectStore>,
    runtime: Runtime,
    options: MountOptions,
    /// Listings already made, by directory key.
    listings: Mutex<HashMap<String, Arc<Vec<SourceEntry>>>>,
    /// Files being fetched ahead of the reader, oldest first.
    ahead: Mutex<Vec<(String, Fetch)>>,
}

impl fmt::Debug for BucketSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BucketSource")
            .field("store", &self.store.to_string())
            .finish()
    }
}

impl BucketSource {
    /// The object path of a key.
    fn object(&self, key: &str) -> ObjectPath {
        ObjectPath::from(key)
    }

    fn listing(&self, dir: &str) -> io::Result<Arc<Vec<SourceEntry>>> {
        if let Some(found) = lock(&self.listings).get(dir) {
            return Ok(Arc::clone(found));
        }
        let location = self.object(dir);
        let store = Arc::clone(&self.store);
        let listed = self.runtime.block_on(async move {
            let prefix = (!location.as_ref().is_empty()).then_some(&location);
            store.list_with_delimiter(prefix).await
        });
        let listed = listed.map_err(to_io)?;
        let mut entries = Vec::with_capacity(listed.common_prefixes.len() + listed.objects.len());
        for dir in &listed.common_prefixes {
            if let Some(name) = dir.filename() {
                entries.push(SourceEntry {
                    name: name.to_string(),
                    kind: EntryKind::Dir,
                    len: 0,
                });
            }
        }
        for object in &listed.objects {
            if let Some(name) = object.location.filename() {
                entries.push(SourceEntry {
                    name: name.to_string(),
                    kind: EntryKind::File,
                    len: object.size,
                });
            }
        }
        let entries = Arc::new(entries);
        lock(&self.listings).insert(dir.to_string(), Arc::clone(&entries));
        Ok(entries)
    }

    /// The fetch of a whole file, to run on the runtime.
    fn fetch(
        &self,
        key: &str,
        len: Option<u64>,
    ) -> impl std::future::Future<Output = io::Result<Vec<u8>>> {
        let store = Arc::clone(&self.store);
        let location = self.object(key);
        let chunk = self.options.chunk_size;
        let in_flight = self.options.requests_in_flight;
        async move {
            let len = match len {
                Some(len) => len,
                None => store.head(&location).await.map_err(to_io)?.size,
            };
            fetch_ranges(store, location, len, chunk, in_flight).await
        }
    }
}

/// `len` bytes of `location`, in ranged `GET`s of `chunk` bytes with at
/// most `in_flight` outstanding, assembled in order.
async fn fetch_ranges(
    store: Arc<dyn ObjectStore>,
    location: ObjectPath,
    len: u64,
    chunk: u64,
    in_flight: usize,
) -> io::Result<Vec<u8>> {
    let capacity = usize::try_from(len)
        .map_err(|_| io::Error::other(format!("{len} bytes do not fit in memory here")))?;
    let ranges = (0..len.div_ceil(chunk)).map(|i| i * chunk..((i + 1) * chunk).min(len));
    let mut out = Vec::with_capacity(capacity);
    let mut parts = futures::stream::iter(ranges.map(|range: Range<u64>| {
        let store = Arc::clone(&store);
        let location = location.clone();
        async move {
            let expected = range.end - range.start;
            let bytes = store
                .get_range(&location, range.clone())
                .await
                .map_err(to_io)?;
            if bytes.len() as u64 != expected {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!(
                        "bytes {}..{} came back as {} bytes (the object changed while read?)",
                        range.start,
                        range.end,
                        bytes.len()
                    ),
                ));
            }
            Ok(bytes)
        }
    }))
    .buffered(in_flight);
    while let Some(bytes) = parts.try_next().await? {
        out.extend_from_slice(&bytes);
    }
    Ok(out)
}

impl ObjectSource for BucketSource {
    fn list(&self, dir: &str) -> io::Result<Vec<SourceEntry>> {
        Ok(self.listing(dir)?.as_ref().clone())
    }

    fn file_len(&self, key: &str) -> io::Result<Option<u64>> {
        let (dir, name) = key.rsplit_once('/').unwrap_or(("", key));
        Ok(self
            .listing(dir)?
            .iter()
            .find(|e| e.kind == EntryKind::File && e.name == name)
            .map(|e| e.len))
    }

    fn read(&self, key: &str) -> io::Result<Vec<u8>> {
        let pending = {
            let mut ahead = lock(&self.ahead);
            let at = ahead.iter().position(|(k, _)| k == key);
            at.map(|at| ahead.remove(at).1)
        };
        if let Some(handle) = pending {
            return self
                .runtime
                .block_on(handle)
                .map_err(|e| io::Error::other(format!("the fetch ahead failed: {e}")))?;
        }
        // A listed file's size saves a HEAD; a file never listed asks for it.
        let (dir, name) = key.rsplit_once('/').unwrap_or(("", key));
        let listed = lock(&self.listings).get(dir).map(Arc::clone);
        let len = match listed {
            Some(entries) => Some(
                entries
                    .iter()
                    .find(|e| e.kind == EntryKind::File && e.name == name)
                    .map(|e| e.len)
                    .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no such object"))?,
            ),
            None => None,
        };
        self.runtime.block_on(self.fetch(key, len))
    }

    fn will_read(&self, key: &str) {
        if self.options.files_ahead == 0 {
            return;
        }
        let Ok(Some(len)) = self.file_len(key) else {
            return;
        };
        let mut ahead = lock(&self.ahead);
        // When full the hint is dropped (evicting older ones instead makes
        // readers of many partitions cancel each other's fetches).
        if ahead.len() >= self.options.files_ahead || ahead.iter().any(|(k, _)| k == key) {
            return;
        }
        let fetch = self.fetch(key, Some(len));
        ahead.push((key.to_string(), self.runtime.spawn(fetch)));
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// An `object_store` error as an `io::Error` ("not found" kept as a kind).
fn to_io(error: object_store::Error) -> io::Error {
    match error {
        object_store::Error::NotFound { .. } => {
            io::Error::new(io::ErrorKind::NotFound, "no such object")
        }
        other => io::Error::other(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let ok = |u: &str| parse_s3_url(u).map_err(|e| e.to_string());
        assert_eq!(ok("s3://b"), Ok(("b".into(), "".into())));
        assert_eq!(ok("s3://b/"), Ok(("b".into(), "".into())));
        assert_eq!(ok("s3://b/x/y/"), Ok(("b".into(), "x/y".into())));
        assert!(ok("s3://").unwrap_err().contains("no bucket name"));
        assert!(ok("http://b/x").unwrap_err().contains("not an s3:// URL"));
        assert!(ok("s3://b/x/../y").unwrap_err().contains(".."));
    }
}
