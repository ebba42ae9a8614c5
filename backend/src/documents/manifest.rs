//! The manifest: what a client needs to show a document, and the progress events it is built
//! from. Written as `manifest.json` next to the pages, always by write-then-rename so a reader
//! never sees half of it.

use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::encode::FORMAT;
use super::Kind;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Converting,
    /// Every page has an image (some may be placeholders: see each page's status).
    Ready,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PageStatus {
    Pending,
    Ready,
    /// The image is a "page could not be rendered" placeholder; `error` says why.
    Failed,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PageEntry {
    /// 1-based.
    pub number: usize,
    /// Size in PDF points (1/72 in), after crop box and rotation; pixels for images.
    pub width_pt: f32,
    pub height_pt: f32,
    /// Size of the page image in pixels (0 until rendered).
    pub width: u32,
    pub height: u32,
    pub image: String,
    pub thumbnail: String,
    /// Hex sha256 of the served image bytes (for hash-verified pre-distribution).
    pub sha256: Option<String>,
    pub thumbnail_sha256: Option<String>,
    pub text: String,
    pub status: PageStatus,
    pub error: Option<String>,
    /// What drew the image: `hayro`, `mutool` or `pdftoppm` (fallbacks), `image`; none for a
    /// placeholder.
    #[serde(default)]
    pub renderer: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub id: String,
    pub kind: Kind,
    pub title: Option<String>,
    pub status: Status,
    pub page_count: usize,
    /// Media type of every page image and thumbnail.
    pub format: String,
    pub pages: Vec<PageEntry>,
}

/// Progress, as sent on `GET /api/documents/{id}/events`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "lowercase")]
pub enum Event {
    Page {
        page: usize,
        status: PageStatus,
        image: String,
        sha256: Option<String>,
        error: Option<String>,
    },
    Done {
        page_count: usize,
        failed: usize,
    },
}

impl Event {
    /// The SSE event name: `page` (ready), `failed` or `done`.
    pub fn name(&self) -> &'static str {
        match self {
            Event::Page {
                status: PageStatus::Failed,
                ..
            } => "failed",
            Event::Page { .. } => "page",
            Event::Done { .. } => "done",
        }
    }
}

impl Manifest {
    /// A manifest with every page pending; `sizes` in points.
    pub fn new(id: &str, kind: Kind, title: Option<String>, sizes: &[(f32, f32)]) -> Self {
        let pages = sizes
            .iter()
            .enumerate()
            .map(|(i, &(w, h))| PageEntry {
                number: i + 1,
                width_pt: w,
                height_pt: h,
                width: 0,
                height: 0,
                image: format!("/api/documents/{id}/pages/{}.{}", i + 1, FORMAT.ext),
                thumbnail: format!("/api/documents/{id}/thumbs/{}.{}", i + 1, FORMAT.ext),
                sha256: None,
                thumbnail_sha256: None,
                text: String::new(),
                status: PageStatus::Pending,
                error: None,
                renderer: None,
            })
            .collect();
        Self {
            id: id.into(),
            kind,
            title,
            status: Status::Converting,
            page_count: sizes.len(),
            format: FORMAT.mime.into(),
            pages,
        }
    }

    /// The events that bring a client that knows nothing up to this manifest's state.
    pub fn replay(&self) -> Vec<Event> {
        let mut out: Vec<Event> = self
            .pages
            .iter()
            .filter(|p| p.status != PageStatus::Pending)
            .map(|p| p.event())
            .collect();
        if self.status == Status::Ready {
            out.push(self.done_event());
        }
        out
    }

    pub fn done_event(&self) -> Event {
        Event::Done {
            page_count: self.page_count,
            failed: self
                .pages
                .iter()
                .filter(|p| p.status == PageStatus::Failed)
                .count(),
        }
    }

    pub fn load(path: &Path) -> std::io::Result<Self> {
        let bytes = std::fs::read(path)?;
        serde_json::from_slice(&bytes)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
    }

    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        let json = serde_json::to_vec_pretty(self).expect("a manifest serialises");
        write_atomic(path, &json)
    }
}

impl PageEntry {
    pub fn event(&self) -> Event {
        Event::Page {
            page: self.number,
            status: self.status,
            image: self.image.clone(),
            sha256: self.sha256.clone(),
            error: self.error.clone(),
        }
    }
}

/// Writes `bytes` next to `path` and renames it into place, so readers see all or nothing.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = path.with_file_name(format!(".{name}.tmp"));
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    drop(f);
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_replays_progress() {
        let dir = std::env::temp_dir().join(format!("lectern-manifest-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut m = Manifest::new("ab", Kind::Pdf, Some("T".into()), &[(10.0, 20.0); 3]);
        m.pages[0].status = PageStatus::Ready;
        m.pages[2].status = PageStatus::Failed;
        assert_eq!(m.replay().len(), 2);
        m.status = Status::Ready;
        assert_eq!(
            m.replay().last(),
            Some(&Event::Done {
                page_count: 3,
                failed: 1
            })
        );
        let path = dir.join("manifest.json");
        m.save(&path).unwrap();
        assert_eq!(Manifest::load(&path).unwrap(), m);
        assert_eq!(m.pages[2].event().name(), "failed");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
