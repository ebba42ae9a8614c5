//! Shared by the engine's system tests: a real `lectern` server on port 0 (from the
//! workspace's system-test harness), meetings and documents made over HTTP, a scripted
//! presenter, an in-process attendee whose changes arrive on a channel, and a TCP proxy
//! that can be cut.
#![allow(dead_code)]

pub mod presenter;
pub mod proxy;
pub mod voice;

use std::net::SocketAddr;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use android_bridge::{Attendee, AttendeeConfig, AttendeeListener, Change, TlsMode};
use lectern_system_tests::documents;
use lectern_system_tests::http::{self, Response};
use lectern_system_tests::{Server, TempDir};

/// How long a test waits for any one thing before failing.
pub const WAIT: Duration = Duration::from_secs(30);

pub fn json(r: &Response) -> serde_json::Value {
    serde_json::from_slice(&r.body).unwrap_or_else(|_| panic!("not JSON: {}", r.text()))
}

pub fn post_json(addr: SocketAddr, path: &str, body: serde_json::Value) -> Response {
    let body = body.to_string();
    http::request(
        addr,
        "POST",
        path,
        &[("Content-Type", "application/json")],
        body.as_bytes(),
    )
}

/// A new meeting with voice: (number, host key).
pub fn create_meeting(server: &Server) -> (String, String) {
    let r = post_json(
        server.http_addr(),
        "/api/meetings",
        serde_json::json!({"title": "Android engine"}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let j = json(&r);
    (
        j["number"].as_str().unwrap().to_string(),
        j["host_key"].as_str().unwrap().to_string(),
    )
}

/// Uploads a PDF deck of `pages` slides and waits until it is converted; returns its id.
pub fn upload_deck(server: &Server, pages: usize) -> String {
    let pdf = documents::bytes(documents::deck(pages, "Engine deck"));
    let r = documents::upload(server, "deck.pdf", &pdf);
    assert!(r.status == 200 || r.status == 201, "upload: {}", r.text());
    let id = json(&r)["id"].as_str().unwrap().to_string();
    let deadline = Instant::now() + WAIT * 2;
    while Instant::now() < deadline {
        let m = documents::get_json(server.http_addr(), &format!("/api/documents/{id}"));
        if m["status"] == "ready" {
            return id;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("document {id} never became ready");
}

/// The pin of the embedded server's self-signed certificate.
pub fn pin(server: &Server) -> TlsMode {
    let pem = std::fs::read_to_string(server.data_dir().join("tls").join("cert.pem"))
        .expect("the server made its certificate");
    TlsMode::PinnedCertificate {
        sha256_hex: android_bridge::certificate_pin_from_pem(pem).unwrap(),
    }
}

/// An in-process attendee and the changes it reported.
pub struct Watched {
    pub attendee: Arc<Attendee>,
    pub changes: mpsc::Receiver<Change>,
    pub cache: TempDir,
    /// Every change seen so far, for failure messages.
    pub seen: Vec<Change>,
}

struct Forward(mpsc::Sender<Change>);

impl AttendeeListener for Forward {
    fn on_change(&self, change: Change) {
        let _ = self.0.send(change);
    }
}

impl Watched {
    /// Joins `number` over HTTP at the server and XMPP at `xmpp` (the server or a proxy).
    pub fn join(server: &Server, xmpp: SocketAddr, number: &str, name: &str) -> Watched {
        Self::join_with(server, xmpp, number, name, |_| {})
    }

    /// As [`Watched::join`], with the TLS mode changed by `tls` first.
    pub fn join_with(
        server: &Server,
        xmpp: SocketAddr,
        number: &str,
        name: &str,
        tls: impl FnOnce(&mut TlsMode),
    ) -> Watched {
        let cache = TempDir::new("ab-cache");
        let mut mode = pin(server);
        tls(&mut mode);
        let (tx, rx) = mpsc::channel();
        let config = AttendeeConfig {
            server_url: format!("http://{}", server.http_addr()),
            xmpp_address: Some(xmpp.to_string()),
            meeting: number.to_owned(),
            name: name.to_owned(),
            cache_dir: cache.path().display().to_string(),
            tls: mode,
        };
        let attendee = Attendee::new(config, Box::new(Forward(tx))).expect("engine starts");
        Watched {
            attendee,
            changes: rx,
            cache,
            seen: Vec::new(),
        }
    }

    /// Waits for the first change that `pred` picks (earlier ones are kept in `seen`).
    pub fn wait_for(&mut self, what: &str, pred: impl Fn(&Change) -> bool) -> Change {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.changes.recv_timeout(left) {
                Ok(change) => {
                    self.seen.push(change.clone());
                    if let Change::Problem { message } = &change {
                        eprintln!("attendee problem: {message}");
                    }
                    if pred(&change) {
                        return change;
                    }
                }
                Err(_) => panic!(
                    "attendee: no {what} within {WAIT:?}; last changes: {:#?}",
                    &self.seen[self.seen.len().saturating_sub(8)..]
                ),
            }
        }
    }

    /// Waits until the shown state has exactly `seq`.
    pub fn wait_for_seq(&mut self, seq: u64) -> String {
        match self.wait_for(
            &format!("state at seq {seq}"),
            |c| matches!(c, Change::State { seq: s, .. } if *s >= seq),
        ) {
            Change::State { state_json, .. } => state_json,
            _ => unreachable!(),
        }
    }
}

/// Runs blocking test code (the std-based HTTP helpers, waits on the attendee's channel)
/// off the async test's runtime threads.
pub async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.expect("blocking part")
}
