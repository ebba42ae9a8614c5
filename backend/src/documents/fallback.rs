//! Second opinions for pages hayro cannot draw: MuPDF's `mutool draw` or poppler's
//! `pdftoppm`, whichever is installed (mutool first: it is the faster of the two). They run as
//! child processes, so unlike a render thread they can be killed when they take too long.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use image::RgbImage;

use super::encode::PAGE_BOX;
use super::which;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tool {
    Mutool,
    Pdftoppm,
}

impl Tool {
    pub fn name(self) -> &'static str {
        match self {
            Tool::Mutool => "mutool",
            Tool::Pdftoppm => "pdftoppm",
        }
    }
}

/// The installed fallback, looked up once per process.
pub fn tool() -> Option<(Tool, PathBuf)> {
    static FOUND: OnceLock<Option<(Tool, PathBuf)>> = OnceLock::new();
    FOUND
        .get_or_init(|| {
            which("mutool")
                .map(|p| (Tool::Mutool, p))
                .or_else(|| which("pdftoppm").map(|p| (Tool::Pdftoppm, p)))
        })
        .clone()
}

/// Renders page `index` (0-based) of `pdf` to fit [`PAGE_BOX`], within `timeout`. `scratch`
/// must be a directory private to this call.
pub fn render(
    pdf: &Path,
    index: usize,
    timeout: Duration,
    scratch: &Path,
) -> Result<(RgbImage, Tool), String> {
    let (tool, bin) = tool().ok_or("no fallback renderer (mutool, pdftoppm) is installed")?;
    let out = scratch.join("page.png");
    let page = (index + 1).to_string();
    let box_px = PAGE_BOX.to_string();
    let mut cmd = Command::new(bin);
    match tool {
        Tool::Mutool => cmd
            .args([
                "draw", "-q", "-F", "png", "-w", &box_px, "-h", &box_px, "-o",
            ])
            .arg(&out)
            .arg(pdf)
            .arg(&page),
        Tool::Pdftoppm => cmd
            .args(["-q", "-png", "-singlefile", "-scale-to", &box_px])
            .args(["-f", &page, "-l", &page])
            .arg(pdf)
            .arg(scratch.join("page")),
    };
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("{}: {e}", tool.name()))?;
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "{} also took longer than {} s",
                    tool.name(),
                    timeout.as_secs_f32()
                ));
            }
            Err(e) => return Err(format!("{}: {e}", tool.name())),
        }
    };
    if !status.success() {
        return Err(format!("{} failed too ({status})", tool.name()));
    }
    let img = image::open(&out)
        .map_err(|e| format!("{} wrote no readable image: {e}", tool.name()))?
        .into_rgb8();
    let (w, h) = img.dimensions();
    if w.max(h) > PAGE_BOX {
        let (fw, fh) = super::encode::fit(w as f32, h as f32, PAGE_BOX);
        let small = image::imageops::resize(&img, fw, fh, image::imageops::FilterType::Triangle);
        return Ok((small, tool));
    }
    Ok((img, tool))
}
