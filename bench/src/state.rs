//! What one connection's reader task records: stamped deliveries (latency samples), presences,
//! its own join, iq replies, and anything unexpected (kept verbatim for the report).

use crate::xml;
use memchr::memmem;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering::Relaxed};
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

/// Namespace of the benchmark's stamped payload element.
pub const BENCH_NS: &str = "urn:lectern:bench";
/// Unexpected stanzas kept per connection.
const MAX_NOTES: usize = 4;

static EPOCH: OnceLock<Instant> = OnceLock::new();

/// Nanoseconds since the benchmark process's shared epoch.
pub fn now_ns() -> u64 {
    EPOCH.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

#[derive(Default)]
pub struct ConnState {
    /// `now_ns()` when this client's own room presence (status 110) arrived; 0 before.
    pub joined_ns: AtomicU64,
    /// Presence stanzas received.
    pub presences: AtomicU64,
    /// `now_ns()` of the last presence received.
    pub last_presence_ns: AtomicU64,
    /// Run tag whose stamped messages are counted right now.
    tag: AtomicU32,
    /// Stamped messages of the current tag received.
    pub tagged: AtomicU64,
    /// `now_ns()` of the last counted delivery.
    pub last_ns: AtomicU64,
    /// Stamped messages of another tag, or replayed from history (`<delay/>`).
    pub stray: AtomicU64,
    /// Set when the stream ended, with the reason in `notes`.
    pub closed: AtomicBool,
    samples: Mutex<Vec<u32>>,
    iqs: Mutex<Vec<Vec<u8>>>,
    notes: Mutex<Vec<String>>,
    self_presence: Mutex<Option<String>>,
}

impl ConnState {
    /// Start counting messages stamped with `tag` (earlier samples are dropped).
    pub fn begin(&self, tag: u32) {
        let mut s = self.samples.lock().unwrap();
        s.clear();
        self.tag.store(tag, Relaxed);
        self.tagged.store(0, Relaxed);
        self.last_ns.store(0, Relaxed);
    }

    /// Latency samples (µs) of the current tag, leaving none behind.
    pub fn take_samples(&self) -> Vec<u32> {
        std::mem::take(&mut *self.samples.lock().unwrap())
    }

    pub fn closed(&self) -> bool {
        self.closed.load(Relaxed)
    }

    pub fn joined(&self) -> bool {
        self.joined_ns.load(Relaxed) != 0
    }

    pub fn notes(&self) -> Vec<String> {
        self.notes.lock().unwrap().clone()
    }

    pub fn self_presence(&self) -> Option<String> {
        self.self_presence.lock().unwrap().clone()
    }

    /// The iq result/error with this id, if it has arrived.
    pub fn take_iq(&self, id: &str) -> Option<Vec<u8>> {
        let mut iqs = self.iqs.lock().unwrap();
        let i = iqs
            .iter()
            .position(|s| xml::attr(s, "id") == Some(id.as_bytes()))?;
        Some(iqs.swap_remove(i))
    }

    pub fn on_closed(&self, why: &str) {
        if !self.closed.swap(true, Relaxed) {
            self.note(why.to_string());
        }
    }

    fn note(&self, text: String) {
        let mut n = self.notes.lock().unwrap();
        if n.len() < MAX_NOTES {
            n.push(text);
        }
    }

    fn note_stanza(&self, what: &str, s: &[u8]) {
        let text = String::from_utf8_lossy(&s[..s.len().min(1500)]);
        self.note(format!("{what}: {text}"));
    }

    /// Record one stanza; returns a reply to write, if any. `LECTERN_BENCH_TRACE=1` prints
    /// every stanza received (debugging only).
    pub fn on_stanza(&self, s: &[u8]) -> Option<Vec<u8>> {
        static TRACE: OnceLock<bool> = OnceLock::new();
        if *TRACE.get_or_init(|| std::env::var_os("LECTERN_BENCH_TRACE").is_some()) {
            eprintln!("<< {}", String::from_utf8_lossy(s));
        }
        match xml::tag_name(s) {
            b"message" => self.on_message(s),
            b"presence" => self.on_presence(s),
            b"iq" => return self.on_iq(s),
            b"stream:error" => {
                self.note_stanza("stream error", s);
                self.closed.store(true, Relaxed);
            }
            _ => self.note_stanza("unexpected top-level element", s),
        }
        None
    }

    fn on_message(&self, s: &[u8]) {
        let Some(at) = memmem::find(s, BENCH_NS.as_bytes()) else {
            if xml::attr(s, "type") == Some(b"error") {
                self.note_stanza("message error", s);
            }
            return;
        };
        if xml::attr(s, "type") == Some(b"error") {
            self.note_stanza("message error", s);
            return;
        }
        let now = now_ns();
        // The payload's start tag (servers may reorder its attributes around xmlns).
        let open = memchr::memrchr(b'<', &s[..at]).unwrap_or(0);
        let rest = &s[open..];
        let head = &rest[..memchr::memchr(b'>', rest).unwrap_or(rest.len())];
        let tag = xml::attr_in(head, "k").and_then(xml::parse_u64);
        let sent = xml::attr_in(head, "t").and_then(xml::parse_u64);
        let delayed = xml::contains(s, b"urn:xmpp:delay");
        match (tag, sent) {
            (Some(k), Some(t)) if !delayed && k == u64::from(self.tag.load(Relaxed)) => {
                let us = now.saturating_sub(t) / 1000;
                self.samples
                    .lock()
                    .unwrap()
                    .push(us.min(u64::from(u32::MAX)) as u32);
                self.tagged.fetch_add(1, Relaxed);
                self.last_ns.store(now, Relaxed);
            }
            _ => {
                self.stray.fetch_add(1, Relaxed);
            }
        }
    }

    fn on_presence(&self, s: &[u8]) {
        self.presences.fetch_add(1, Relaxed);
        self.last_presence_ns.store(now_ns(), Relaxed);
        let ty = xml::attr(s, "type");
        if ty == Some(b"error") {
            self.note_stanza("presence error", s);
            return;
        }
        if !(xml::contains(s, b"code='110'") || xml::contains(s, b"code=\"110\"")) {
            return;
        }
        if ty == Some(b"unavailable") {
            self.note_stanza("removed from the room", s);
        } else if self.joined_ns.load(Relaxed) == 0 {
            *self.self_presence.lock().unwrap() = Some(String::from_utf8_lossy(s).into_owned());
            self.joined_ns.store(now_ns().max(1), Relaxed);
        }
    }

    fn on_iq(&self, s: &[u8]) -> Option<Vec<u8>> {
        match xml::attr(s, "type") {
            Some(b"get") | Some(b"set") => {
                let id = String::from_utf8_lossy(xml::attr(s, "id").unwrap_or_default());
                let to = String::from_utf8_lossy(xml::attr(s, "from").unwrap_or_default());
                let reply = if xml::contains(s, b"urn:xmpp:ping") {
                    format!("<iq type='result' id='{id}' to='{to}'/>")
                } else {
                    format!(
                        "<iq type='error' id='{id}' to='{to}'><error type='cancel'>\
                         <service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>\
                         </error></iq>"
                    )
                };
                Some(reply.into_bytes())
            }
            _ => {
                self.iqs.lock().unwrap().push(s.to_vec());
                None
            }
        }
    }
}
