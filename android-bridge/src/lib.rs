//! Lectern's attendee engine for Android apps, and for the headless `lectern-attend`.
//!
//! An [`Attendee`] joins a meeting through the HTTP join API, keeps one XMPP session over
//! TCP with STARTTLS (tokio-xmpp 6), follows the focus's sequenced events (snapshot, then
//! catch-up by `seq`), caches page images on disk by their sha256 (pre-loaded in one package
//! on the presenter's LAN), buffers and decodes the presenter's Opus voice, and presents
//! every page turn, stroke and audio sample on one playout clock. The app gets canonical
//! state JSON through [`AttendeeListener`] and pulls PCM with [`Attendee::pull_pcm`].
//!
//! The same interface is exported through UniFFI (Kotlin in `kotlin/`, Python for the
//! FFI test in `tests/android/`).

#![warn(missing_docs)]

mod api;
mod cache;
mod clock;
mod connector;
mod error;
mod http;
mod jitter;
mod join;
mod meeting;
mod sequencer;
mod session;
mod shared;
mod stanzas;
mod tls;

pub use api::{Attendee, AttendeeConfig, AttendeeListener, AttendeeStats, Change};
pub use cache::{untar, PageCache};
pub use clock::{EngineClock, PlayoutClock};
pub use error::BridgeError;
pub use jitter::{JitterBuffer, JitterStats, SAMPLE_RATE};
pub use join::{Joined, Login};
pub use meeting::{MeetingCore, Presented};
pub use sequencer::{Incoming, Sequencer};
pub use tls::{certificate_pin_from_pem, TlsMode};

uniffi::setup_scaffolding!();
