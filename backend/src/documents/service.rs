//! The documents service the HTTP layer talks to: accepts finished uploads, runs one
//! conversion per document on its own thread (off the async runtime), and tells subscribers
//! about progress.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tokio::sync::broadcast;

use super::manifest::{Event, Manifest, Status};
use super::office::Office;
use super::pipeline::{self, probe_image};
use super::sniff::{sniff, Kind};
use super::store::{Ingest, Store, Upload, CONVERTED, MANIFEST};
use super::{pdf, valid_id, zipcheck, DocError, Limits};

/// A conversion in progress: its manifest as it stands and its progress events.
struct Job {
    manifest: Mutex<Manifest>,
    events: broadcast::Sender<Event>,
}

pub struct Documents {
    store: Store,
    limits: Limits,
    office: Office,
    jobs: Mutex<HashMap<String, Arc<Job>>>,
}

/// What a subscriber gets: events replaying the state so far, then the live ones (none when the
/// conversion has finished).
pub struct Subscription {
    pub replay: Vec<Event>,
    pub live: Option<broadcast::Receiver<Event>>,
}

impl Documents {
    pub fn open(data: &std::path::Path, limits: Limits, office: Office) -> std::io::Result<Self> {
        Ok(Self {
            store: Store::open(data)?,
            limits,
            office,
            jobs: Mutex::new(HashMap::new()),
        })
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    pub fn ingest(&self) -> std::io::Result<Ingest> {
        self.store.ingest(self.limits.max_upload_size)
    }

    /// Validates a finished upload and stores it under its id, starting its conversion.
    /// Blocking (reads and parses the file): call from a blocking thread. Returns the manifest
    /// and whether the document is new.
    pub fn accept(self: &Arc<Self>, upload: Upload) -> Result<(Manifest, bool), DocError> {
        if self.store.exists(&upload.id) {
            let id = upload.id.clone();
            drop(upload);
            return Ok((self.manifest(&id)?, false));
        }
        let scratch = self.store.scratch()?;
        let Prepared {
            manifest,
            converted,
        } = prepare(
            &upload.id,
            upload.path(),
            &upload.head,
            &self.limits,
            &self.office,
            scratch.path(),
        )?;
        let json = serde_json::to_vec_pretty(&manifest).expect("a manifest serialises");
        let id = upload.id.clone();
        let created = self.store.commit(upload, &json, converted.as_deref())?;
        if created {
            self.start(manifest.clone());
            Ok((manifest, true))
        } else {
            Ok((self.manifest(&id)?, false))
        }
    }

    /// The manifest as it stands (in memory while converting, else from disk). A document left
    /// unfinished by a previous process is converted again.
    pub fn manifest(self: &Arc<Self>, id: &str) -> Result<Manifest, DocError> {
        if !valid_id(id) {
            return Err(DocError::NotFound(id.into()));
        }
        if let Some(job) = self.job(id) {
            return Ok(job.manifest.lock().expect("job lock").clone());
        }
        let m = Manifest::load(&self.store.dir(id).join(MANIFEST))
            .map_err(|_| DocError::NotFound(id.into()))?;
        if m.status == Status::Converting {
            self.start(m.clone());
        }
        Ok(m)
    }

    pub fn subscribe(self: &Arc<Self>, id: &str) -> Result<Subscription, DocError> {
        // Subscribe before reading the state, so nothing falls between the two; a page event
        // seen twice is harmless.
        let live = self.job(id).map(|j| j.events.subscribe());
        let m = self.manifest(id)?;
        let live = live.or_else(|| self.job(id).map(|j| j.events.subscribe()));
        Ok(Subscription {
            replay: m.replay(),
            live: if m.status == Status::Ready {
                None
            } else {
                live
            },
        })
    }

    /// The whole-document package of a finished document.
    pub fn package(self: &Arc<Self>, id: &str) -> Result<super::package::Package, DocError> {
        let m = self.manifest(id)?;
        if m.status != Status::Ready {
            return Err(DocError::NotReady);
        }
        Ok(super::package::package(&self.store.dir(id), &m)?)
    }

    /// The file of a page image or thumbnail, once written.
    pub fn file(&self, id: &str, folder: &str, name: &str) -> Result<PathBuf, DocError> {
        let ok_name = name
            .split_once('.')
            .is_some_and(|(n, ext)| n.parse::<u32>().is_ok() && ext == super::encode::FORMAT.ext);
        if !valid_id(id) || !ok_name || !matches!(folder, "pages" | "thumbs") {
            return Err(DocError::NotFound(format!("{id}/{folder}/{name}")));
        }
        let path = self.store.dir(id).join(folder).join(name);
        if path.is_file() {
            Ok(path)
        } else {
            Err(DocError::NotFound(format!("{id}/{folder}/{name}")))
        }
    }

    fn job(&self, id: &str) -> Option<Arc<Job>> {
        self.jobs.lock().expect("jobs lock").get(id).cloned()
    }

    /// Starts converting unless a conversion of this document is already running.
    fn start(self: &Arc<Self>, manifest: Manifest) {
        let id = manifest.id.clone();
        let job = {
            let mut jobs = self.jobs.lock().expect("jobs lock");
            if jobs.contains_key(&id) {
                return;
            }
            let job = Arc::new(Job {
                manifest: Mutex::new(manifest.clone()),
                events: broadcast::channel(1024).0,
            });
            jobs.insert(id.clone(), job.clone());
            job
        };
        let this = self.clone();
        let spawned = std::thread::Builder::new()
            .name("convert".into())
            .spawn(move || this.convert(job, manifest));
        if let Err(e) = spawned {
            tracing::error!(%id, "cannot start a conversion thread: {e}");
            self.jobs.lock().expect("jobs lock").remove(&id);
        }
    }

    fn convert(&self, job: Arc<Job>, manifest: Manifest) {
        let id = manifest.id.clone();
        let started = std::time::Instant::now();
        let dir = self.store.dir(&id);
        let result = pipeline::run(&dir, manifest, &self.limits, |m, event| {
            // The final manifest is on disk before `done` is sent (see `pipeline::run`), so a
            // subscriber arriving after the job is gone reads a finished manifest.
            *job.manifest.lock().expect("job lock") = m.clone();
            if let Event::Page { page: 1, .. } = event {
                tracing::info!(%id, ms = started.elapsed().as_millis() as u64, "first page ready");
            }
            let _ = job.events.send(event.clone());
        });
        match result {
            Ok(m) => tracing::info!(
                %id,
                pages = m.page_count,
                ms = started.elapsed().as_millis() as u64,
                "document ready"
            ),
            Err(e) => tracing::error!(%id, "conversion stopped: {e}"),
        }
        self.jobs.lock().expect("jobs lock").remove(&id);
    }
}

/// An upload that can be converted: its pending manifest and, for an office document, the PDF
/// LibreOffice made of it.
pub struct Prepared {
    pub manifest: Manifest,
    pub converted: Option<PathBuf>,
}

/// Sniffs the upload at `path` (whose first bytes are `head`) and makes sure it can be
/// converted: PDFs are opened and their pages counted, images' headers read, office documents
/// checked for zip bombs and converted to `<scratch>/converted.pdf`. Blocking.
pub fn prepare(
    id: &str,
    path: &Path,
    head: &[u8],
    limits: &Limits,
    office: &Office,
    scratch: &Path,
) -> Result<Prepared, DocError> {
    let kind = sniff(head).ok_or(DocError::UnknownType)?;
    if !kind.needs_office() {
        let manifest = validate_bytes(id, kind, Arc::new(std::fs::read(path)?), limits)?;
        return Ok(Prepared {
            manifest,
            converted: None,
        });
    }
    // Refused before any work when LibreOffice is missing.
    office.available()?;
    if kind == Kind::OfficeZip {
        zipcheck::check(path)?;
    }
    let pdf_path = scratch.join(CONVERTED);
    office.convert(path, &pdf_path)?;
    let probe =
        pdf::probe(Arc::new(std::fs::read(&pdf_path)?), limits.max_pages).map_err(|e| match e {
            DocError::CorruptPdf | DocError::Encrypted | DocError::UnsupportedEncryption => {
                DocError::OfficeFailed("LibreOffice produced an unreadable PDF".into())
            }
            e => e,
        })?;
    Ok(Prepared {
        manifest: Manifest::new(id, kind, probe.title, &probe.sizes),
        converted: Some(pdf_path),
    })
}

/// The pending manifest of a PDF or image already in memory.
fn validate_bytes(
    id: &str,
    kind: Kind,
    data: Arc<Vec<u8>>,
    limits: &Limits,
) -> Result<Manifest, DocError> {
    if kind.is_image() {
        let (w, h) = probe_image(&data)?;
        return Ok(Manifest::new(id, kind, None, &[(w as f32, h as f32)]));
    }
    let probe = pdf::probe(data, limits.max_pages)?;
    Ok(Manifest::new(id, kind, probe.title, &probe.sizes))
}
