//! The conversion pipeline, shared by the server and `lectern convert`.
//!
//! PDF pages are rendered by a pool of worker threads that take page indices from one counter,
//! so page 1 starts first and pages finish roughly in order. Each worker renders and encodes;
//! the coordinating thread writes files and reports progress. A page that errors or panics, or
//! is still rendering after `page_timeout`, gets the placeholder image; a timed-out worker is
//! abandoned (a thread cannot be killed: it exits when hayro returns) and replaced.

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::time::Instant;

use image::RgbImage;

use super::encode::{encode_page, fit, Encoded, FORMAT, PAGE_BOX};
use super::manifest::{write_atomic, Event, Manifest, PageStatus, Status};
use super::pdf::{self, Renderer};
use super::store::{sha256_hex, MANIFEST, ORIGINAL};
use super::{DocError, Kind, Limits};

/// Largest image upload accepted, per side, in pixels.
pub const MAX_IMAGE_SIDE: u32 = 20_000;

/// Converts the document in `dir` (its `original` and pending `manifest`), calling `progress`
/// after each page and at the end with the manifest as it then stands. Returns the final
/// manifest, also saved as `manifest.json`.
pub fn run(
    dir: &Path,
    mut manifest: Manifest,
    limits: &Limits,
    mut progress: impl FnMut(&Manifest, &Event),
) -> Result<Manifest, DocError> {
    std::fs::create_dir_all(dir.join("pages"))?;
    std::fs::create_dir_all(dir.join("thumbs"))?;
    let data = Arc::new(std::fs::read(dir.join(ORIGINAL))?);
    let mut sink = |index: usize, result: Result<Encoded, String>, m: &mut Manifest| {
        let event = finish_page(dir, m, index, result)?;
        progress(m, &event);
        Ok::<(), DocError>(())
    };
    if manifest.kind == Kind::Pdf {
        render_pdf(data.clone(), &mut manifest, limits, &mut sink)?;
        for (page, text) in manifest
            .pages
            .iter_mut()
            .zip(pdf::texts(&data, manifest.page_count))
        {
            page.text = text;
        }
    } else {
        let result = catch_unwind(|| render_image(&data).map(|img| encode_page(&img)))
            .unwrap_or_else(|p| Err(panic_message(p)));
        sink(0, result, &mut manifest)?;
    }
    manifest.status = Status::Ready;
    manifest.save(&dir.join(MANIFEST))?;
    progress(&manifest, &manifest.done_event());
    Ok(manifest)
}

enum Msg {
    Started {
        worker: usize,
        page: usize,
    },
    Done {
        worker: usize,
        page: usize,
        result: Result<Encoded, String>,
    },
}

fn render_pdf(
    data: Arc<Vec<u8>>,
    manifest: &mut Manifest,
    limits: &Limits,
    sink: &mut impl FnMut(usize, Result<Encoded, String>, &mut Manifest) -> Result<(), DocError>,
) -> Result<(), DocError> {
    let total = manifest.page_count;
    let next = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = mpsc::channel();
    let mut abandon: Vec<Arc<AtomicBool>> = Vec::new();
    let spawn = |abandon: &mut Vec<Arc<AtomicBool>>| {
        let flag = Arc::new(AtomicBool::new(false));
        let id = abandon.len();
        abandon.push(flag.clone());
        let (data, next, tx) = (data.clone(), next.clone(), tx.clone());
        std::thread::Builder::new()
            .name(format!("render-{id}"))
            .spawn(move || worker(id, data, next, total, flag, tx))
            .map(drop)
    };
    for _ in 0..limits.workers.clamp(1, total) {
        spawn(&mut abandon)?;
    }
    let mut done = vec![false; total];
    let mut remaining = total;
    let mut running: HashMap<usize, (usize, Instant)> = HashMap::new();
    while remaining > 0 {
        let deadline = running
            .values()
            .map(|&(_, t)| t + limits.page_timeout)
            .min();
        let msg = match deadline {
            Some(d) => rx.recv_timeout(d.saturating_duration_since(Instant::now())),
            None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
        };
        match msg {
            Ok(Msg::Started { worker, page }) => {
                running.insert(worker, (page, Instant::now()));
            }
            Ok(Msg::Done {
                worker,
                page,
                result,
            }) => {
                running.remove(&worker);
                if !std::mem::replace(&mut done[page], true) {
                    remaining -= 1;
                    sink(page, result, manifest)?;
                }
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
                    abandon[worker].store(true, Ordering::SeqCst);
                    if next.load(Ordering::SeqCst) < total {
                        spawn(&mut abandon)?;
                    }
                    if !std::mem::replace(&mut done[page], true) {
                        remaining -= 1;
                        let why = format!(
                            "rendering took longer than {} s",
                            limits.page_timeout.as_secs_f32()
                        );
                        sink(page, Err(why), manifest)?;
                    }
                }
            }
            // Unreachable while `tx` lives here; kept so a bug cannot hang a conversion.
            Err(RecvTimeoutError::Disconnected) => break,
        }
    }
    Ok(())
}

fn worker(
    id: usize,
    data: Arc<Vec<u8>>,
    next: Arc<AtomicUsize>,
    total: usize,
    abandoned: Arc<AtomicBool>,
    tx: Sender<Msg>,
) {
    let mut renderer: Option<Renderer> = None;
    while !abandoned.load(Ordering::SeqCst) {
        let page = next.fetch_add(1, Ordering::SeqCst);
        if page >= total || tx.send(Msg::Started { worker: id, page }).is_err() {
            return;
        }
        let result = catch_unwind(AssertUnwindSafe(|| {
            let r = match renderer.take() {
                Some(r) => r,
                None => Renderer::new(data.clone()).map_err(|e| e.to_string())?,
            };
            let img = r.render(page);
            // Kept only after a normal return: after a panic its state is suspect.
            renderer = Some(r);
            img.map(|img| encode_page(&img))
        }))
        .unwrap_or_else(|p| Err(panic_message(p)));
        if tx
            .send(Msg::Done {
                worker: id,
                page,
                result,
            })
            .is_err()
        {
            return;
        }
    }
}

fn panic_message(p: Box<dyn std::any::Any + Send>) -> String {
    let what = p
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    format!("the renderer crashed: {what}")
}

/// Writes page `index`'s image and thumbnail (or the placeholder's) and records it.
fn finish_page(
    dir: &Path,
    m: &mut Manifest,
    index: usize,
    result: Result<Encoded, String>,
) -> Result<Event, DocError> {
    let entry = &mut m.pages[index];
    let (encoded, error) = match result {
        Ok(e) => (e, None),
        Err(why) => {
            tracing::warn!(id = %m.id, page = index + 1, "page failed: {why}");
            let img = pdf::placeholder(entry.number, entry.width_pt, entry.height_pt, &why);
            (encode_page(&img), Some(why))
        }
    };
    let name = format!("{}.{}", entry.number, FORMAT.ext);
    write_atomic(&dir.join("pages").join(&name), &encoded.image)?;
    write_atomic(&dir.join("thumbs").join(&name), &encoded.thumbnail)?;
    entry.width = encoded.width;
    entry.height = encoded.height;
    entry.sha256 = Some(sha256_hex(&encoded.image));
    entry.thumbnail_sha256 = Some(sha256_hex(&encoded.thumbnail));
    entry.status = if error.is_some() {
        PageStatus::Failed
    } else {
        PageStatus::Ready
    };
    entry.error = error;
    Ok(entry.event())
}

/// Pixel size of an image upload, read from its header only.
pub fn probe_image(data: &[u8]) -> Result<(u32, u32), DocError> {
    let reader = image::ImageReader::new(std::io::Cursor::new(data))
        .with_guessed_format()
        .map_err(|e| DocError::CorruptImage(e.to_string()))?;
    let (w, h) = reader
        .into_dimensions()
        .map_err(|e| DocError::CorruptImage(e.to_string()))?;
    if w == 0 || h == 0 || w > MAX_IMAGE_SIDE || h > MAX_IMAGE_SIDE {
        return Err(DocError::CorruptImage(format!(
            "{w}×{h} pixels; each side must be 1 to {MAX_IMAGE_SIDE}"
        )));
    }
    Ok((w, h))
}

/// An image upload as a page: flattened onto white, scaled down to fit [`PAGE_BOX`].
fn render_image(data: &[u8]) -> Result<RgbImage, String> {
    probe_image(data).map_err(|e| e.to_string())?;
    let img = image::load_from_memory(data).map_err(|e| e.to_string())?;
    let rgba = img.to_rgba8();
    let (w, h) = rgba.dimensions();
    let flat = RgbImage::from_fn(w, h, |x, y| {
        let [r, g, b, a] = rgba.get_pixel(x, y).0;
        let over = |c: u8| ((c as u32 * a as u32 + 255 * (255 - a as u32)) / 255) as u8;
        image::Rgb([over(r), over(g), over(b)])
    });
    if w.max(h) <= PAGE_BOX {
        return Ok(flat);
    }
    let (pw, ph) = fit(w as f32, h as f32, PAGE_BOX);
    Ok(image::imageops::resize(
        &flat,
        pw,
        ph,
        image::imageops::FilterType::Triangle,
    ))
}
