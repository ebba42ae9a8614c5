//! `lectern serve`: wire the store, TLS, XMPP listeners and HTTP server together.

use std::io::Write;
use std::sync::Arc;

use crate::conference::tickets::TokenAccounts;
use crate::conference::{Conference, ConferenceError};
use crate::config::Config;
use crate::documents::office::Office;
use crate::documents::{Documents, Limits};
use crate::store::{AccountStore, MeetingStore, SledStore, StoreError};
use crate::xmpp::{tcp, tls, Xmpp};
use crate::{admin, http};

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot create the data directory {path}: {source}")]
    DataDir {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("{0} (is another `lectern serve` running on it?)")]
    Store(#[from] StoreError),
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Conference(#[from] ConferenceError),
    #[error("server failed: {0}")]
    Runtime(std::io::Error),
}

/// Runs the server until SIGINT/SIGTERM.
pub fn run(config: Config) -> Result<(), ServeError> {
    std::fs::create_dir_all(&config.data).map_err(|source| ServeError::DataDir {
        path: config.data.clone(),
        source,
    })?;
    let store = Arc::new(SledStore::open(&config.data)?);
    let office = Office::start(&config);
    let docs =
        Documents::open(&config.data, Limits::from_config(&config), office).map_err(|source| {
            ServeError::DataDir {
                path: config.data.join("documents"),
                source,
            }
        })?;
    let meeting_store: Arc<dyn MeetingStore> = store.clone();
    let tokens = Arc::new(TokenAccounts::new(store.clone()));
    let accounts: Arc<dyn AccountStore> = tokens.clone();
    let names = vec![config.domain.clone(), config.guest_domain()];
    let configured = config.tls_cert.as_deref().zip(config.tls_key.as_deref());
    let acceptor = tls::acceptor(configured, &config.data, &names)?;
    let xmpp = Arc::new(Xmpp::new(
        &config,
        accounts.clone(),
        store.clone(),
        Some(acceptor),
    )?);

    let http_listener =
        std::net::TcpListener::bind(config.http).map_err(|source| ServeError::Listen {
            addr: config.http,
            source,
        })?;
    let xmpp_listener =
        std::net::TcpListener::bind(config.xmpp).map_err(|source| ServeError::Listen {
            addr: config.xmpp,
            source,
        })?;
    xmpp_listener
        .set_nonblocking(true)
        .map_err(ServeError::Runtime)?;
    let http_addr = http_listener.local_addr().map_err(ServeError::Runtime)?;
    let xmpp_addr = xmpp_listener.local_addr().map_err(ServeError::Runtime)?;

    let system = actix_web::rt::System::with_tokio_rt(|| {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .expect("tokio runtime")
    });
    let data = config.data.clone();
    system.block_on(async move {
        let listener =
            tokio::net::TcpListener::from_std(xmpp_listener).map_err(ServeError::Runtime)?;
        tokio::spawn(tcp::serve(listener, xmpp.clone()));
        tokio::spawn(admin::serve(
            admin::socket_path(&config.data),
            accounts,
            config.domain.clone(),
        ));
        let docs = Arc::new(docs);
        let conference = Arc::new(Conference::start(
            &config,
            meeting_store,
            Some(tokens),
            Some(xmpp.clone()),
            docs.clone(),
        )?);
        let server = http::server(http_listener, xmpp.clone(), xmpp_addr, docs, conference)
            .map_err(ServeError::Runtime)?;
        let handle = server.handle();
        {
            // Tests and scripts read these two lines to find the ports.
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "http listening on {http_addr}");
            let _ = writeln!(out, "xmpp listening on {xmpp_addr}");
            let _ = writeln!(out, "Lectern is running: open http://{http_addr}/");
            let _ = out.flush();
        }
        tracing::info!(domain = %config.domain, "ready");
        tokio::spawn(async move {
            shutdown_signal().await;
            tracing::info!("shutting down");
            xmpp.shutdown();
            // Give connections a moment to write their goodbyes.
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            handle.stop(true).await;
        });
        server.await.map_err(ServeError::Runtime)
    })?;
    let _ = std::fs::remove_file(admin::socket_path(&data));
    store.flush()?;
    Ok(())
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
