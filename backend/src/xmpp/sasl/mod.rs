//! SASL (RFC 6120 §6): which mechanisms a stream may use, and running one exchange.

mod scram;

pub use scram::{ScramHash, ITERATIONS};

use crate::store::{Account, ScramSecret};
use scram::ScramServer;

/// What a mechanism says after a client message.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    Challenge(Vec<u8>),
    /// `username` is the authenticated local part (random for ANONYMOUS).
    Success {
        username: String,
        additional: Vec<u8>,
    },
}

/// SASL failure conditions (RFC 6120 §6.5) that we report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    Aborted,
    IncorrectEncoding,
    InvalidAuthzid,
    InvalidMechanism,
    MalformedRequest,
    NotAuthorized,
    TemporaryAuthFailure,
}

impl Failure {
    pub fn condition(self) -> &'static str {
        match self {
            Failure::Aborted => "aborted",
            Failure::IncorrectEncoding => "incorrect-encoding",
            Failure::InvalidAuthzid => "invalid-authzid",
            Failure::InvalidMechanism => "invalid-mechanism",
            Failure::MalformedRequest => "malformed-request",
            Failure::NotAuthorized => "not-authorized",
            Failure::TemporaryAuthFailure => "temporary-auth-failure",
        }
    }
}

/// Which mechanisms a stream offers, given where the client is and how it connected.
pub fn offered(guest_stream: bool, plain_allowed: bool) -> Vec<&'static str> {
    if guest_stream {
        vec!["ANONYMOUS"]
    } else if plain_allowed {
        vec!["SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"]
    } else {
        vec!["SCRAM-SHA-256", "SCRAM-SHA-1"]
    }
}

/// One running exchange.
pub enum Mechanism {
    Scram(Box<ScramServer>),
    Plain,
    Anonymous,
}

impl Mechanism {
    /// Starts `name` if it is among the `offered` ones.
    pub fn start(name: &str, offered: &[&str]) -> Result<Self, Failure> {
        if !offered.contains(&name) {
            return Err(Failure::InvalidMechanism);
        }
        Ok(match name {
            "SCRAM-SHA-256" => Mechanism::Scram(Box::new(ScramServer::new(ScramHash::Sha256))),
            "SCRAM-SHA-1" => Mechanism::Scram(Box::new(ScramServer::new(ScramHash::Sha1))),
            "PLAIN" => Mechanism::Plain,
            "ANONYMOUS" => Mechanism::Anonymous,
            _ => return Err(Failure::InvalidMechanism),
        })
    }

    /// Whether an empty `<auth/>` should be answered with an empty challenge (RFC 6120
    /// §6.4.2: mechanisms where the client speaks first).
    pub fn client_first(&self) -> bool {
        !matches!(self, Mechanism::Anonymous)
    }

    /// Feeds one decoded client message. `lookup` returns the account of a local part.
    pub fn step(
        &mut self,
        input: &[u8],
        lookup: &mut dyn FnMut(&str) -> Option<Account>,
    ) -> Result<Step, Failure> {
        match self {
            Mechanism::Scram(s) => {
                let hash = s.hash();
                s.step(input, &mut |user| lookup(user).map(|a| pick(a, hash)))
            }
            Mechanism::Plain => {
                let text = std::str::from_utf8(input).map_err(|_| Failure::MalformedRequest)?;
                let mut parts = text.split('\0');
                let (authzid, user, password) = match (parts.next(), parts.next(), parts.next()) {
                    (Some(z), Some(u), Some(p)) if parts.next().is_none() && !u.is_empty() => {
                        (z, u, p)
                    }
                    _ => return Err(Failure::MalformedRequest),
                };
                if !authzid.is_empty() && authzid.split('@').next() != Some(user) {
                    return Err(Failure::InvalidAuthzid);
                }
                let account = lookup(user);
                let ok = account
                    .map(|a| ScramHash::Sha256.verify_password(&a.sha256, password))
                    .unwrap_or(false);
                if !ok {
                    return Err(Failure::NotAuthorized);
                }
                Ok(Step::Success {
                    username: user.to_string(),
                    additional: Vec::new(),
                })
            }
            Mechanism::Anonymous => Ok(Step::Success {
                username: random_id(),
                additional: Vec::new(),
            }),
        }
    }
}

fn pick(account: Account, hash: ScramHash) -> ScramSecret {
    match hash {
        ScramHash::Sha1 => account.sha1,
        ScramHash::Sha256 => account.sha256,
    }
}

/// Credentials for a new password, with fresh salts.
pub fn new_account(password: &str) -> Account {
    Account {
        sha1: ScramHash::Sha1.derive(password, &random_bytes::<16>(), ITERATIONS),
        sha256: ScramHash::Sha256.derive(password, &random_bytes::<16>(), ITERATIONS),
    }
}

pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    getrandom::getrandom(&mut buf).expect("the OS provides randomness");
    buf
}

/// A short random identifier usable as a JID node, resource or stream id.
pub fn random_id() -> String {
    random_bytes::<8>()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests;
