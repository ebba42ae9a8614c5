//! The app-facing API, exported through UniFFI: configure and start an [`Attendee`], get
//! [`Change`]s through an [`AttendeeListener`], read the state, pull PCM.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use tokio::runtime::Runtime;
use tokio::sync::mpsc;

use crate::cache::PageCache;
use crate::clock::EngineClock;
use crate::error::BridgeError;
use crate::meeting::MeetingCore;
use crate::session::{self, Command, Shared};
use crate::tls::TlsMode;

/// What the app configures before joining.
#[derive(Debug, Clone, uniffi::Record)]
pub struct AttendeeConfig {
    /// The meeting server's base URL, e.g. `https://meet.example` or `http://127.0.0.1:8080`.
    pub server_url: String,
    /// The XMPP c2s address `host:port`; `None`: the server URL's host, port 5222.
    pub xmpp_address: Option<String>,
    /// The 9-digit meeting number.
    pub meeting: String,
    /// The display name (1–64 characters).
    pub name: String,
    /// A directory the engine may use for its page cache.
    pub cache_dir: String,
    /// How to trust the server (both HTTP and XMPP).
    pub tls: TlsMode,
}

/// Something the app may want to react to.
#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum Change {
    /// The focus accepted us: our nick, role, whether we are on the presenter's LAN and
    /// whether the meeting carries voice.
    Joined {
        /// Our nick in the room.
        nick: String,
        /// `attendee` or `presenter`.
        role: String,
        /// On the presenter's LAN (pages are pre-loaded).
        lan: bool,
        /// The meeting carries voice.
        audio: bool,
    },
    /// The XMPP session is up (again, when `reconnected`).
    Online {
        /// Whether this is a reconnect.
        reconnected: bool,
    },
    /// The shown state changed: one event reached its playout time.
    State {
        /// The event's `seq`.
        seq: u64,
        /// The payload's name (`page`, `stroke-begin`, ...).
        kind: String,
        /// The event's presenter-clock time.
        t: Option<i64>,
        /// The presenter time the playout clock presented when it was shown.
        playout_ms: Option<i64>,
        /// The canonical state form (protocol README, "State form").
        state_json: String,
    },
    /// A page image is on disk and verified.
    PageReady {
        /// Document id.
        document: String,
        /// Page number.
        page: u32,
        /// Path of the PNG.
        path: String,
    },
    /// The whole document was pre-loaded and every page's hash verified.
    Preloaded {
        /// Document id.
        document: String,
        /// Pages stored.
        pages: u32,
    },
    /// Something went wrong; the engine carries on where it can.
    Problem {
        /// What happened.
        message: String,
    },
}

/// Receives the engine's changes, on an engine thread: return quickly.
#[uniffi::export(callback_interface)]
pub trait AttendeeListener: Send + Sync {
    /// One change.
    fn on_change(&self, change: Change);
}

/// Counters for diagnostics and tests.
#[derive(Debug, Clone, uniffi::Record)]
pub struct AttendeeStats {
    /// Audio frames played.
    pub frames_played: u64,
    /// Audio frames dropped because their time had passed.
    pub frames_late: u64,
    /// Audio frames concealed.
    pub frames_concealed: u64,
    /// Times the audio cursor jumped onto the clock.
    pub audio_resyncs: u64,
    /// The playout delay now (ms).
    pub playout_delay_ms: i64,
    /// Cached pages found corrupted and refetched.
    pub corrupt_pages: u64,
    /// XMPP reconnects.
    pub reconnects: u64,
    /// Catch-up queries sent.
    pub catch_up_queries: u64,
}

/// One attendee in one meeting. Starts joining when built; every method is cheap and
/// thread-safe.
#[derive(uniffi::Object)]
pub struct Attendee {
    shared: Arc<Shared>,
    commands: mpsc::UnboundedSender<Command>,
    runtime: Mutex<Option<Runtime>>,
}

#[uniffi::export]
impl Attendee {
    /// Joins the meeting in the background; progress arrives through `listener`.
    #[uniffi::constructor]
    pub fn new(
        config: AttendeeConfig,
        listener: Box<dyn AttendeeListener>,
    ) -> Result<Arc<Self>, BridgeError> {
        if !lectern_protocol::is_meeting_number(&config.meeting) {
            return Err(BridgeError::Config(format!(
                "{:?} is not a 9-digit meeting number",
                config.meeting
            )));
        }
        let cache = PageCache::new(&PathBuf::from(&config.cache_dir))?;
        let core = MeetingCore::new().map_err(|e| BridgeError::Config(format!("opus: {e}")))?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("lectern-attendee")
            .enable_all()
            .build()?;
        let shared = Arc::new(Shared::new(core, cache, EngineClock::new(), listener));
        let (tx, rx) = mpsc::unbounded_channel();
        runtime.spawn(session::run(shared.clone(), config, tx.clone(), rx));
        Ok(Arc::new(Attendee {
            shared,
            commands: tx,
            runtime: Mutex::new(Some(runtime)),
        }))
    }

    /// The shown state in canonical form.
    pub fn state_json(&self) -> String {
        self.shared.core().state_json()
    }

    /// The next `frames` samples of 48 kHz mono 16-bit PCM; call it from the audio output
    /// at its pace (silence while there is nothing to play).
    pub fn pull_pcm(&self, frames: u32) -> Vec<i16> {
        let now = self.shared.clock.now_ms();
        self.shared.core().pull_pcm(frames as usize, now)
    }

    /// The output sample rate of [`Attendee::pull_pcm`].
    pub fn sample_rate(&self) -> u32 {
        crate::jitter::SAMPLE_RATE
    }

    /// The presenter time the playout clock presents now (`None` before the first live
    /// event).
    pub fn playout_ms(&self) -> Option<i64> {
        let now = self.shared.clock.now_ms();
        self.shared.core().presenter_now(now)
    }

    /// Asks for page `page` of the current document; a [`Change::PageReady`] follows
    /// (from the verified cache, else downloaded).
    pub fn request_page(&self, page: u32) {
        let _ = self.commands.send(Command::FetchPage(page));
    }

    /// Counters.
    pub fn stats(&self) -> AttendeeStats {
        self.shared.stats()
    }

    /// Leaves the meeting and stops the engine. When it returns the listener is not being
    /// called and will not be again, and the engine has let go of it (when called from the
    /// listener itself, as soon as that call returns).
    pub fn close(&self) {
        self.shared.silence();
        let _ = self.commands.send(Command::Close);
        if let Some(runtime) = self.runtime.lock().expect("not poisoned").take() {
            // Never block the caller (it may be an async context or a UI thread).
            runtime.shutdown_background();
        }
    }
}

impl Drop for Attendee {
    fn drop(&mut self) {
        self.close();
    }
}
