//! Persistent state behind a small trait, so nothing outside this folder knows about sled.

mod memory;
mod sled_store;

use std::path::PathBuf;

use jid::BareJid;
use serde::{Deserialize, Serialize};

pub use memory::MemoryStore;
pub use sled_store::SledStore;

/// Salted SCRAM credentials (RFC 5802 §3): never the password, nor anything equivalent to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScramSecret {
    pub salt: Vec<u8>,
    pub iterations: u32,
    pub stored_key: Vec<u8>,
    pub server_key: Vec<u8>,
}

/// One local account. Both hash families are kept so either SCRAM mechanism works.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub sha1: ScramSecret,
    pub sha256: ScramSecret,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the data directory {0} is in use by another Lectern process")]
    Locked(PathBuf),
    #[error("database error: {0}")]
    Database(String),
    #[error("corrupt record for {0}")]
    Corrupt(String),
}

/// Account storage. Implementations are cheap to share across threads.
pub trait AccountStore: Send + Sync {
    fn account(&self, jid: &BareJid) -> Result<Option<Account>, StoreError>;
    /// Creates or replaces the account.
    fn put_account(&self, jid: &BareJid, account: &Account) -> Result<(), StoreError>;
    /// Returns whether an account was removed.
    fn delete_account(&self, jid: &BareJid) -> Result<bool, StoreError>;
}

/// Persistent rooms: opaque records keyed by room JID (the MUC layer owns their format).
pub trait RoomStore: Send + Sync {
    fn rooms(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError>;
    fn put_room(&self, jid: &str, record: &[u8]) -> Result<(), StoreError>;
    fn delete_room(&self, jid: &str) -> Result<(), StoreError>;
}
