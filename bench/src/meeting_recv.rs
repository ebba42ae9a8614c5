//! What a meeting member's reader does: every stanza from the server, pings answered,
//! every sequenced event from the focus stamped on arrival by its `t` (events by index,
//! audio batches from [`AUDIO_T0`] on), `seq` gaps counted.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

use crate::meeting_net::ping_reply;
use crate::xml::{self, Frame, Splitter};

/// Shared with the benchmark: per event index, when the presenter sent it (µs since `t0`).
pub struct Clock {
    pub t0: Instant,
    /// `t0` on the system's epoch clock (µs since 1970), to compare with the browser
    /// attendees' stamps (`performance.timeOrigin + performance.now()`, same machine).
    pub epoch0_us: u64,
}

impl Clock {
    pub fn start() -> Clock {
        let t0 = Instant::now();
        let epoch = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Clock {
            t0,
            epoch0_us: epoch.as_micros() as u64,
        }
    }

    pub fn now_us(&self) -> u64 {
        self.t0.elapsed().as_micros() as u64
    }
}

/// Presenter time of the audio phase's first batch: event `t`s below it are event indexes,
/// from it on `AUDIO_T0 + k × step` is audio batch `k` (see [`Slots`]).
pub const AUDIO_T0: u64 = 10_000_000;

/// What an attendee records arrivals for.
#[derive(Clone, Copy, Default)]
pub struct Slots {
    /// Events of the page-turn/stroke phase (index 0: the share).
    pub events: usize,
    /// Audio batches, and their spacing in presenter time (ms).
    pub audio: usize,
    pub audio_step_ms: u64,
}

/// What an attendee's reader saw.
#[derive(Default)]
pub struct Seen {
    /// Arrival (µs since t0, +1 so 0 means never) per event index `t`.
    pub arrival: Vec<u64>,
    /// The same per audio batch.
    pub audio: Vec<u64>,
    audio_step_ms: u64,
    pub last_seq: u64,
    pub gaps: u64,
    pub out_of_order: u64,
    pub errors: Vec<String>,
    pub closed: Option<String>,
}

impl Seen {
    pub fn new(slots: Slots) -> Seen {
        Seen {
            arrival: vec![0; slots.events],
            audio: vec![0; slots.audio],
            audio_step_ms: slots.audio_step_ms.max(1),
            ..Default::default()
        }
    }
}

/// Reads until the stream ends: records focus events in `seen`, answers pings via `writer`.
pub(crate) async fn read_loop(
    mut rd: OwnedReadHalf,
    mut sp: Splitter,
    seen: Arc<Mutex<Seen>>,
    writer: Arc<tokio::sync::Mutex<OwnedWriteHalf>>,
    focus_occupant: String,
    clock: Arc<Clock>,
) {
    loop {
        let mut replies = Vec::new();
        while let Some(frame) = sp.next_frame() {
            let s = match frame {
                Frame::Stanza(s) => s,
                Frame::Header(_) => continue,
                Frame::Close => {
                    seen.lock().unwrap().closed = Some("stream closed".into());
                    return;
                }
            };
            if xml::tag_name(s) != b"message" {
                if let Some(r) = ping_reply(s) {
                    replies.push(r);
                }
                continue;
            }
            let kind = xml::attr(s, "type");
            if kind == Some(b"error") {
                let mut g = seen.lock().unwrap();
                if g.errors.len() < 20 {
                    g.errors.push(String::from_utf8_lossy(s).into_owned());
                } else {
                    g.errors.push(String::new());
                }
                continue;
            }
            if kind != Some(b"groupchat") || xml::attr(s, "from") != Some(focus_occupant.as_bytes())
            {
                continue;
            }
            let Some(at) = memchr::memmem::find(s, b"<event") else {
                continue;
            };
            let tag = &s[at..];
            let tag = &tag[..memchr::memchr(b'>', tag).unwrap_or(tag.len())];
            let seq = xml::attr_in(tag, "seq").and_then(xml::parse_u64);
            let t = xml::attr_in(tag, "t").and_then(xml::parse_u64);
            let now = clock.now_us() + 1;
            let mut g = seen.lock().unwrap();
            if let Some(seq) = seq {
                if g.last_seq != 0 && seq != g.last_seq + 1 {
                    if seq > g.last_seq {
                        g.gaps += 1;
                    } else {
                        g.out_of_order += 1;
                    }
                }
                g.last_seq = g.last_seq.max(seq);
            }
            if let Some(t) = t {
                let slot = if t >= AUDIO_T0 {
                    let k = (t - AUDIO_T0) / g.audio_step_ms;
                    g.audio.get_mut(k as usize)
                } else {
                    g.arrival.get_mut(t as usize)
                };
                if let Some(slot) = slot {
                    if *slot == 0 {
                        *slot = now;
                    }
                }
            }
        }
        if !replies.is_empty() {
            let mut w = writer.lock().await;
            for r in replies {
                let _ = w.write_all(r.as_bytes()).await;
            }
        }
        match rd.read_buf(sp.buffer()).await {
            Ok(0) => {
                seen.lock().unwrap().closed = Some("connection closed by the server".into());
                return;
            }
            Ok(_) => {}
            Err(e) => {
                seen.lock().unwrap().closed = Some(format!("read error: {e}"));
                return;
            }
        }
    }
}
