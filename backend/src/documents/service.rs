//! The documents service the HTTP layer talks to: accepts finished uploads, runs one
//! conversion per document on its own thread (off the async runtime), and tells subscribers
//! about progress.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use tokio::sync::broadcast;

use super::manifest::{Event, Manifest, Status};
use super::pipeline::{self, probe_image};
use super::sniff::sniff;
use super::store::{Ingest, Store, Upload, MANIFEST};
use super::{pdf, valid_id, DocError, Limits};

/// A conversion in progress: its manifest as it stands and its progress events.
struct Job {
    manifest: Mutex<Manifest>,
    events: broadcast::Sender<Event>,
}

pub struct Documents {
    store: Store,
    limits: Limits,
    jobs: Mutex<HashMap<String, Arc<Job>>>,
}

/// What a subscriber gets: events replaying the state so far, then the live ones (none when the
/// conversion has finished).
pub struct Subscription {
    pub replay: Vec<Event>,
    pub live: Option<broadcast::Receiver<Event>>,
}

impl Documents {
    pub fn open(data: &std::path::Path, limits: Limits) -> std::io::Result<Self> {
        Ok(Self {
            store: Store::open(data)?,
            limits,
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
        let manifest = validate(&upload, &self.limits)?;
        let json = serde_json::to_vec_pretty(&manifest).expect("a manifest serialises");
        let id = upload.id.clone();
        let created = self.store.commit(upload, &json)?;
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

/// Sniffs and opens an upload; its pending manifest if it is a document we can convert.
pub fn validate(upload: &Upload, limits: &Limits) -> Result<Manifest, DocError> {
    // Office files are refused before reading the whole upload.
    if sniff(&upload.head).is_some_and(|k| k.needs_office()) {
        return Err(DocError::OfficeUnavailable);
    }
    validate_bytes(&upload.id, Arc::new(std::fs::read(upload.path())?), limits)
}

/// [`validate`] for bytes already in memory.
pub fn validate_bytes(id: &str, data: Arc<Vec<u8>>, limits: &Limits) -> Result<Manifest, DocError> {
    let head = &data[..data.len().min(super::sniff::SNIFF_LEN)];
    let kind = sniff(head).ok_or(DocError::UnknownType)?;
    if kind.needs_office() {
        return Err(DocError::OfficeUnavailable);
    }
    if kind.is_image() {
        let (w, h) = probe_image(&data)?;
        return Ok(Manifest::new(id, kind, None, &[(w as f32, h as f32)]));
    }
    let probe = pdf::probe(data, limits.max_pages)?;
    Ok(Manifest::new(id, kind, probe.title, &probe.sizes))
}
