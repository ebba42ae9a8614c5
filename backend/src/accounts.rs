//! Account management shared by the CLI and the running server's admin socket.

use jid::BareJid;

use crate::store::{AccountStore, StoreError};
use crate::xmpp::sasl;

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("{0:?} is not a bare JID like alice@{1}")]
    BadJid(String, String),
    #[error("{jid} is not on this server's domain {domain} (pass --domain or fix the JID)")]
    WrongDomain { jid: String, domain: String },
    #[error("the password must not be empty")]
    EmptyPassword,
    #[error("no account {0}")]
    NoSuchAccount(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub fn parse_local_jid(jid: &str, domain: &str) -> Result<BareJid, AccountError> {
    let parsed = BareJid::new(jid)
        .ok()
        .filter(|j| j.node().is_some())
        .ok_or_else(|| AccountError::BadJid(jid.into(), domain.into()))?;
    if parsed.domain().as_str() != domain {
        return Err(AccountError::WrongDomain {
            jid: jid.into(),
            domain: domain.into(),
        });
    }
    Ok(parsed)
}

/// Creates or replaces an account, storing only salted SCRAM keys.
pub fn add(
    store: &dyn AccountStore,
    domain: &str,
    jid: &str,
    password: &str,
) -> Result<BareJid, AccountError> {
    let jid = parse_local_jid(jid, domain)?;
    if password.is_empty() {
        return Err(AccountError::EmptyPassword);
    }
    store.put_account(&jid, &sasl::new_account(password))?;
    Ok(jid)
}

pub fn delete(store: &dyn AccountStore, domain: &str, jid: &str) -> Result<BareJid, AccountError> {
    let jid = parse_local_jid(jid, domain)?;
    if !store.delete_account(&jid)? {
        return Err(AccountError::NoSuchAccount(jid.to_string()));
    }
    Ok(jid)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;

    #[test]
    fn add_checks_jid_domain_and_password() {
        let s = MemoryStore::default();
        assert!(add(&s, "localhost", "alice@localhost", "pw").is_ok());
        assert!(matches!(
            add(&s, "localhost", "alice@elsewhere", "pw"),
            Err(AccountError::WrongDomain { .. })
        ));
        assert!(matches!(
            add(&s, "localhost", "localhost", "pw"),
            Err(AccountError::BadJid(..))
        ));
        assert!(matches!(
            add(&s, "localhost", "bob@localhost", ""),
            Err(AccountError::EmptyPassword)
        ));
        let stored = s
            .account(&BareJid::new("alice@localhost").unwrap())
            .unwrap()
            .unwrap();
        assert_ne!(stored.sha256.stored_key, b"pw".to_vec());
        assert!(delete(&s, "localhost", "alice@localhost").is_ok());
        assert!(matches!(
            delete(&s, "localhost", "alice@localhost"),
            Err(AccountError::NoSuchAccount(_))
        ));
    }
}
