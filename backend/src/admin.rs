//! The admin socket: lets `lectern user …` work while a server holds the data directory
//! (sled allows one process per database). A Unix socket in the data directory, mode 0600,
//! one JSON request and one JSON reply per connection.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};

use crate::accounts;
use crate::store::AccountStore;

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    UserAdd { jid: String, password: String },
    UserDel { jid: String },
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Reply {
    pub ok: bool,
    pub message: String,
}

pub fn socket_path(data: &Path) -> PathBuf {
    data.join("admin.sock")
}

/// Carries out a request against the store.
pub fn apply(req: Request, store: &dyn AccountStore, domain: &str) -> Reply {
    let result = match req {
        Request::UserAdd { jid, password } => {
            accounts::add(store, domain, &jid, &password).map(|j| format!("added {j}"))
        }
        Request::UserDel { jid } => {
            accounts::delete(store, domain, &jid).map(|j| format!("deleted {j}"))
        }
    };
    match result {
        Ok(message) => Reply { ok: true, message },
        Err(e) => Reply {
            ok: false,
            message: e.to_string(),
        },
    }
}

/// Serves the socket until the process ends.
pub async fn serve(path: PathBuf, store: Arc<dyn AccountStore>, domain: String) {
    // We hold the database lock, so a leftover socket file is stale.
    let _ = std::fs::remove_file(&path);
    let listener = match tokio::net::UnixListener::bind(&path) {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!("admin socket {} unavailable: {e}", path.display());
            return;
        }
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600));
    }
    while let Ok((stream, _)) = listener.accept().await {
        let store = store.clone();
        let domain = domain.clone();
        tokio::spawn(async move {
            let (read, mut write) = stream.into_split();
            let mut line = String::new();
            let mut reader = tokio::io::BufReader::new(read.take(64 * 1024));
            if reader.read_line(&mut line).await.is_err() {
                return;
            }
            let reply = match serde_json::from_str::<Request>(&line) {
                Ok(req) => {
                    let store = store.clone();
                    tokio::task::spawn_blocking(move || apply(req, store.as_ref(), &domain))
                        .await
                        .unwrap_or(Reply {
                            ok: false,
                            message: "internal error".into(),
                        })
                }
                Err(e) => Reply {
                    ok: false,
                    message: format!("bad request: {e}"),
                },
            };
            let mut text = serde_json::to_string(&reply).expect("reply serialises");
            text.push('\n');
            let _ = write.write_all(text.as_bytes()).await;
        });
    }
}

/// Sends one request to a running server.
pub fn call(path: &Path, req: &Request) -> std::io::Result<Reply> {
    let mut stream = std::os::unix::net::UnixStream::connect(path)?;
    let mut text = serde_json::to_string(req).expect("request serialises");
    text.push('\n');
    stream.write_all(text.as_bytes())?;
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line)?;
    serde_json::from_str(&line).map_err(std::io::Error::other)
}
