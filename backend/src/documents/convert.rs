//! `lectern convert FILE --out DIR`: the server's pipeline on one file, with progress on
//! stdout, and `--measure` to compare page image encoders on the file's first pages.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use super::encode::{self, ALL};
use super::manifest::Event;
use super::office::Office;
use super::pdf::Renderer;
use super::service::prepare;
use super::sniff::{sniff, SNIFF_LEN};
use super::store::{sha256_hex, MANIFEST, ORIGINAL};
use super::{DocError, Kind, Limits, Manifest};
use crate::config::Config;

/// Converts `file` into `out` (laid out like `<data>/documents/<id>/`). Office documents
/// start a converter as `config` says, with its profile under `<out>/.office`.
pub fn convert(
    file: &Path,
    out: &Path,
    limits: &Limits,
    config: &Config,
) -> Result<Manifest, DocError> {
    let started = Instant::now();
    let data = std::fs::read(file)?;
    let id = sha256_hex(&data);
    std::fs::create_dir_all(out)?;
    let head = &data[..data.len().min(SNIFF_LEN)];
    let office = if sniff(head).is_some_and(|k| k.needs_office()) {
        let mut config = config.clone();
        config.data = out.join(".office");
        Office::start(&config)
    } else {
        Office::unavailable("not needed")
    };
    let prepared = prepare(&id, file, head, limits, &office, out)?;
    drop(office);
    let manifest = prepared.manifest;
    if data != std::fs::read(out.join(ORIGINAL)).unwrap_or_default() {
        std::fs::write(out.join(ORIGINAL), &data)?;
    }
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
    if sniff(&data[..data.len().min(SNIFF_LEN)]) != Some(Kind::Pdf) {
        return Err(DocError::BadUpload("--measure takes a PDF".into()));
    }
    let probe = super::pdf::probe(data.clone(), limits.max_pages)?;
    let renderer = Renderer::new(data)?;
    println!("page  WxH          render_ms  codec          encode_ms    bytes");
    let mut totals = vec![(0f64, 0usize); ALL.len()];
    let n = pages.min(probe.sizes.len());
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
