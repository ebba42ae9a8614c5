//! The XMPP layer's errors: stream errors (RFC 6120 §4.9) end a stream; stanza errors
//! (RFC 6120 §8.3) bounce one stanza. Both are rendered to XML only in `xml.rs`.

/// A stream-level error condition, with the text we tell the peer where it helps.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StreamErrorKind {
    #[error("bad-format: {0}")]
    BadFormat(String),
    #[error("bad-namespace-prefix")]
    BadNamespacePrefix,
    #[error("conflict: replaced by a new session")]
    Conflict,
    #[error("connection-timeout")]
    ConnectionTimeout,
    #[error("host-unknown: {0}")]
    HostUnknown(String),
    #[error("invalid-namespace")]
    InvalidNamespace,
    #[error("not-authorized")]
    NotAuthorized,
    #[error("not-well-formed: {0}")]
    NotWellFormed(String),
    #[error("policy-violation: {0}")]
    PolicyViolation(String),
    /// The connection's outbound queue overflowed: it stopped reading.
    #[error("policy-violation: outbound queue full")]
    QueueOverflow,
    #[error("restricted-xml: {0}")]
    RestrictedXml(String),
    #[error("system-shutdown")]
    SystemShutdown,
    #[error("unsupported-stanza-type: {0}")]
    UnsupportedStanzaType(String),
    #[error("unsupported-version")]
    UnsupportedVersion,
}

impl StreamErrorKind {
    pub fn condition(&self) -> &'static str {
        use StreamErrorKind::*;
        match self {
            BadFormat(_) => "bad-format",
            BadNamespacePrefix => "bad-namespace-prefix",
            Conflict => "conflict",
            ConnectionTimeout => "connection-timeout",
            HostUnknown(_) => "host-unknown",
            InvalidNamespace => "invalid-namespace",
            NotAuthorized => "not-authorized",
            NotWellFormed(_) => "not-well-formed",
            PolicyViolation(_) | QueueOverflow => "policy-violation",
            RestrictedXml(_) => "restricted-xml",
            SystemShutdown => "system-shutdown",
            UnsupportedStanzaType(_) => "unsupported-stanza-type",
            UnsupportedVersion => "unsupported-version",
        }
    }

    /// Human-readable detail sent in `<text/>`.
    pub fn text(&self) -> Option<String> {
        use StreamErrorKind::*;
        match self {
            BadFormat(t) | NotWellFormed(t) | PolicyViolation(t) | RestrictedXml(t) => {
                Some(t.clone())
            }
            HostUnknown(h) => Some(format!("this server does not serve {h}")),
            UnsupportedStanzaType(t) => Some(format!("unexpected element {t}")),
            Conflict => Some("replaced by a new session for the same resource".into()),
            ConnectionTimeout => Some("no authentication in time".into()),
            QueueOverflow => Some("outbound queue full: the client stopped reading".into()),
            SystemShutdown => Some("the server is shutting down".into()),
            _ => None,
        }
    }
}

/// Stanza error conditions we produce (RFC 6120 §8.3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StanzaErrorKind {
    BadRequest,
    Conflict,
    FeatureNotImplemented,
    Forbidden,
    ItemNotFound,
    JidMalformed,
    NotAcceptable,
    NotAllowed,
    NotAuthorized,
    RegistrationRequired,
    RemoteServerNotFound,
    ServiceUnavailable,
}

impl StanzaErrorKind {
    pub fn condition(self) -> &'static str {
        match self {
            StanzaErrorKind::BadRequest => "bad-request",
            StanzaErrorKind::Conflict => "conflict",
            StanzaErrorKind::FeatureNotImplemented => "feature-not-implemented",
            StanzaErrorKind::Forbidden => "forbidden",
            StanzaErrorKind::ItemNotFound => "item-not-found",
            StanzaErrorKind::JidMalformed => "jid-malformed",
            StanzaErrorKind::NotAcceptable => "not-acceptable",
            StanzaErrorKind::NotAllowed => "not-allowed",
            StanzaErrorKind::NotAuthorized => "not-authorized",
            StanzaErrorKind::RegistrationRequired => "registration-required",
            StanzaErrorKind::RemoteServerNotFound => "remote-server-not-found",
            StanzaErrorKind::ServiceUnavailable => "service-unavailable",
        }
    }

    pub fn error_type(self) -> &'static str {
        use StanzaErrorKind::*;
        match self {
            BadRequest | JidMalformed | NotAcceptable => "modify",
            Forbidden | NotAuthorized | RegistrationRequired => "auth",
            _ => "cancel",
        }
    }
}
