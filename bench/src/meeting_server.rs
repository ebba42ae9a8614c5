//! The `lectern` server under test: started on free loopback ports with a temp data dir,
//! stopped with SIGTERM (then SIGKILL).

use std::io::BufRead;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::meeting_net::Res;

pub struct Server {
    child: Child,
    pub pid: u32,
    pub http: SocketAddr,
    pub xmpp: SocketAddr,
    dir: PathBuf,
}

impl Server {
    pub fn start(bin: &PathBuf, tag: &str) -> Res<Server> {
        let dir = std::env::temp_dir().join(format!(
            "lectern-meeting-bench-{}-{tag}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let stderr = std::fs::File::create(dir.join("stderr")).map_err(|e| e.to_string())?;
        let mut child = Command::new(bin)
            .args(["serve", "--http", "127.0.0.1:0", "--xmpp", "127.0.0.1:0"])
            .args(["--domain", "localhost", "--data"])
            .arg(dir.join("data"))
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .map_err(|e| format!("starting {}: {e}", bin.display()))?;
        let pid = child.id();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let _ = tx.send(line);
            }
        });
        let (mut http, mut xmpp) = (None, None);
        let deadline = Instant::now() + Duration::from_secs(30);
        while http.is_none() || xmpp.is_none() {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(l) => {
                    if let Some(a) = l.strip_prefix("http listening on ") {
                        http = a.trim().parse().ok();
                    }
                    if let Some(a) = l.strip_prefix("xmpp listening on ") {
                        xmpp = a.trim().parse().ok();
                    }
                }
                Err(_) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(format!("lectern did not start; see {}", dir.display()));
                }
            }
        }
        Ok(Server {
            child,
            pid,
            http: http.unwrap(),
            xmpp: xmpp.unwrap(),
            dir,
        })
    }

    pub fn stop(mut self) {
        // SIGTERM by pid (our own child), then SIGKILL if it lingers.
        let _ = Command::new("kill").arg(self.pid.to_string()).status();
        for _ in 0..100 {
            if let Ok(Some(_)) = self.child.try_wait() {
                let _ = std::fs::remove_dir_all(&self.dir);
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
