//! The test bucket's server and client settings, shared by the tests
//! (`cli/tests/s3.rs` includes this file by path).
#![allow(dead_code, clippy::unwrap_used)]

use std::path::Path;
use std::time::Duration;

use kreplay_object_store::{put_dir, MountOptions};

/// The server's endpoint, or `None` (the test prints "skipped").
pub fn endpoint() -> Option<String> {
    match std::env::var("KREPLAY_TEST_S3_ENDPOINT") {
        Ok(e) if !e.is_empty() => Some(e),
        _ => {
            eprintln!("skipped: KREPLAY_TEST_S3_ENDPOINT is not set (.ci/run starts a server)");
            None
        }
    }
}

/// Client settings for `endpoint`, with moto's accepted credentials.
pub fn options(endpoint: &str) -> MountOptions {
    MountOptions::default()
        .with_config("aws_endpoint", endpoint)
        .with_config("aws_region", "us-east-1")
        .with_config("aws_access_key_id", "kreplay-test")
        .with_config("aws_secret_access_key", "kreplay-test")
        .with_backoff(Duration::from_millis(10), Duration::from_millis(100))
}

/// Creates `bucket` (a plain `PUT /bucket`, which moto accepts unsigned).
pub fn create_bucket(endpoint: &str, bucket: &str) {
    use std::io::{Read, Write};
    let host = endpoint.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = std::net::TcpStream::connect(host).unwrap();
    write!(
        stream,
        "PUT /{bucket} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 200") || answer.contains("BucketAlreadyOwnedByYou"),
        "creating bucket {bucket}: {answer}"
    );
}

/// Copies the local `dir` to `s3://bucket/prefix` and returns that URL.
pub fn upload(endpoint: &str, bucket: &str, prefix: &str, dir: &Path) -> String {
    let url = format!("s3://{bucket}/{prefix}");
    let copied = put_dir(&url, dir, &options(endpoint)).unwrap();
    assert!(copied > 0, "nothing under {}", dir.display());
    url
}
