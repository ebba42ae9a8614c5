//! Starting the real `lectern` binary, as described in `docs/TEST-CONTRACT.md`.

use std::fs::{self, File};
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, OnceLock};
use std::time::{Duration, Instant, SystemTime};

/// How long a server may take to print both `listening on` lines.
pub const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

/// The domain every test server is started with.
pub const DOMAIN: &str = "localhost";
/// The anonymous (guest) domain that goes with [`DOMAIN`].
pub const GUEST_DOMAIN: &str = "guest.localhost";

/// The workspace root (the parent of this crate).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// The `lectern` binary under test: `$LECTERN_BIN`, else `<target>/debug/lectern`
/// (with `<target>` from `$CARGO_TARGET_DIR` or `<workspace>/target`).
///
/// Cargo does not build another package's binary for this crate's tests, so run
/// `cargo build --bin lectern` first. A warning is printed when the binary is
/// older than the backend sources.
pub fn lectern_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let bin = match std::env::var_os("LECTERN_BIN") {
            Some(p) => PathBuf::from(p),
            None => std::env::var_os("CARGO_TARGET_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| workspace_root().join("target"))
                .join("debug")
                .join("lectern"),
        };
        assert!(
            bin.is_file(),
            "lectern binary not found at {} — run `cargo build --bin lectern` first \
             (or set LECTERN_BIN)",
            bin.display()
        );
        warn_if_stale(&bin);
        bin
    })
}

fn warn_if_stale(bin: &Path) {
    let Ok(built) = fs::metadata(bin).and_then(|m| m.modified()) else {
        return;
    };
    let newest = newest_mtime(&workspace_root().join("backend").join("src"));
    if newest.is_some_and(|src| src > built) {
        eprintln!(
            "warning: {} is older than backend/src — run `cargo build --bin lectern`",
            bin.display()
        );
    }
}

fn newest_mtime(dir: &Path) -> Option<SystemTime> {
    let mut newest = None;
    for entry in fs::read_dir(dir).ok()?.flatten() {
        let path = entry.path();
        let t = if path.is_dir() {
            newest_mtime(&path)
        } else {
            entry.metadata().and_then(|m| m.modified()).ok()
        };
        newest = newest.max(t);
    }
    newest
}

/// A `Command` for the binary under test with `args`, stdin closed, output captured.
pub fn lectern_command<I, S>(args: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let mut cmd = Command::new(lectern_bin());
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// Run the binary with `args` and collect its output (stdin is empty).
pub fn lectern<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    lectern_command(args)
        .output()
        .expect("failed to run the lectern binary")
}

/// Run the binary with `args`, writing `stdin` to its standard input.
pub fn lectern_with_stdin<I, S>(args: I, stdin: &str) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let mut child = lectern_command(args)
        .stdin(Stdio::piped())
        .spawn()
        .expect("failed to run the lectern binary");
    let mut pipe = child.stdin.take().expect("stdin is piped");
    // The command may exit without reading; a broken pipe is its business.
    let _ = pipe.write_all(stdin.as_bytes());
    drop(pipe);
    child
        .wait_with_output()
        .expect("failed to wait for lectern")
}

/// `lectern user add JID --password PASSWORD --data DIR`.
pub fn user_add(data: &Path, jid: &str, password: &str) -> Output {
    lectern([
        "user".as_ref(),
        "add".as_ref(),
        jid.as_ref(),
        "--password".as_ref(),
        password.as_ref(),
        "--data".as_ref(),
        data.as_os_str(),
    ])
}

/// `lectern user del JID --data DIR`.
pub fn user_del(data: &Path, jid: &str) -> Output {
    lectern([
        "user".as_ref(),
        "del".as_ref(),
        jid.as_ref(),
        "--data".as_ref(),
        data.as_os_str(),
    ])
}

/// Describe a finished command for assertion messages.
pub fn describe(out: &Output) -> String {
    format!(
        "status: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Panic unless `out` succeeded.
pub fn assert_success(what: &str, out: &Output) {
    assert!(out.status.success(), "{what} failed\n{}", describe(out));
}

/// A fresh directory under the system temp dir, removed on drop (kept, and its path
/// printed, if the thread is panicking).
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    /// Create a new, empty, uniquely named directory.
    pub fn new(label: &str) -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        // Short: the admin socket lives inside and Unix socket paths are limited.
        let path =
            std::env::temp_dir().join(format!("lt-{label}-{}-{n}-{nanos:x}", std::process::id()));
        fs::create_dir_all(&path).expect("create temp dir");
        TempDir(path)
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("(kept test directory {})", self.0.display());
        } else {
            let _ = fs::remove_dir_all(&self.0);
        }
    }
}

/// Options for starting a server; see [`Server::builder`].
#[derive(Debug, Default)]
pub struct ServerBuilder {
    args: Vec<String>,
    users: Vec<(String, String)>,
    data: Option<PathBuf>,
}

impl ServerBuilder {
    /// Add one extra command-line argument to `lectern serve`.
    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// Create the account `local@localhost` with `lectern user add` before the
    /// server starts (the offline path; `Server::add_user` uses the online one).
    pub fn user(mut self, local: &str, password: &str) -> Self {
        self.users.push((local.to_owned(), password.to_owned()));
        self
    }

    /// Use an existing data directory (owned by the test, not removed with the
    /// server) instead of a fresh one.
    pub fn data_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.data = Some(dir.into());
        self
    }

    /// Start the server and wait until it prints both listening addresses.
    pub fn start(self) -> Server {
        let dir = TempDir::new("srv");
        let data = self.data.unwrap_or_else(|| dir.path().join("data"));
        fs::create_dir_all(&data).expect("create data dir");
        for (local, password) in &self.users {
            let out = user_add(&data, &format!("{local}@{DOMAIN}"), password);
            assert_success(
                &format!("`lectern user add {local}@{DOMAIN}` (offline)"),
                &out,
            );
        }

        let stderr_path = dir.path().join("stderr.log");
        let stderr = File::create(&stderr_path).expect("create stderr log");
        let mut cmd = Command::new(lectern_bin());
        cmd.arg("serve")
            .args(["--http", "127.0.0.1:0", "--xmpp", "127.0.0.1:0"])
            .args(["--domain", DOMAIN, "--data"])
            .arg(&data)
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr));
        if std::env::var_os("RUST_LOG").is_none() {
            cmd.env("RUST_LOG", "info");
        }
        // A resident LibreOffice per test server would cost every suite seconds of CPU; the
        // tests that convert office documents pass `--office-workers`, which wins over this.
        cmd.env("LECTERN_OFFICE_WORKERS", "0");
        let mut child = cmd.spawn().expect("failed to spawn lectern serve");

        // A thread keeps draining stdout for the whole life of the server so it
        // never blocks on a full pipe; the first lines come to us over a channel.
        let stdout = child.stdout.take().expect("stdout is piped");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let _ = tx.send(line);
            }
        });

        let mut server = Server {
            child,
            http: None,
            xmpp: None,
            data,
            stderr_path,
            args: self.args,
            _dir: dir,
        };
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        let mut seen = Vec::new();
        while server.http.is_none() || server.xmpp.is_none() {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    if let Some(a) = line.strip_prefix("http listening on ") {
                        server.http = Some(a.trim().parse().expect("http address"));
                    } else if let Some(a) = line.strip_prefix("xmpp listening on ") {
                        server.xmpp = Some(a.trim().parse().expect("xmpp address"));
                    }
                    seen.push(line);
                }
                Err(e) => {
                    let status = server.child.try_wait().ok().flatten();
                    panic!(
                        "lectern serve did not print both `listening on` lines ({e:?}; exit \
                         status {status:?}; its stderr follows)\n--- stdout so far ---\n{}",
                        seen.join("\n"),
                    );
                }
            }
        }
        server
    }
}

/// A running `lectern serve` on port 0 with its own data directory. Killed on drop;
/// its stderr is printed if the test is failing.
#[derive(Debug)]
pub struct Server {
    child: Child,
    http: Option<SocketAddr>,
    xmpp: Option<SocketAddr>,
    data: PathBuf,
    stderr_path: PathBuf,
    args: Vec<String>,
    _dir: TempDir,
}

impl Server {
    /// Options for starting a server.
    pub fn builder() -> ServerBuilder {
        ServerBuilder::default()
    }

    /// Start a server with default options.
    pub fn start() -> Server {
        Self::builder().start()
    }

    /// The c2s address (`xmpp listening on`).
    pub fn xmpp_addr(&self) -> SocketAddr {
        self.xmpp.expect("started")
    }

    /// The HTTP address (`http listening on`).
    pub fn http_addr(&self) -> SocketAddr {
        self.http.expect("started")
    }

    /// The `--data` directory.
    pub fn data_dir(&self) -> &Path {
        &self.data
    }

    /// Everything the server wrote to stderr so far.
    pub fn stderr(&self) -> String {
        fs::read(&self.stderr_path)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Stop the server gracefully (SIGTERM, as an operator or service manager would) and
    /// wait for it to exit, killing it if it takes longer than [`STARTUP_TIMEOUT`].
    /// Returns whether it exited by itself.
    pub fn stop(&mut self) -> bool {
        if !self.is_running() {
            return true;
        }
        let pid = self.child.id().to_string();
        let out = Command::new("kill").args(["-TERM", &pid]).output();
        assert!(
            out.as_ref().is_ok_and(|o| o.status.success()),
            "kill -TERM {pid} failed: {out:?}"
        );
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        while Instant::now() < deadline {
            if !self.is_running() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        false
    }

    /// Kill the server with SIGKILL, as a crash or an out-of-memory killer would, and reap it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// `lectern user add local@localhost` against this server's data directory
    /// while it runs (goes through the admin socket); panics on failure.
    pub fn add_user(&self, local: &str, password: &str) {
        let out = user_add(&self.data, &format!("{local}@{DOMAIN}"), password);
        assert_success(
            &format!("`lectern user add {local}@{DOMAIN}` (online)"),
            &out,
        );
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            let stderr = self.stderr();
            let lines: Vec<&str> = stderr.lines().collect();
            let tail = &lines[lines.len().saturating_sub(300)..];
            eprintln!(
                "--- lectern serve {:?} stderr (last {} of {} lines) ---\n{}\n--- end of stderr ---",
                self.args,
                tail.len(),
                lines.len(),
                tail.join("\n")
            );
        }
    }
}
