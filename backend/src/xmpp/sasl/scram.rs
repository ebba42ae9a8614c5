//! SCRAM-SHA-1 and SCRAM-SHA-256 (RFC 5802, RFC 7677), server side, against stored keys.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};

use super::{random_bytes, Failure, Step};
use crate::store::ScramSecret;

/// Iteration count for new credentials (RFC 7677 asks for at least 4096).
pub const ITERATIONS: u32 = 4096;

/// The hash a SCRAM variant is built on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScramHash {
    Sha1,
    Sha256,
}

impl ScramHash {
    pub fn mechanism(self) -> &'static str {
        match self {
            ScramHash::Sha1 => "SCRAM-SHA-1",
            ScramHash::Sha256 => "SCRAM-SHA-256",
        }
    }

    fn hmac(self, key: &[u8], data: &[u8]) -> Vec<u8> {
        match self {
            ScramHash::Sha1 => {
                let mut m = Hmac::<Sha1>::new_from_slice(key).expect("any key length");
                m.update(data);
                m.finalize().into_bytes().to_vec()
            }
            ScramHash::Sha256 => {
                let mut m = Hmac::<Sha256>::new_from_slice(key).expect("any key length");
                m.update(data);
                m.finalize().into_bytes().to_vec()
            }
        }
    }

    fn hash(self, data: &[u8]) -> Vec<u8> {
        match self {
            ScramHash::Sha1 => Sha1::digest(data).to_vec(),
            ScramHash::Sha256 => Sha256::digest(data).to_vec(),
        }
    }

    fn salted_password(self, password: &str, salt: &[u8], iterations: u32) -> Vec<u8> {
        match self {
            ScramHash::Sha1 => {
                let mut out = [0u8; 20];
                pbkdf2::pbkdf2_hmac::<Sha1>(password.as_bytes(), salt, iterations, &mut out);
                out.to_vec()
            }
            ScramHash::Sha256 => {
                let mut out = [0u8; 32];
                pbkdf2::pbkdf2_hmac::<Sha256>(password.as_bytes(), salt, iterations, &mut out);
                out.to_vec()
            }
        }
    }

    /// Derives the stored credentials for a password with a fresh salt.
    pub fn derive(self, password: &str, salt: &[u8], iterations: u32) -> ScramSecret {
        let salted = self.salted_password(password, salt, iterations);
        let client_key = self.hmac(&salted, b"Client Key");
        ScramSecret {
            salt: salt.to_vec(),
            iterations,
            stored_key: self.hash(&client_key),
            server_key: self.hmac(&salted, b"Server Key"),
        }
    }

    /// Checks a plaintext password against stored credentials (used by PLAIN).
    pub fn verify_password(self, secret: &ScramSecret, password: &str) -> bool {
        let derived = self.derive(password, &secret.salt, secret.iterations);
        constant_time_eq(&derived.stored_key, &secret.stored_key)
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

enum State {
    Start,
    SentFirst {
        username: String,
        gs2_header: String,
        client_first_bare: String,
        server_first: String,
        nonce: String,
        secret: Option<ScramSecret>,
    },
}

/// One SCRAM exchange.
pub struct ScramServer {
    hash: ScramHash,
    state: State,
}

impl ScramServer {
    pub fn new(hash: ScramHash) -> Self {
        Self {
            hash,
            state: State::Start,
        }
    }

    pub fn hash(&self) -> ScramHash {
        self.hash
    }

    /// Feeds one client message. Unknown users go through the whole exchange with a decoy
    /// secret so a failed login does not reveal whether the account exists.
    pub fn step(
        &mut self,
        input: &[u8],
        lookup: &mut dyn FnMut(&str) -> Option<ScramSecret>,
    ) -> Result<Step, Failure> {
        let text = std::str::from_utf8(input).map_err(|_| Failure::MalformedRequest)?;
        match std::mem::replace(&mut self.state, State::Start) {
            State::Start => self.first(text, lookup),
            State::SentFirst {
                username,
                gs2_header,
                client_first_bare,
                server_first,
                nonce,
                secret,
            } => {
                let (without_proof, proof) =
                    text.rsplit_once(",p=").ok_or(Failure::MalformedRequest)?;
                let mut attrs = without_proof.split(',');
                let channel = attrs
                    .next()
                    .and_then(|c| c.strip_prefix("c="))
                    .ok_or(Failure::MalformedRequest)?;
                let r = attrs
                    .next()
                    .and_then(|r| r.strip_prefix("r="))
                    .ok_or(Failure::MalformedRequest)?;
                if B64.decode(channel).ok().as_deref() != Some(gs2_header.as_bytes()) || r != nonce
                {
                    return Err(Failure::NotAuthorized);
                }
                let proof = B64.decode(proof).map_err(|_| Failure::MalformedRequest)?;
                let secret = secret.ok_or(Failure::NotAuthorized)?;
                let auth_message = format!("{client_first_bare},{server_first},{without_proof}");
                let signature = self.hash.hmac(&secret.stored_key, auth_message.as_bytes());
                if proof.len() != signature.len() {
                    return Err(Failure::NotAuthorized);
                }
                let client_key: Vec<u8> =
                    proof.iter().zip(&signature).map(|(a, b)| a ^ b).collect();
                if !constant_time_eq(&self.hash.hash(&client_key), &secret.stored_key) {
                    return Err(Failure::NotAuthorized);
                }
                let server_sig = self.hash.hmac(&secret.server_key, auth_message.as_bytes());
                Ok(Step::Success {
                    username,
                    additional: format!("v={}", B64.encode(server_sig)).into_bytes(),
                })
            }
        }
    }

    fn first(
        &mut self,
        text: &str,
        lookup: &mut dyn FnMut(&str) -> Option<ScramSecret>,
    ) -> Result<Step, Failure> {
        // gs2-header: cbind-flag "," [authzid] ","
        let mut parts = text.splitn(3, ',');
        let flag = parts.next().ok_or(Failure::MalformedRequest)?;
        let authzid = parts.next().ok_or(Failure::MalformedRequest)?;
        let bare = parts.next().ok_or(Failure::MalformedRequest)?;
        // 'n' (client has no binding) and 'y' (client could, we offered no -PLUS) are both
        // fine; 'p' asks for a binding we never advertised.
        if flag != "n" && flag != "y" {
            return Err(Failure::MalformedRequest);
        }
        let mut attrs = bare.split(',');
        let username = attrs
            .next()
            .and_then(|n| n.strip_prefix("n="))
            .ok_or(Failure::MalformedRequest)
            .and_then(decode_saslname)?;
        let client_nonce = attrs
            .next()
            .and_then(|r| r.strip_prefix("r="))
            .filter(|r| !r.is_empty())
            .ok_or(Failure::MalformedRequest)?;
        if let Some(a) = authzid.strip_prefix("a=") {
            if decode_saslname(a)?.split('@').next() != Some(username.as_str()) {
                return Err(Failure::InvalidAuthzid);
            }
        }
        let secret = lookup(&username);
        let (salt, iterations) = match &secret {
            Some(s) => (s.salt.clone(), s.iterations),
            None => (random_bytes::<16>().to_vec(), ITERATIONS),
        };
        let nonce = format!("{client_nonce}{}", B64.encode(random_bytes::<18>()));
        let server_first = format!("r={nonce},s={},i={iterations}", B64.encode(salt));
        let reply = server_first.clone().into_bytes();
        self.state = State::SentFirst {
            username,
            gs2_header: format!("{flag},{authzid},"),
            client_first_bare: bare.to_string(),
            server_first,
            nonce,
            secret,
        };
        Ok(Step::Challenge(reply))
    }
}

fn decode_saslname(s: &str) -> Result<String, Failure> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('=') {
        out.push_str(&rest[..i]);
        match rest.get(i..i + 3) {
            Some("=2C") => out.push(','),
            Some("=3D") => out.push('='),
            _ => return Err(Failure::MalformedRequest),
        }
        rest = &rest[i + 3..];
    }
    out.push_str(rest);
    if out.is_empty() {
        return Err(Failure::MalformedRequest);
    }
    Ok(out)
}
