//! What the engine task, its background fetches and the app's calls share: the event path
//! behind one lock, the clock, the page cache and the app's listener.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::api::{AttendeeListener, AttendeeStats, Change};
use crate::cache::PageCache;
use crate::clock::EngineClock;
use crate::http::Http;
use crate::meeting::MeetingCore;

/// What the engine task, its helpers and the app's calls share.
pub(crate) struct Shared {
    core: Mutex<MeetingCore>,
    pub clock: EngineClock,
    pub cache: PageCache,
    listener: Box<dyn AttendeeListener>,
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
            listener,
            reconnects: AtomicU64::new(0),
            catch_ups: AtomicU64::new(0),
        }
    }

    pub fn core(&self) -> MutexGuard<'_, MeetingCore> {
        self.core.lock().expect("the core lock is never poisoned")
    }

    /// Tells the app; never called with the core lock held (the app may call back in).
    pub fn notify(&self, change: Change) {
        self.listener.on_change(change);
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
