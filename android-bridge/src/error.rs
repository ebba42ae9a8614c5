//! The engine's one error type; it crosses the FFI boundary as a flat error with a message.

use std::io;

/// Why the engine could not do what was asked.
#[derive(Debug, thiserror::Error, uniffi::Error)]
#[uniffi(flat_error)]
pub enum BridgeError {
    /// The configuration cannot work (bad URL, address, pin, meeting number).
    #[error("configuration: {0}")]
    Config(String),
    /// The HTTP API answered with an error or could not be reached.
    #[error("http: {0}")]
    Http(String),
    /// The server refused the join (unknown meeting, bad key, ...).
    #[error("join refused: {0}")]
    Join(String),
    /// TLS could not be set up or the certificate did not match.
    #[error("tls: {0}")]
    Tls(String),
    /// The XMPP session failed.
    #[error("xmpp: {0}")]
    Xmpp(String),
    /// A downloaded page or package does not match its hash, or is malformed.
    #[error("integrity: {0}")]
    Integrity(String),
    /// The local disk cache failed.
    #[error("cache: {0}")]
    Io(#[from] io::Error),
    /// The engine has been closed.
    #[error("the attendee engine is closed")]
    Closed,
}

impl BridgeError {
    pub(crate) fn http(e: impl std::fmt::Display) -> Self {
        BridgeError::Http(e.to_string())
    }
}
