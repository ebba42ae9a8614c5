//! The conversion pipeline, shared by the server and `lectern convert`.
//!
//! PDF pages (an office document's after LibreOffice made it a PDF) are rendered by the pool in
//! [`super::render`]; this thread writes each page's files and reports progress. A page that
//! no renderer could draw gets the placeholder image.

use std::panic::catch_unwind;
use std::path::Path;
use std::sync::Arc;

use image::RgbImage;

use super::encode::{encode_page, fit, FORMAT, PAGE_BOX};
use super::manifest::{write_atomic, Event, Manifest, PageStatus, Status};
use super::pdf;
use super::render::{render_pdf, PageResult, Rendered};
use super::store::{sha256_hex, CONVERTED, MANIFEST, ORIGINAL};
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
    let source = if manifest.kind.needs_office() {
        CONVERTED
    } else {
        ORIGINAL
    };
    let data = Arc::new(std::fs::read(dir.join(source))?);
    if manifest.kind == Kind::Pdf || manifest.kind.needs_office() {
        let total = manifest.page_count;
        render_pdf(
            data.clone(),
            &dir.join(source),
            total,
            limits,
            &mut |index, result| {
                let event = finish_page(dir, &mut manifest, index, result)?;
                progress(&manifest, &event);
                Ok(())
            },
        )?;
        for (page, text) in manifest
            .pages
            .iter_mut()
            .zip(pdf::texts(&data, manifest.page_count))
        {
            page.text = text;
        }
    } else {
        let result = catch_unwind(|| {
            render_image(&data).map(|img| Rendered {
                encoded: encode_page(&img),
                renderer: "image",
            })
        })
        .unwrap_or_else(|p| Err(panic_message(p)));
        let event = finish_page(dir, &mut manifest, 0, result)?;
        progress(&manifest, &event);
    }
    manifest.status = Status::Ready;
    manifest.save(&dir.join(MANIFEST))?;
    progress(&manifest, &manifest.done_event());
    Ok(manifest)
}

pub(super) fn panic_message(p: Box<dyn std::any::Any + Send>) -> String {
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
    result: PageResult,
) -> Result<Event, DocError> {
    let entry = &mut m.pages[index];
    let (encoded, error) = match result {
        Ok(r) => {
            entry.renderer = Some(r.renderer.to_string());
            (r.encoded, None)
        }
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
