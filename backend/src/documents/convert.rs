//! `lectern convert FILE --out DIR`: the server's pipeline on one file, with progress on
//! stdout, and `--measure` to compare page image encoders on the file's first pages.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use super::encode::{self, ALL};
use super::manifest::Event;
use super::pdf::Renderer;
use super::service::validate_bytes;
use super::store::{sha256_hex, MANIFEST, ORIGINAL};
use super::{DocError, Kind, Limits, Manifest};

/// Converts `file` into `out` (laid out like `<data>/documents/<id>/`).
pub fn convert(file: &Path, out: &Path, limits: &Limits) -> Result<Manifest, DocError> {
    let started = Instant::now();
    let data = Arc::new(std::fs::read(file)?);
    let id = sha256_hex(&data);
    let manifest = validate_bytes(&id, data.clone(), limits)?;
    std::fs::create_dir_all(out)?;
    std::fs::write(out.join(ORIGINAL), data.as_slice())?;
    manifest.save(&out.join(MANIFEST))?;
    println!(
        "{id}: {} page(s), {:?}",
        manifest.page_count,
        manifest.title.as_deref().unwrap_or("untitled")
    );
    let result = super::pipeline::run(out, manifest, limits, |_, event| {
        let ms = started.elapsed().as_millis();
        match event {
            Event::Page {
                page,
                error: Some(why),
                ..
            } => println!("{ms:>7} ms  page {page} FAILED: {why}"),
            Event::Page { page, .. } => println!("{ms:>7} ms  page {page} ready"),
            Event::Done { page_count, failed } => {
                println!("{ms:>7} ms  done: {page_count} page(s), {failed} failed")
            }
        }
        let _ = std::io::stdout().flush();
    })?;
    Ok(result)
}

/// Renders up to `pages` pages of a PDF once and encodes each with every codec; prints one
/// row per page and codec: render ms, encode ms, bytes.
pub fn measure(file: &Path, pages: usize, limits: &Limits) -> Result<(), DocError> {
    let data = Arc::new(std::fs::read(file)?);
    let manifest = validate_bytes("measure", data.clone(), limits)?;
    if manifest.kind != Kind::Pdf {
        return Err(DocError::BadUpload("--measure takes a PDF".into()));
    }
    let renderer = Renderer::new(data)?;
    println!("page  WxH          render_ms  codec          encode_ms    bytes");
    let mut totals = vec![(0f64, 0usize); ALL.len()];
    let n = pages.min(manifest.page_count);
    for index in 0..n {
        let start = Instant::now();
        let img = renderer
            .render(index)
            .map_err(|e| DocError::BadUpload(format!("page {}: {e}", index + 1)))?;
        let render_ms = start.elapsed().as_secs_f64() * 1e3;
        for (i, m) in encode::measure(&img).into_iter().enumerate() {
            let ms = m.time.as_secs_f64() * 1e3;
            totals[i].0 += ms;
            totals[i].1 += m.bytes;
            println!(
                "{:>4}  {:>4}x{:<6}  {render_ms:>9.1}  {:<13}  {ms:>9.1}  {:>7}",
                index + 1,
                img.width(),
                img.height(),
                format!("{:?}", m.codec),
                m.bytes
            );
        }
    }
    for (codec, (ms, bytes)) in ALL.iter().zip(totals) {
        println!(
            "mean  {:<13} encode {:>7.1} ms  {:>8} bytes/page",
            format!("{codec:?}"),
            ms / n as f64,
            bytes / n.max(1)
        );
    }
    Ok(())
}
