//! What the engine task, its background fetches and the app's calls share: the event path
//! behind one lock, the clock, the page cache and the app's listener.

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::api::{AttendeeListener, AttendeeStats, Change};
use crate::cache::PageCache;
use crate::clock::EngineClock;
use crate::http::Http;
use crate::meeting::MeetingCore;

thread_local! {
    /// Whether this thread is inside the app's listener (a close from there must not wait for
    /// the lock its own call holds).
    static IN_LISTENER: Cell<bool> = const { Cell::new(false) };
}

/// What the engine task, its helpers and the app's calls share.
pub(crate) struct Shared {
    core: Mutex<MeetingCore>,
    pub clock: EngineClock,
    pub cache: PageCache,
    /// `None` once closed. Held while the app is called, so that closing waits for a call
    /// under way; taken out by [`Shared::silence`] so that the app's object is released on the
    /// app's thread. Released on an engine thread (by the last task holding `Shared`), the
    /// app's runtime may already be gone: a Python interpreter exiting kills such a thread with
    /// a forced unwind, which the task's catch_unwind turns into an abort.
    listener: Mutex<Option<Box<dyn AttendeeListener>>>,
    /// Set by [`Shared::silence`]; a listener closing from its own callback is released when
    /// that callback returns.
    closed: AtomicBool,
    pub reconnects: AtomicU64,
    pub catch_ups: AtomicU64,
}

impl Shared {
    pub fn new(
        core: MeetingCore,
        cache: PageCache,
        clock: EngineClock,
        listener: Box<dyn AttendeeListener>,
    ) -> Self {
        Shared {
            core: Mutex::new(core),
            clock,
            cache,
            listener: Mutex::new(Some(listener)),
            closed: AtomicBool::new(false),
            reconnects: AtomicU64::new(0),
            catch_ups: AtomicU64::new(0),
        }
    }

    pub fn core(&self) -> MutexGuard<'_, MeetingCore> {
        self.core.lock().expect("the core lock is never poisoned")
    }

    /// Tells the app, unless closed; never called with the core lock held (the app may call
    /// back in).
    pub fn notify(&self, change: Change) {
        let mut slot = self.listener.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(listener) = slot.as_ref() {
            IN_LISTENER.set(true);
            listener.on_change(change);
            IN_LISTENER.set(false);
        }
        if self.closed.load(Ordering::Acquire) {
            slot.take();
        }
    }

    /// Stops telling the app. When it returns, no call to the listener is under way and none
    /// follows, and the listener has been released on this thread (unless this thread is
    /// inside the listener's own callback: then it is released when that returns).
    pub fn silence(&self) {
        self.closed.store(true, Ordering::Release);
        if IN_LISTENER.get() {
            return;
        }
        let listener = self
            .listener
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        drop(listener);
    }

    pub fn problem(&self, e: impl std::fmt::Display) {
        tracing::warn!("{e}");
        self.notify(Change::Problem {
            message: e.to_string(),
        });
    }

    pub fn stats(&self) -> AttendeeStats {
        let core = self.core();
        let audio = core.audio_stats();
        AttendeeStats {
            frames_played: audio.played,
            frames_late: audio.late,
            frames_concealed: audio.concealed,
            audio_resyncs: audio.resyncs,
            playout_delay_ms: core.clock().delay(),
            corrupt_pages: self.cache.corrupt_count(),
            reconnects: self.reconnects.load(Ordering::Relaxed),
            catch_up_queries: self.catch_ups.load(Ordering::Relaxed),
        }
    }

    /// The page hashes of `document` once the shown state has it (a preload notice can come
    /// before the document event reaches its playout time).
    pub async fn document_hashes(&self, document: &str) -> Option<Vec<String>> {
        for _ in 0..200 {
            let hashes = self.core().state().document.as_ref().and_then(|d| {
                (d.id == document).then(|| d.page_info.iter().map(|p| p.hash.clone()).collect())
            });
            if hashes.is_some() {
                return hashes;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        None
    }

    /// Fetches page `page` of the shown document in the background; the app gets
    /// [`Change::PageReady`] (or a problem).
    pub fn fetch_page(self: Arc<Self>, http: Http, page: u32) {
        let target = {
            let core = self.core();
            core.state().document.as_ref().and_then(|d| {
                let info = d.page_info.get(page.checked_sub(1)? as usize)?;
                Some((d.id.clone(), d.base.clone(), info.hash.clone()))
            })
        };
        let Some((document, base, hash)) = target else {
            return;
        };
        tokio::spawn(async move {
            match self.cache.fetch(&http, &base, page, &hash).await {
                Ok(path) => self.notify(Change::PageReady {
                    document,
                    page,
                    path: path.display().to_string(),
                }),
                Err(e) => self.problem(format!("page {page} of {document}: {e}")),
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::sync::{OnceLock, Weak};
    use std::thread::{self, ThreadId};

    /// Counts calls, records the thread it is released on, and closes from its own callback
    /// when `closer` is set.
    struct Probe {
        calls: Arc<AtomicU64>,
        released_on: Arc<Mutex<Option<ThreadId>>>,
        closer: Arc<OnceLock<Weak<Shared>>>,
    }

    impl AttendeeListener for Probe {
        fn on_change(&self, _: Change) {
            self.calls.fetch_add(1, Ordering::SeqCst);
            if let Some(shared) = self.closer.get().and_then(Weak::upgrade) {
                shared.silence();
            }
        }
    }

    impl Drop for Probe {
        fn drop(&mut self) {
            *self.released_on.lock().unwrap() = Some(thread::current().id());
        }
    }

    fn shared(name: &str, probe: Probe) -> Arc<Shared> {
        let dir = std::env::temp_dir().join(format!("ab-shared-{name}-{}", std::process::id()));
        let cache = PageCache::new(&dir).unwrap();
        fs::remove_dir_all(dir).unwrap(); // nothing is stored
        let core = MeetingCore::new().unwrap();
        Arc::new(Shared::new(
            core,
            cache,
            EngineClock::new(),
            Box::new(probe),
        ))
    }

    fn probe() -> (Probe, Arc<AtomicU64>, Arc<Mutex<Option<ThreadId>>>) {
        let calls = Arc::new(AtomicU64::new(0));
        let released_on = Arc::new(Mutex::new(None));
        let probe = Probe {
            calls: calls.clone(),
            released_on: released_on.clone(),
            closer: Arc::new(OnceLock::new()),
        };
        (probe, calls, released_on)
    }

    fn online() -> Change {
        Change::Online { reconnected: false }
    }

    #[test]
    fn silenced_the_listener_is_released_on_the_closing_thread_and_never_called_again() {
        let (probe, calls, released_on) = probe();
        let shared = shared("silence", probe);
        shared.notify(online());
        assert_eq!(calls.load(Ordering::SeqCst), 1);

        // An engine thread still holds `Shared` (as a task being cancelled does).
        let engine = shared.clone();
        shared.silence();
        assert_eq!(*released_on.lock().unwrap(), Some(thread::current().id()));
        thread::spawn(move || {
            engine.notify(online());
            drop(engine);
        })
        .join()
        .unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert_eq!(*released_on.lock().unwrap(), Some(thread::current().id()));
    }

    #[test]
    fn a_listener_closing_from_its_callback_does_not_deadlock_and_is_released_after_it() {
        let (probe, calls, released_on) = probe();
        let closer = probe.closer.clone();
        let shared = shared("reentrant", probe);
        closer.set(Arc::downgrade(&shared)).unwrap();
        let engine = shared.clone();
        let engine_thread = thread::spawn(move || {
            engine.notify(online());
            engine.notify(online());
            thread::current().id()
        })
        .join()
        .unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert_eq!(*released_on.lock().unwrap(), Some(engine_thread));
    }
}
