//! Rendering a PDF's pages on a pool of threads, page 1 first.
//!
//! Workers take page indices from one counter, so pages finish roughly in order. A page hayro
//! fails on (error or panic) is tried again with the external fallback renderer on the same
//! thread. A page still rendering after `page_timeout` is handed to the fallback on a thread
//! of its own (a child process that is killed at its own timeout, so that thread always
//! ends); the stuck worker is abandoned — a thread cannot be killed, it exits when hayro
//! returns — and replaced. Abandoned threads still running are counted across all documents:
//! past [`MAX_STUCK`], no replacements are started and the remaining pages go to the fallback
//! alone, so a stream of hostile PDFs cannot pile up spinning threads. Past `document_timeout`
//! every page not yet done gets the placeholder.

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::encode::{encode_page, Encoded};
use super::fallback;
use super::pdf::Renderer;
use super::{DocError, Limits};

/// Abandoned render threads allowed to keep spinning, process-wide.
pub const MAX_STUCK: usize = 4;
static STUCK: AtomicUsize = AtomicUsize::new(0);

/// Render threads abandoned and still running, across every document.
pub fn stuck_threads() -> usize {
    STUCK.load(Ordering::SeqCst)
}

/// A rendered page and what drew it (`hayro`, `mutool`, `pdftoppm`).
pub struct Rendered {
    pub encoded: Encoded,
    pub renderer: &'static str,
}

pub type PageResult = Result<Rendered, String>;

const RUNNING: u8 = 0;
const ABANDONED: u8 = 1;
const EXITED: u8 = 2;

/// Marks a worker abandoned; counts it as stuck unless it already exited.
fn abandon(state: &AtomicU8) {
    if state
        .compare_exchange(RUNNING, ABANDONED, Ordering::SeqCst, Ordering::SeqCst)
        .is_ok()
    {
        STUCK.fetch_add(1, Ordering::SeqCst);
    }
}

enum Msg {
    Started { worker: usize, page: usize },
    Done { page: usize, result: PageResult },
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Hayro,
    /// Only the fallback renderer (no hayro thread could be started).
    External,
}

struct Shared {
    data: Arc<Vec<u8>>,
    pdf: PathBuf,
    next: AtomicUsize,
    total: usize,
    page_timeout: Duration,
}

/// Renders every page of the PDF `data` (also on disk at `pdf`), calling `sink` with each
/// page's result as it arrives (never twice for a page).
pub fn render_pdf(
    data: Arc<Vec<u8>>,
    pdf: &Path,
    total: usize,
    limits: &Limits,
    sink: &mut impl FnMut(usize, PageResult) -> Result<(), DocError>,
) -> Result<(), DocError> {
    let shared = Arc::new(Shared {
        data,
        pdf: pdf.to_path_buf(),
        next: AtomicUsize::new(0),
        total,
        page_timeout: limits.page_timeout,
    });
    let doc_deadline = Instant::now() + limits.document_timeout;
    let (tx, rx) = mpsc::channel();
    let mut states: Vec<Arc<AtomicU8>> = Vec::new();
    let spawn = |states: &mut Vec<Arc<AtomicU8>>, mode: Mode| {
        let state = Arc::new(AtomicU8::new(RUNNING));
        let id = states.len();
        states.push(state.clone());
        let (shared, tx) = (shared.clone(), tx.clone());
        std::thread::Builder::new()
            .name(format!("render-{id}"))
            .spawn(move || worker(id, mode, &shared, &state, &tx))
            .map(drop)
    };
    for _ in 0..limits.workers.clamp(1, total.max(1)) {
        spawn(&mut states, Mode::Hayro)?;
    }
    let mut done = vec![false; total];
    let mut remaining = total;
    let mut running: HashMap<usize, (usize, Instant)> = HashMap::new();
    while remaining > 0 {
        let deadline = running
            .values()
            .map(|&(_, t)| t + limits.page_timeout)
            .chain([doc_deadline])
            .min()
            .expect("the document deadline is always there");
        match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(Msg::Started { worker, page }) => {
                running.insert(worker, (page, Instant::now()));
            }
            Ok(Msg::Done { page, result }) => {
                running.retain(|_, &mut (p, _)| p != page);
                if !std::mem::replace(&mut done[page], true) {
                    remaining -= 1;
                    sink(page, result)?;
                }
            }
            Err(RecvTimeoutError::Timeout) if Instant::now() >= doc_deadline => {
                shared.next.store(total, Ordering::SeqCst);
                states.iter().for_each(|s| abandon(s));
                let why = format!(
                    "the document took longer than {} s to render",
                    limits.document_timeout.as_secs()
                );
                for (page, done) in done.iter_mut().enumerate() {
                    if !std::mem::replace(done, true) {
                        sink(page, Err(why.clone()))?;
                    }
                }
                return Ok(());
            }
            Err(RecvTimeoutError::Timeout) => {
                let now = Instant::now();
                let late: Vec<(usize, usize)> = running
                    .iter()
                    .filter(|(_, &(_, t))| now >= t + limits.page_timeout)
                    .map(|(&w, &(p, _))| (w, p))
                    .collect();
                for (worker, page) in late {
                    running.remove(&worker);
                    abandon(&states[worker]);
                    rescue(&shared, page, tx.clone())?;
                    if shared.next.load(Ordering::SeqCst) < total {
                        let mode = if STUCK.load(Ordering::SeqCst) < MAX_STUCK {
                            Mode::Hayro
                        } else {
                            Mode::External
                        };
                        spawn(&mut states, mode)?;
                    }
                }
            }
            // Unreachable while `tx` lives here; kept so a bug cannot hang a conversion.
            Err(RecvTimeoutError::Disconnected) => break,
        }
    }
    Ok(())
}

/// The fallback for a page whose hayro thread timed out, on a thread of its own.
fn rescue(shared: &Arc<Shared>, page: usize, tx: Sender<Msg>) -> std::io::Result<()> {
    let shared = shared.clone();
    std::thread::Builder::new()
        .name(format!("rescue-{page}"))
        .spawn(move || {
            let why = format!(
                "rendering took longer than {} s",
                shared.page_timeout.as_secs_f32()
            );
            let result = external(&shared, page).map_err(|e| format!("{why}; {e}"));
            let _ = tx.send(Msg::Done { page, result });
        })
        .map(drop)
}

fn worker(id: usize, mode: Mode, shared: &Shared, state: &AtomicU8, tx: &Sender<Msg>) {
    let mut renderer: Option<Renderer> = None;
    while state.load(Ordering::SeqCst) == RUNNING {
        let page = shared.next.fetch_add(1, Ordering::SeqCst);
        if page >= shared.total || tx.send(Msg::Started { worker: id, page }).is_err() {
            break;
        }
        let result = match mode {
            Mode::Hayro => hayro(shared, &mut renderer, page).or_else(|why| {
                tracing::warn!(page = page + 1, "hayro failed: {why}");
                external(shared, page).map_err(|e| format!("{why}; {e}"))
            }),
            Mode::External => external(shared, page),
        };
        if tx.send(Msg::Done { page, result }).is_err() {
            break;
        }
    }
    if state.swap(EXITED, Ordering::SeqCst) == ABANDONED {
        STUCK.fetch_sub(1, Ordering::SeqCst);
    }
}

fn hayro(shared: &Shared, renderer: &mut Option<Renderer>, page: usize) -> PageResult {
    catch_unwind(AssertUnwindSafe(|| {
        let r = match renderer.take() {
            Some(r) => r,
            None => Renderer::new(shared.data.clone()).map_err(|e| e.to_string())?,
        };
        let img = r.render(page);
        // Kept only after a normal return: after a panic its state is suspect.
        *renderer = Some(r);
        img.map(|img| Rendered {
            encoded: encode_page(&img),
            renderer: "hayro",
        })
    }))
    .unwrap_or_else(|p| Err(super::pipeline::panic_message(p)))
}

fn external(shared: &Shared, page: usize) -> PageResult {
    let scratch = shared
        .pdf
        .with_file_name(format!(".render-{}-{page}", std::process::id()));
    std::fs::create_dir_all(&scratch).map_err(|e| e.to_string())?;
    let result = fallback::render(&shared.pdf, page, shared.page_timeout, &scratch);
    let _ = std::fs::remove_dir_all(&scratch);
    result.map(|(img, tool)| Rendered {
        encoded: encode_page(&img),
        renderer: tool.name(),
    })
}
