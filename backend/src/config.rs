//! The one configuration struct. Every field has a documented default; the command line, the
//! `LECTERN_*` environment and a TOML file all fill the same struct (flags win over the
//! environment, which wins over the file, which wins over the defaults).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use serde::{Deserialize, Serialize};

/// Server settings. What each field means, and its default, is in [`FIELDS`], which the
/// example configuration is generated from.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub http: SocketAddr,
    pub xmpp: SocketAddr,
    pub domain: String,
    pub data: PathBuf,
    pub anonymous: bool,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub require_tls_on_loopback: bool,
    pub max_stanza_size: usize,
    pub outbound_queue: usize,
    pub auth_timeout: u64,
    pub keepalive: u64,
    pub rate_limit: u64,
    pub rate_burst: u64,
    pub max_upload_size: u64,
    pub max_pages: usize,
    pub page_timeout: u64,
    pub render_workers: usize,
    pub lan_networks: Vec<String>,
    pub external_xmpp: Option<String>,
    pub external_domain: Option<String>,
    pub external_muc_domain: Option<String>,
    pub external_guest_domain: Option<String>,
    pub external_websocket: Option<String>,
    pub focus_password: Option<String>,
    pub document_timeout: u64,
    pub office_workers: usize,
    pub office_timeout: u64,
    pub office_memory_limit: u64,
    pub unoserver: Option<PathBuf>,
}

/// Every configuration key with its meaning; the example config is generated from this.
pub const FIELDS: &[(&str, &str)] = &[
    (
        "http",
        "HTTP listen address: status page and XMPP over WebSocket at /xmpp-websocket.",
    ),
    (
        "xmpp",
        "XMPP client-to-server listen address (TCP, STARTTLS).",
    ),
    (
        "domain",
        "XMPP domain served; guests log in anonymously on guest.<domain>.",
    ),
    (
        "data",
        "Data directory: sled database, generated TLS certificate, admin socket.",
    ),
    (
        "anonymous",
        "Allow SASL ANONYMOUS logins on guest.<domain>.",
    ),
    (
        "tls_cert",
        "PEM certificate chain for STARTTLS; unset: self-signed, made in <data>/tls/.",
    ),
    ("tls_key", "PEM private key matching tls_cert."),
    (
        "require_tls_on_loopback",
        "Require STARTTLS on loopback too (clients from other hosts always need it).",
    ),
    (
        "max_stanza_size",
        "Largest stanza in bytes; a larger one ends the stream with policy-violation.",
    ),
    (
        "outbound_queue",
        "Stanzas queued for one connection before it counts as not reading and is dropped.",
    ),
    (
        "auth_timeout",
        "Seconds a new connection has to authenticate.",
    ),
    (
        "keepalive",
        "Seconds of outbound silence before a whitespace keep-alive is sent.",
    ),
    (
        "rate_limit",
        "Sustained inbound bytes/s per connection; above it reading slows down (a presenter's \
         voice is about 10 kB/s, see docs/EXTERNAL-SERVERS.md).",
    ),
    (
        "rate_burst",
        "Inbound burst allowance in bytes before rate_limit applies.",
    ),
    (
        "max_upload_size",
        "Largest document upload in bytes; a larger one is refused with 413 and nothing is kept.",
    ),
    (
        "max_pages",
        "Most pages a document may have; more is refused with 422.",
    ),
    (
        "page_timeout",
        "Seconds one page may take to render before it is shown as a \"could not be rendered\" \
         placeholder.",
    ),
    (
        "render_workers",
        "Threads rendering one document's pages; 0 means one per CPU core.",
    ),
    (
        "lan_networks",
        "Networks (CIDR, e.g. \"10.1.0.0/16\") that count as the presenter's LAN: attendees in \
         the presenter's network get whole documents pre-distributed. Empty: the presenter's \
         own private /24 (IPv4) or /64 (IPv6), loopback included.",
    ),
    (
        "external_xmpp",
        "host:port of an external XMPP server (Prosody, ejabberd) for meetings; unset: the \
         embedded server. The focus logs in there as focus@<external_domain>.",
    ),
    (
        "external_domain",
        "The external server's XMPP domain (with external_xmpp).",
    ),
    (
        "external_muc_domain",
        "The external server's MUC service; default conference.<external_domain>.",
    ),
    (
        "external_guest_domain",
        "The external server's anonymous-login domain for browsers; default \
         guest.<external_domain>.",
    ),
    (
        "external_websocket",
        "The external server's XMPP-over-WebSocket URL that browsers connect to.",
    ),
    (
        "focus_password",
        "The focus account's password on the external server.",
    ),
    (
        "document_timeout",
        "Seconds a whole document may take to render; pages not done by then become \
         placeholders.",
    ),
    (
        "office_workers",
        "Resident LibreOffice converters (unoserver listeners) for office documents; 0 turns \
         office conversion off. Each holds ~200 MB while idle.",
    ),
    (
        "office_timeout",
        "Seconds one office document may take to convert to PDF before its converter is \
         killed and restarted and the upload is refused with 422.",
    ),
    (
        "office_memory_limit",
        "Address-space limit in MiB for each converter process (RLIMIT_AS on unoserver and \
         LibreOffice).",
    ),
    (
        "unoserver",
        "Path of the unoserver executable (PyPI unoserver in a venv made with \
         --system-site-packages, beside Debian's python3-uno); unset: found on PATH or at \
         /opt/lectern-unoserver/bin/unoserver.",
    ),
];

impl Default for Config {
    fn default() -> Self {
        Self {
            http: SocketAddr::from(([127, 0, 0, 1], 8080)),
            xmpp: SocketAddr::from(([127, 0, 0, 1], 5222)),
            domain: "localhost".into(),
            data: PathBuf::from("./data"),
            anonymous: true,
            tls_cert: None,
            tls_key: None,
            require_tls_on_loopback: false,
            max_stanza_size: 256 * 1024,
            outbound_queue: 4096,
            auth_timeout: 30,
            keepalive: 60,
            rate_limit: 1024 * 1024,
            rate_burst: 4 * 1024 * 1024,
            max_upload_size: 200 * 1000 * 1000,
            max_pages: 1000,
            page_timeout: 30,
            render_workers: 0,
            lan_networks: Vec::new(),
            external_xmpp: None,
            external_domain: None,
            external_muc_domain: None,
            external_guest_domain: None,
            external_websocket: None,
            focus_password: None,
            document_timeout: 600,
            office_workers: 1,
            office_timeout: 120,
            office_memory_limit: 3072,
            unoserver: None,
        }
    }
}

/// Command-line overrides; each also reads a `LECTERN_*` environment variable.
#[derive(Debug, Clone, Default, Args)]
pub struct Overrides {
    /// TOML configuration file (keys as in `lectern config example`).
    #[arg(long, env = "LECTERN_CONFIG")]
    pub config: Option<PathBuf>,
    /// HTTP listen address [default: 127.0.0.1:8080]
    #[arg(long, env = "LECTERN_HTTP")]
    pub http: Option<SocketAddr>,
    /// XMPP c2s listen address [default: 127.0.0.1:5222]
    #[arg(long, env = "LECTERN_XMPP")]
    pub xmpp: Option<SocketAddr>,
    /// XMPP domain [default: localhost]
    #[arg(long, env = "LECTERN_DOMAIN")]
    pub domain: Option<String>,
    /// Data directory [default: ./data]
    #[arg(long, env = "LECTERN_DATA")]
    pub data: Option<PathBuf>,
    /// Turn off anonymous guest logins on guest.<domain>
    #[arg(long, env = "LECTERN_NO_ANONYMOUS")]
    pub no_anonymous: bool,
    /// PEM certificate chain [default: self-signed, generated into <data>/tls]
    #[arg(long, env = "LECTERN_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for --tls-cert
    #[arg(long, env = "LECTERN_TLS_KEY")]
    pub tls_key: Option<PathBuf>,
    /// Largest stanza in bytes [default: 262144]
    #[arg(long, env = "LECTERN_MAX_STANZA_SIZE")]
    pub max_stanza_size: Option<usize>,
    /// Stanzas queued per connection before it is dropped as not reading [default: 4096]
    #[arg(long, env = "LECTERN_OUTBOUND_QUEUE")]
    pub outbound_queue: Option<usize>,
    /// Seconds allowed to authenticate [default: 30]
    #[arg(long, env = "LECTERN_AUTH_TIMEOUT")]
    pub auth_timeout: Option<u64>,
    /// Seconds between whitespace keep-alives [default: 60]
    #[arg(long, env = "LECTERN_KEEPALIVE")]
    pub keepalive: Option<u64>,
    /// Largest document upload in bytes [default: 200000000]
    #[arg(long, env = "LECTERN_MAX_UPLOAD_SIZE")]
    pub max_upload_size: Option<u64>,
    /// Most pages per document [default: 1000]
    #[arg(long, env = "LECTERN_MAX_PAGES")]
    pub max_pages: Option<usize>,
    /// Seconds one page may take to render [default: 30]
    #[arg(long, env = "LECTERN_PAGE_TIMEOUT")]
    pub page_timeout: Option<u64>,
    /// Seconds a whole document may take to render [default: 600]
    #[arg(long, env = "LECTERN_DOCUMENT_TIMEOUT")]
    pub document_timeout: Option<u64>,
    /// Resident LibreOffice converters; 0 turns office conversion off [default: 1]
    #[arg(long, env = "LECTERN_OFFICE_WORKERS")]
    pub office_workers: Option<usize>,
    /// Seconds one office conversion may take [default: 120]
    #[arg(long, env = "LECTERN_OFFICE_TIMEOUT")]
    pub office_timeout: Option<u64>,
    /// The unoserver executable [default: on PATH or /opt/lectern-unoserver/bin/unoserver]
    #[arg(long, env = "LECTERN_UNOSERVER")]
    pub unoserver: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid config file {path}: {source}")]
    Parse {
        path: PathBuf,
        source: toml::de::Error,
    },
    #[error("invalid setting: {0}")]
    Invalid(String),
}

/// A flag or variable that was given replaces the value from the file or the default.
fn set<T: Clone>(slot: &mut T, given: &Option<T>) {
    if let Some(v) = given {
        *slot = v.clone();
    }
}

impl Config {
    /// Defaults, then the TOML file (if any), then flags and environment.
    pub fn load(o: &Overrides) -> Result<Self, ConfigError> {
        let mut c = match &o.config {
            Some(path) => Self::from_file(path)?,
            None => Self::default(),
        };
        set(&mut c.http, &o.http);
        set(&mut c.xmpp, &o.xmpp);
        set(&mut c.domain, &o.domain);
        set(&mut c.data, &o.data);
        c.anonymous &= !o.no_anonymous;
        if o.tls_cert.is_some() {
            c.tls_cert.clone_from(&o.tls_cert);
        }
        if o.tls_key.is_some() {
            c.tls_key.clone_from(&o.tls_key);
        }
        set(&mut c.max_stanza_size, &o.max_stanza_size);
        set(&mut c.outbound_queue, &o.outbound_queue);
        set(&mut c.auth_timeout, &o.auth_timeout);
        set(&mut c.keepalive, &o.keepalive);
        set(&mut c.max_upload_size, &o.max_upload_size);
        set(&mut c.max_pages, &o.max_pages);
        set(&mut c.page_timeout, &o.page_timeout);
        set(&mut c.document_timeout, &o.document_timeout);
        set(&mut c.office_workers, &o.office_workers);
        set(&mut c.office_timeout, &o.office_timeout);
        if o.unoserver.is_some() {
            c.unoserver.clone_from(&o.unoserver);
        }
        c.validate()?;
        Ok(c)
    }

    fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.into(),
            source,
        })?;
        toml::from_str(&text).map_err(|source| ConfigError::Parse {
            path: path.into(),
            source,
        })
    }

    fn validate(&self) -> Result<(), ConfigError> {
        jid::BareJid::new(&self.domain)
            .ok()
            .filter(|j| j.node().is_none())
            .ok_or_else(|| ConfigError::Invalid(format!("domain {:?}", self.domain)))?;
        if self.tls_cert.is_some() != self.tls_key.is_some() {
            return Err(ConfigError::Invalid(
                "tls_cert and tls_key must be given together".into(),
            ));
        }
        if self.max_stanza_size < 1024 || self.outbound_queue == 0 || self.keepalive == 0 {
            return Err(ConfigError::Invalid(
                "max_stanza_size >= 1024, outbound_queue > 0 and keepalive > 0 are required".into(),
            ));
        }
        if self.page_timeout == 0 || self.document_timeout == 0 || self.office_timeout == 0 {
            return Err(ConfigError::Invalid(
                "page_timeout, document_timeout and office_timeout must be > 0".into(),
            ));
        }
        Ok(())
    }

    /// The domain anonymous guests get their JIDs on.
    pub fn guest_domain(&self) -> String {
        format!("guest.{}", self.domain)
    }

    pub fn auth_timeout(&self) -> Duration {
        Duration::from_secs(self.auth_timeout)
    }

    pub fn keepalive(&self) -> Duration {
        Duration::from_secs(self.keepalive)
    }

    /// The example configuration file: every key, what it means, and its default.
    pub fn example() -> String {
        let defaults = toml::to_string(&Self::default()).expect("defaults serialise");
        let mut out = String::from(
            "# Lectern configuration (TOML). Every key is optional and shown with its default.\n\
             # Flags and LECTERN_* environment variables override this file.\n",
        );
        for (key, doc) in FIELDS {
            out.push_str(&format!("\n# {doc}\n"));
            match defaults
                .lines()
                .find(|l| l.starts_with(&format!("{key} = ")))
            {
                Some(line) => out.push_str(&format!("{line}\n")),
                None => out.push_str(&format!("# {key} = \"\"\n")),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_parses_back_to_defaults_and_documents_every_key() {
        let parsed: Config = toml::from_str(&Config::example()).unwrap();
        assert_eq!(parsed, Config::default());
        let value = toml::Value::try_from(Config::default()).unwrap();
        for key in value.as_table().unwrap().keys() {
            assert!(
                FIELDS.iter().any(|(k, _)| k == key),
                "{key} is undocumented"
            );
        }
    }

    #[test]
    fn committed_example_is_current() {
        let committed = include_str!("../../docs/lectern.example.toml");
        assert_eq!(
            committed,
            Config::example(),
            "run: lectern config example > docs/lectern.example.toml"
        );
    }

    #[test]
    fn flags_override_file() {
        let dir = std::env::temp_dir().join(format!("lectern-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("c.toml");
        std::fs::write(&file, "domain = \"example.org\"\nkeepalive = 5\n").unwrap();
        let o = Overrides {
            config: Some(file),
            keepalive: Some(9),
            ..Default::default()
        };
        let c = Config::load(&o).unwrap();
        assert_eq!(c.domain, "example.org");
        assert_eq!(c.keepalive, 9);
        assert_eq!(c.guest_domain(), "guest.example.org");
    }

    #[test]
    fn rejects_unknown_keys_and_bad_domain() {
        assert!(toml::from_str::<Config>("nope = 1").is_err());
        let o = Overrides {
            domain: Some("a@b".into()),
            ..Default::default()
        };
        assert!(matches!(Config::load(&o), Err(ConfigError::Invalid(_))));
    }
}
