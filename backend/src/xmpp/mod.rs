//! The embedded XMPP server: c2s over TCP and WebSocket, SASL, routing.
//!
//! Nothing here knows about meetings. Payloads the server does not handle are routed
//! untouched, so Lectern's own protocol rides on it exactly as it would on Prosody.

pub mod error;
pub mod muc;
pub mod parser;
pub mod ratelimit;
pub mod router;
pub mod sasl;
pub mod session;
mod stanzas;
pub mod tcp;
pub mod tls;
pub mod websocket;
pub mod xml;

use std::sync::Arc;
use std::time::Duration;

use crate::config::Config;
use crate::store::{AccountStore, RoomStore, StoreError};
use muc::Muc;
use router::Router;
use session::Env;

/// Per-connection limits, from the config.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_stanza_size: usize,
    pub outbound_queue: usize,
    pub auth_timeout: Duration,
    pub keepalive: Duration,
    pub rate_limit: u64,
    pub rate_burst: u64,
}

/// Everything a connection task needs.
pub struct Xmpp {
    pub env: Arc<Env>,
    pub tls: Option<tokio_rustls::TlsAcceptor>,
    pub limits: Limits,
}

impl Xmpp {
    /// Rooms announce the shutdown (332), then every stream ends with `system-shutdown`.
    pub fn shutdown(&self) {
        let env = &self.env;
        env.muc.dispatch(&env.router, env.muc.shutdown());
        env.router.shutdown();
    }

    pub fn new(
        config: &Config,
        accounts: Arc<dyn AccountStore>,
        rooms: Arc<dyn RoomStore>,
        tls: Option<tokio_rustls::TlsAcceptor>,
    ) -> Result<Self, StoreError> {
        let muc = Muc::new(format!("conference.{}", config.domain), rooms)?;
        let env = Env {
            domain: config.domain.clone(),
            guest_domain: config.anonymous.then(|| config.guest_domain()),
            accounts,
            router: Arc::new(Router::default()),
            muc: Arc::new(muc),
            tls_available: tls.is_some(),
            require_tls_on_loopback: config.require_tls_on_loopback,
        };
        Ok(Self {
            env: Arc::new(env),
            tls,
            limits: Limits {
                max_stanza_size: config.max_stanza_size,
                outbound_queue: config.outbound_queue,
                auth_timeout: config.auth_timeout(),
                keepalive: config.keepalive(),
                rate_limit: config.rate_limit,
                rate_burst: config.rate_burst,
            },
        })
    }
}
