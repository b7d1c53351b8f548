//! A TCP proxy in front of the S3 server that injects faults: answers 500
//! or closes connections unanswered, then (or never) passes them through.
#![allow(clippy::unwrap_used)]

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

/// Which connections fail.
#[derive(Debug, Clone, Copy)]
pub enum Fault {
    /// The first `n`: alternately answered `500` and closed unanswered.
    First(usize),
    /// Every one is answered `500`.
    Always,
    /// None: every connection passes through.
    None,
}

#[derive(Debug)]
pub struct Proxy {
    port: u16,
    faults: Arc<AtomicUsize>,
    requests: Arc<Mutex<Vec<String>>>,
}

impl Proxy {
    /// Listens on a free loopback port, forwarding to `upstream`
    /// (`http://host:port`).
    pub fn start(upstream: &str, fault: Fault) -> Proxy {
        let upstream = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let faults = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&faults);
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&requests);
        thread::spawn(move || {
            for (n, client) in listener.incoming().enumerate() {
                let Ok(client) = client else { continue };
                let fail = match fault {
                    Fault::First(first) => n < first,
                    Fault::Always => true,
                    Fault::None => false,
                };
                if !fail {
                    let upstream = upstream.clone();
                    let seen = Arc::clone(&seen);
                    thread::spawn(move || forward(client, &upstream, &seen));
                    continue;
                }
                counter.fetch_add(1, Ordering::SeqCst);
                let answer = matches!(fault, Fault::Always) || n % 2 == 0;
                thread::spawn(move || refuse(client, answer));
            }
        });
        Proxy {
            port,
            faults,
            requests,
        }
    }

    /// The requests passed through so far, as `METHOD /path` (no query).
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }

    /// The endpoint to give the client.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Connections failed so far.
    pub fn faults(&self) -> usize {
        self.faults.load(Ordering::SeqCst)
    }
}

/// Reads the request head, then answers 500 or closes without a word.
fn refuse(mut client: TcpStream, answer: bool) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match client.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
    }
    if answer {
        let _ = client.write_all(
            b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        );
    }
    let _ = client.shutdown(Shutdown::Both);
}

/// Copies bytes both ways until either side closes, noting each request
/// line the client sends (GETs and HEADs have no body to confuse it).
fn forward(client: TcpStream, upstream: &str, seen: &Arc<Mutex<Vec<String>>>) {
    let Ok(server) = TcpStream::connect(upstream) else {
        return;
    };
    let (mut c_read, mut s_write) = (client.try_clone().unwrap(), server.try_clone().unwrap());
    let seen = Arc::clone(seen);
    let up = thread::spawn(move || {
        let mut buf = [0u8; 16 << 10];
        let mut line = Vec::new();
        loop {
            let n = match c_read.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            for &b in &buf[..n] {
                line.push(b);
                if line.ends_with(b"\r\n") {
                    let text = String::from_utf8_lossy(&line);
                    let mut parts = text.split(' ');
                    if let (Some(method @ ("GET" | "HEAD" | "PUT")), Some(target)) =
                        (parts.next(), parts.next())
                    {
                        let path = target.split('?').next().unwrap_or(target);
                        seen.lock().unwrap().push(format!("{method} {path}"));
                    }
                    line.clear();
                }
            }
            if s_write.write_all(&buf[..n]).is_err() {
                break;
            }
        }
        let _ = s_write.shutdown(Shutdown::Write);
    });
    let (mut s_read, mut c_write) = (server, client);
    let _ = std::io::copy(&mut s_read, &mut c_write);
    let _ = c_write.shutdown(Shutdown::Both);
    let _ = up.join();
}
