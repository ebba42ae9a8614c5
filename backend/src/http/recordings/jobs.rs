//! MP4 exports as jobs: one per meeting at a time, run on their own thread (ffmpeg takes
//! minutes for a long meeting; the async workers must not wait on it), one after another
//! across meetings so an export never takes more than the encoder's share of the machine.
//! Finished videos live in a temp folder until a newer export of the same meeting replaces
//! them or the server stops.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex};

use actix_web::HttpResponse;
use serde_json::json;

use crate::conference::meetings::Meeting;
use crate::conference::Conference;
use crate::documents::Documents;
use crate::recording::mp4::{self, Options};
use crate::recording::timeline::Timeline;

#[derive(Debug, Clone)]
pub enum Status {
    /// Waiting for another meeting's export to finish.
    Queued,
    Rendering,
    Ready(PathBuf),
    Failed(String),
}

impl Status {
    fn name(&self) -> &'static str {
        match self {
            Status::Queued => "queued",
            Status::Rendering => "rendering",
            Status::Ready(_) => "ready",
            Status::Failed(_) => "failed",
        }
    }
}

pub struct Job {
    pub id: u64,
    /// Thousandths done.
    progress: AtomicU32,
    status: Mutex<Status>,
}

impl Job {
    pub fn status(&self) -> Status {
        self.status.lock().expect("job lock").clone()
    }

    fn set(&self, status: Status) {
        *self.status.lock().expect("job lock") = status;
    }

    fn progress(&self) -> f32 {
        self.progress.load(Ordering::Relaxed) as f32 / 1000.0
    }
}

/// Process-wide: routes are configured once per HTTP worker, but a job must be found by
/// whichever worker the next poll lands on.
struct Registry {
    jobs: Mutex<HashMap<String, Arc<Job>>>,
    /// Held by the export that is encoding.
    turn: Mutex<()>,
    next: AtomicU64,
    dir: PathBuf,
}

static REGISTRY: LazyLock<Registry> = LazyLock::new(|| Registry {
    jobs: Mutex::new(HashMap::new()),
    turn: Mutex::new(()),
    next: AtomicU64::new(1),
    dir: std::env::temp_dir().join(format!("lectern-exports-{}", std::process::id())),
});

/// The meeting's export: the current one, or a new one when there is none (or `fresh` and the
/// current one is finished).
pub fn start(
    conf: &Arc<Conference>,
    docs: &Arc<Documents>,
    meeting: Meeting,
    fresh: bool,
) -> Arc<Job> {
    let key = meeting.number.as_str().to_string();
    let mut jobs = REGISTRY.jobs.lock().expect("registry lock");
    if let Some(job) = jobs.get(&key) {
        let finished = matches!(job.status(), Status::Ready(_) | Status::Failed(_));
        if !(fresh && finished) {
            return job.clone();
        }
    }
    let job = Arc::new(Job {
        id: REGISTRY.next.fetch_add(1, Ordering::Relaxed),
        progress: AtomicU32::new(0),
        status: Mutex::new(Status::Queued),
    });
    jobs.insert(key, job.clone());
    drop(jobs);
    let (conf, docs, worker) = (conf.clone(), docs.clone(), job.clone());
    std::thread::spawn(move || run(&conf, &docs, &meeting, &worker));
    job
}

/// A failed export is reported once; the next request starts again.
pub fn forget_failed(number: &str, job: &Arc<Job>) {
    let mut jobs = REGISTRY.jobs.lock().expect("registry lock");
    if jobs.get(number).is_some_and(|j| Arc::ptr_eq(j, job)) {
        jobs.remove(number);
    }
}

/// `202 Accepted` with where the export stands.
pub fn accepted(number: &str, job: &Job) -> HttpResponse {
    HttpResponse::Accepted()
        .insert_header(("Retry-After", "1"))
        .json(describe(number, job))
}

/// The job as the API shows it (docs/RECORDINGS.md).
pub fn describe(number: &str, job: &Job) -> serde_json::Value {
    let status = job.status();
    let error = match &status {
        Status::Failed(message) => Some(message.clone()),
        _ => None,
    };
    json!({
        "job": job.id,
        "status": status.name(),
        "progress": job.progress(),
        "error": error,
        "url": format!("/api/meetings/{number}/recording.mp4"),
    })
}

fn run(conf: &Conference, docs: &Arc<Documents>, meeting: &Meeting, job: &Job) {
    let _turn = REGISTRY.turn.lock().unwrap_or_else(|e| e.into_inner());
    job.set(Status::Rendering);
    let name = format!("{}-{}", meeting.number.as_str(), job.id);
    let out = REGISTRY.dir.join(format!("{name}.mp4"));
    let work = REGISTRY.dir.join(format!("{name}.work"));
    let result = (|| -> Result<mp4::Made, String> {
        std::fs::create_dir_all(&work).map_err(|e| e.to_string())?;
        let records = conf
            .meetings
            .archive(&meeting.number)
            .map_err(|e| e.to_string())?;
        let timeline = Timeline::from_records(&records).map_err(|e| e.to_string())?;
        let options = Options::for_duration(timeline.end_ms);
        let load = |id: &str, n: u32| super::page_file(docs, id, n).map(|f| f.bytes);
        let progress = |done: f32| {
            job.progress
                .store((done.clamp(0.0, 1.0) * 1000.0) as u32, Ordering::Relaxed)
        };
        mp4::export(
            &timeline,
            &meeting.title,
            load,
            &out,
            &work,
            &options,
            &progress,
        )
        .map_err(|e| e.to_string())
    })();
    let _ = std::fs::remove_dir_all(&work);
    match result {
        Ok(made) => {
            tracing::info!(
                meeting = meeting.number.as_str(),
                frames = made.frames,
                duration_ms = made.duration_ms,
                "MP4 export ready"
            );
            job.set(Status::Ready(out));
            remove_older(meeting.number.as_str(), job.id);
        }
        Err(message) => {
            tracing::warn!(
                meeting = meeting.number.as_str(),
                "MP4 export failed: {message}"
            );
            let _ = std::fs::remove_file(&out);
            job.set(Status::Failed(message));
        }
    }
}

/// Earlier videos of the meeting: nobody can ask for them any more.
fn remove_older(number: &str, id: u64) {
    let Ok(entries) = std::fs::read_dir(&REGISTRY.dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        let older = name
            .strip_prefix(&format!("{number}-"))
            .and_then(|rest| rest.strip_suffix(".mp4"))
            .and_then(|n| n.parse::<u64>().ok())
            .is_some_and(|n| n < id);
        if older {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}
