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

/// Meetings and their event archives. Records are opaque bytes; `conference/` owns the format.
/// Events are kept in `seq` order per meeting. Appended events are durable once
/// [`MeetingStore::sync_events`] returns: the focus appends a batch, syncs once, and only then
/// sends, so it acknowledges nothing it could lose in a crash and pays one disk sync per
/// batch rather than per event.
pub trait MeetingStore: Send + Sync {
    fn meetings(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError>;
    fn put_meeting(&self, number: &str, record: &[u8]) -> Result<(), StoreError>;
    fn append_event(&self, number: &str, seq: u64, record: &[u8]) -> Result<(), StoreError>;
    /// Makes every appended event durable.
    fn sync_events(&self) -> Result<(), StoreError>;
    /// Deletes a meeting's events with `seq <= through`.
    fn delete_events(&self, number: &str, through: u64) -> Result<(), StoreError>;
    /// The `seq` of a meeting's last archived event, without reading any.
    fn last_event(&self, number: &str) -> Result<Option<u64>, StoreError>;
    /// Events with `seq > since`, at most `max`, in order.
    fn events(
        &self,
        number: &str,
        since: u64,
        max: usize,
    ) -> Result<Vec<(u64, Vec<u8>)>, StoreError>;
    /// Appends one chat line to a meeting's recording. Lines are not sequenced events (the
    /// room carries them, not the focus), so they get no `seq`, only their arrival order.
    fn append_chat(&self, number: &str, record: &[u8]) -> Result<(), StoreError>;
    /// A meeting's recorded chat lines, in arrival order.
    fn chat(&self, number: &str) -> Result<Vec<Vec<u8>>, StoreError>;
    /// Deletes a meeting's recorded chat.
    fn delete_chat(&self, number: &str) -> Result<(), StoreError>;
}

/// Key of one archived event: the meeting number, a separator no number contains, and the
/// big-endian `seq`, so a prefix scan walks one meeting's events in order.
fn event_key(number: &str, seq: u64) -> Vec<u8> {
    let mut key = Vec::with_capacity(number.len() + 9);
    key.extend_from_slice(number.as_bytes());
    key.push(b'/');
    key.extend_from_slice(&seq.to_be_bytes());
    key
}
