//! Office documents → PDF with LibreOffice kept resident.
//!
//! Starting LibreOffice costs about a second per process, so a small pool of unoserver
//! listeners (config `office_workers`) is started with the server and reused. Each has its own
//! profile directory (two LibreOffices sharing one fail silently), an address-space limit, a
//! per-conversion timeout after which it is killed and replaced, and, where the kernel allows
//! (`unshare --net`, i.e. CAP_SYS_ADMIN), an empty network namespace. Lectern speaks XML-RPC
//! to the listeners itself: calling `unoconvert` would add a Python start-up (~0.2 s) to
//! every conversion.

mod listener;
mod xmlrpc;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use listener::{CallError, Listener};

use super::{which, DocError};
use crate::config::Config;

/// Where `tests/documents/setup.sh` (and the docs) put the unoserver venv.
pub const DEFAULT_VENV_BIN: &str = "/opt/lectern-unoserver/bin/unoserver";
/// How long a freshly started listener may take before it accepts a call.
const STARTUP_BUDGET: Duration = Duration::from_secs(60);

/// What every listener is started with.
pub struct Setup {
    pub unoserver: PathBuf,
    pub work: PathBuf,
    pub isolate: bool,
    /// Bytes of address space per process.
    pub memory_limit: u64,
    pub timeout: Duration,
}

pub struct Office {
    state: State,
}

enum State {
    /// Why office documents cannot be converted (shown to the uploader).
    Unavailable(String),
    Pool(Pool),
}

struct Pool {
    setup: Setup,
    idle: Mutex<Vec<Worker>>,
    freed: Condvar,
}

struct Worker {
    index: usize,
    listener: Option<Listener>,
}

impl Office {
    /// Finds unoserver and LibreOffice and starts `office_workers` listeners in the
    /// background; when something is missing, office uploads get a message naming it.
    pub fn start(config: &Config) -> Self {
        if config.office_workers == 0 {
            return Self::unavailable("office conversion is turned off on this server");
        }
        let setup = match find(config) {
            Ok(s) => s,
            Err(why) => {
                tracing::warn!("office documents cannot be converted: {why}");
                return Self::unavailable(&why);
            }
        };
        if !setup.isolate {
            tracing::warn!(
                "office converters run without a network namespace (`unshare --net` needs \
                 CAP_SYS_ADMIN); remote links are still refused by their profile settings"
            );
        }
        let mut idle = Vec::new();
        for index in 0..config.office_workers {
            let listener = Listener::spawn(&setup, index)
                .map_err(|e| tracing::error!("cannot start office converter {index}: {e}"))
                .ok();
            idle.push(Worker { index, listener });
        }
        tracing::info!(
            workers = config.office_workers,
            isolated = setup.isolate,
            "office converters starting ({})",
            setup.unoserver.display()
        );
        Self {
            state: State::Pool(Pool {
                setup,
                idle: Mutex::new(idle),
                freed: Condvar::new(),
            }),
        }
    }

    pub fn unavailable(why: &str) -> Self {
        Self {
            state: State::Unavailable(why.into()),
        }
    }

    /// Ok when office documents can be converted; else the reason, for the uploader.
    pub fn available(&self) -> Result<(), DocError> {
        match &self.state {
            State::Unavailable(why) => Err(DocError::OfficeUnavailable(why.clone())),
            State::Pool(_) => Ok(()),
        }
    }

    /// Converts `input` to the PDF `output` (blocking; seconds). Waits for a free converter
    /// at most one conversion timeout.
    pub fn convert(&self, input: &Path, output: &Path) -> Result<(), DocError> {
        let pool = match &self.state {
            State::Unavailable(why) => return Err(DocError::OfficeUnavailable(why.clone())),
            State::Pool(p) => p,
        };
        let mut worker = pool.take()?;
        let result = pool.run(&mut worker, input, output);
        pool.give_back(worker);
        result
    }
}

impl Pool {
    fn take(&self) -> Result<Worker, DocError> {
        let idle = self.idle.lock().expect("office pool lock");
        let (mut idle, wait) = self
            .freed
            .wait_timeout_while(idle, self.setup.timeout, |idle| idle.is_empty())
            .expect("office pool lock");
        if wait.timed_out() && idle.is_empty() {
            return Err(DocError::OfficeBusy);
        }
        Ok(idle.pop().expect("not empty"))
    }

    fn give_back(&self, worker: Worker) {
        self.idle.lock().expect("office pool lock").push(worker);
        self.freed.notify_one();
    }

    fn run(&self, worker: &mut Worker, input: &Path, output: &Path) -> Result<(), DocError> {
        let mut listener = match worker.listener.take() {
            Some(mut l) => {
                if l.is_alive() {
                    l
                } else {
                    drop(l);
                    Listener::spawn(&self.setup, worker.index)?
                }
            }
            None => Listener::spawn(&self.setup, worker.index)?,
        };
        let ready_by = listener.started + STARTUP_BUDGET;
        let started = Instant::now();
        let result = listener.convert(input, output, ready_by, self.setup.timeout);
        let ms = started.elapsed().as_millis() as u64;
        match result {
            Ok(()) if output.is_file() => {
                tracing::info!(worker = worker.index, ms, "office document converted");
                worker.listener = Some(listener);
                Ok(())
            }
            Ok(()) => {
                worker.listener = Some(listener);
                Err(DocError::OfficeFailed("LibreOffice wrote no PDF".into()))
            }
            Err(CallError::Fault(why)) => {
                tracing::warn!(worker = worker.index, "office conversion failed: {why}");
                worker.listener = Some(listener);
                Err(DocError::OfficeFailed(why))
            }
            Err(e) => {
                tracing::warn!(
                    worker = worker.index,
                    ms,
                    "office converter replaced: {e:?}"
                );
                // A converter that timed out or vanished is killed (dropping it ends its
                // process group) and a fresh one starts warming up at once.
                drop(listener);
                worker.listener = Listener::spawn(&self.setup, worker.index).ok();
                Err(match e {
                    CallError::Timeout => DocError::OfficeTimeout {
                        secs: self.setup.timeout.as_secs(),
                    },
                    CallError::Unreachable(why) | CallError::Fault(why) => DocError::OfficeFailed(
                        format!("LibreOffice stopped while converting the document ({why})"),
                    ),
                })
            }
        }
    }
}

const INSTALL_HINT: &str = "install the Debian packages libreoffice-impress \
    libreoffice-writer libreoffice-calc python3-uno, and unoserver from PyPI in a venv made \
    with `/usr/bin/python3 -m venv --system-site-packages /opt/lectern-unoserver`";

/// Locates everything a listener needs, or says what is missing.
fn find(config: &Config) -> Result<Setup, String> {
    let unoserver = match &config.unoserver {
        Some(p) if p.is_file() => p.clone(),
        Some(p) => {
            return Err(format!(
                "unoserver not found at {}: {INSTALL_HINT}",
                p.display()
            ))
        }
        None => which("unoserver")
            .or_else(|| Some(PathBuf::from(DEFAULT_VENV_BIN)).filter(|p| p.is_file()))
            .ok_or_else(|| format!("unoserver is not installed: {INSTALL_HINT}"))?,
    };
    if which("soffice").is_none() {
        return Err(format!(
            "LibreOffice (soffice) is not installed: {INSTALL_HINT}"
        ));
    }
    if which("prlimit").is_none() {
        return Err("prlimit (Debian util-linux) is not installed".into());
    }
    // unoserver imports LibreOffice's Python bridge at start-up: without python3-uno (or a
    // venv that cannot see it) `--version` fails.
    let runs = Command::new(&unoserver)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !runs {
        return Err(format!(
            "{} does not run (python3-uno missing, or its venv lacks \
             --system-site-packages): {INSTALL_HINT}",
            unoserver.display()
        ));
    }
    let isolate = Command::new("unshare")
        .args(["--net", "true"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    Ok(Setup {
        unoserver,
        // unoserver turns the profile path into a file: URL, which must be absolute.
        work: std::path::absolute(config.data.join("office"))
            .unwrap_or_else(|_| config.data.join("office")),
        isolate,
        memory_limit: config.office_memory_limit.saturating_mul(1 << 20),
        timeout: Duration::from_secs(config.office_timeout),
    })
}
