//! Documents: an upload becomes pages a browser or phone can show.
//!
//! Everything a document produces lives under `<data>/documents/<id>/`, where the id is the
//! hex sha256 of the original bytes, so the same file uploaded twice is one document and every
//! page URL can be cached forever:
//!
//! ```text
//! <data>/documents/<id>/original        the upload, byte for byte
//! <data>/documents/<id>/manifest.json   see [`Manifest`]
//! <data>/documents/<id>/pages/N.png     page N (1-based), at most PAGE_BOX px on its long side
//! <data>/documents/<id>/thumbs/N.png    its thumbnail, at most THUMB_BOX px
//! <data>/documents/.tmp/                uploads in flight; emptied at start-up
//! ```
//!
//! Uploads are hashed while they stream to a temporary file and are validated (type sniffed,
//! PDF opened, pages counted) before anything appears under an id, so a rejected or interrupted
//! upload leaves nothing behind. Conversion then runs on its own threads: see [`pipeline`].

pub mod convert;
pub mod encode;
pub mod fallback;
pub mod manifest;
pub mod office;
pub mod package;
pub mod pdf;
pub mod pipeline;
pub mod render;
pub mod service;
pub mod sniff;
pub mod store;
pub mod zipcheck;

use std::time::Duration;

pub use manifest::{Event, Manifest, PageEntry, PageStatus, Status};
pub use service::Documents;
pub use sniff::Kind;

use crate::config::Config;

/// The limits a conversion runs under (from [`Config`]).
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_upload_size: u64,
    pub max_pages: usize,
    /// A page still rendering after this long gets the placeholder image.
    pub page_timeout: Duration,
    /// Render threads per document.
    pub workers: usize,
    /// Pages not rendered this long after a document's conversion started get placeholders.
    pub document_timeout: Duration,
}

impl Limits {
    pub fn from_config(c: &Config) -> Self {
        let workers = match c.render_workers {
            0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
            n => n,
        };
        Self {
            max_upload_size: c.max_upload_size,
            max_pages: c.max_pages,
            page_timeout: Duration::from_secs(c.page_timeout),
            workers,
            document_timeout: Duration::from_secs(c.document_timeout),
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self::from_config(&Config::default())
    }
}

/// Everything that can go wrong with a document; mapped to HTTP in `http::documents` and to
/// an exit message by `lectern convert`.
#[derive(Debug, thiserror::Error)]
pub enum DocError {
    #[error("the upload is larger than the limit of {limit} bytes")]
    TooLarge { limit: u64 },
    #[error(
        "unrecognised file type: upload a PDF, a PNG/JPEG/WebP image, or an office document \
         (PPTX, DOCX, XLSX, ODP, ODT, ODS, PPT, DOC, XLS, RTF, TXT)"
    )]
    UnknownType,
    #[error(
        "office documents cannot be converted on this server ({0}); export the file as PDF \
         and upload that"
    )]
    OfficeUnavailable(String),
    #[error("LibreOffice could not convert the document: {0}")]
    OfficeFailed(String),
    #[error("LibreOffice took longer than {secs} s to convert the document")]
    OfficeTimeout { secs: u64 },
    #[error("every office converter is busy; try again in a minute")]
    OfficeBusy,
    #[error("the office document is not a safe zip archive: {0}")]
    HostileArchive(String),
    #[error("the document is still converting")]
    NotReady,
    #[error("the PDF is protected by a password; remove the password and upload it again")]
    Encrypted,
    #[error("the PDF is encrypted with a method this server cannot open")]
    UnsupportedEncryption,
    #[error("the file is not a readable PDF (truncated or corrupt)")]
    CorruptPdf,
    #[error("the image cannot be read: {0}")]
    CorruptImage(String),
    #[error("the document has no pages")]
    NoPages,
    #[error("the document has {pages} pages; this server accepts at most {limit}")]
    TooManyPages { pages: usize, limit: usize },
    #[error("no document {0}")]
    NotFound(String),
    #[error("the upload is malformed: {0}")]
    BadUpload(String),
    #[error("storage error: {0}")]
    Io(#[from] std::io::Error),
}

impl DocError {
    /// A stable machine-readable code for clients (the message is for people).
    pub fn code(&self) -> &'static str {
        match self {
            DocError::TooLarge { .. } => "too_large",
            DocError::UnknownType => "unknown_type",
            DocError::OfficeUnavailable(_) => "office_conversion_unavailable",
            DocError::OfficeFailed(_) => "office_conversion_failed",
            DocError::OfficeTimeout { .. } => "office_conversion_timeout",
            DocError::OfficeBusy => "office_busy",
            DocError::HostileArchive(_) => "hostile_archive",
            DocError::NotReady => "not_ready",
            DocError::Encrypted => "password_protected",
            DocError::UnsupportedEncryption => "unsupported_encryption",
            DocError::CorruptPdf => "corrupt_pdf",
            DocError::CorruptImage(_) => "corrupt_image",
            DocError::NoPages => "no_pages",
            DocError::TooManyPages { .. } => "too_many_pages",
            DocError::NotFound(_) => "not_found",
            DocError::BadUpload(_) => "bad_upload",
            DocError::Io(_) => "storage_error",
        }
    }
}

/// A document id is 64 lowercase hex digits; anything else is never looked up on disk.
pub fn valid_id(id: &str) -> bool {
    id.len() == 64 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The first `name` on `PATH`.
pub(crate) fn which(name: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|dir| std::path::Path::new(dir).join(name))
        .find(|p| p.is_file())
}
