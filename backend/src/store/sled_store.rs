//! The embedded default: one sled database in the data directory.

use std::io::ErrorKind;
use std::path::Path;

use jid::BareJid;

use super::{event_key, Account, AccountStore, MeetingStore, RoomStore, StoreError};

pub struct SledStore {
    accounts: sled::Tree,
    rooms: sled::Tree,
    meetings: sled::Tree,
    events: sled::Tree,
    chat: sled::Tree,
    db: sled::Db,
}

impl SledStore {
    /// Opens (or creates) `<data>/db`. A second process gets [`StoreError::Locked`].
    pub fn open(data_dir: &Path) -> Result<Self, StoreError> {
        let path = data_dir.join("db");
        let db = sled::open(&path).map_err(|e| match e {
            // sled wraps the flock failure in an error of its own kind; match both shapes.
            sled::Error::Io(io)
                if io.kind() == ErrorKind::WouldBlock
                    || io.to_string().contains("could not acquire lock") =>
            {
                StoreError::Locked(data_dir.to_path_buf())
            }
            other => StoreError::Database(other.to_string()),
        })?;
        let accounts = db.open_tree("accounts").map_err(db_err)?;
        let rooms = db.open_tree("rooms").map_err(db_err)?;
        let meetings = db.open_tree("meetings").map_err(db_err)?;
        let events = db.open_tree("events").map_err(db_err)?;
        let chat = db.open_tree("chat").map_err(db_err)?;
        Ok(Self {
            accounts,
            rooms,
            meetings,
            events,
            chat,
            db,
        })
    }

    /// Makes every acknowledged write durable before returning.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.db.flush().map(|_| ()).map_err(db_err)
    }
}

/// The `seq` an event key ends with.
fn key_seq(key: &[u8]) -> u64 {
    let seq_bytes: [u8; 8] = key[key.len() - 8..].try_into().expect("8-byte suffix");
    u64::from_be_bytes(seq_bytes)
}

fn db_err(e: sled::Error) -> StoreError {
    StoreError::Database(e.to_string())
}

impl AccountStore for SledStore {
    fn account(&self, jid: &BareJid) -> Result<Option<Account>, StoreError> {
        match self.accounts.get(jid.as_str()).map_err(db_err)? {
            None => Ok(None),
            Some(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|_| StoreError::Corrupt(jid.to_string())),
        }
    }

    fn put_account(&self, jid: &BareJid, account: &Account) -> Result<(), StoreError> {
        let bytes = serde_json::to_vec(account).expect("account serialises");
        self.accounts.insert(jid.as_str(), bytes).map_err(db_err)?;
        self.flush()
    }

    fn delete_account(&self, jid: &BareJid) -> Result<bool, StoreError> {
        let existed = self
            .accounts
            .remove(jid.as_str())
            .map_err(db_err)?
            .is_some();
        self.flush()?;
        Ok(existed)
    }
}

impl RoomStore for SledStore {
    fn rooms(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        self.rooms
            .iter()
            .map(|kv| {
                let (k, v) = kv.map_err(db_err)?;
                Ok((String::from_utf8_lossy(&k).into_owned(), v.to_vec()))
            })
            .collect()
    }

    fn put_room(&self, jid: &str, record: &[u8]) -> Result<(), StoreError> {
        self.rooms.insert(jid, record).map_err(db_err)?;
        self.flush()
    }

    fn delete_room(&self, jid: &str) -> Result<(), StoreError> {
        self.rooms.remove(jid).map_err(db_err)?;
        self.flush()
    }
}

impl MeetingStore for SledStore {
    fn meetings(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        self.meetings
            .iter()
            .map(|kv| {
                let (k, v) = kv.map_err(db_err)?;
                Ok((String::from_utf8_lossy(&k).into_owned(), v.to_vec()))
            })
            .collect()
    }

    fn put_meeting(&self, number: &str, record: &[u8]) -> Result<(), StoreError> {
        self.meetings.insert(number, record).map_err(db_err)?;
        self.flush()
    }

    fn append_event(&self, number: &str, seq: u64, record: &[u8]) -> Result<(), StoreError> {
        self.events
            .insert(event_key(number, seq), record)
            .map_err(db_err)?;
        Ok(())
    }

    fn sync_events(&self) -> Result<(), StoreError> {
        self.flush()
    }

    fn delete_events(&self, number: &str, through: u64) -> Result<(), StoreError> {
        let range = event_key(number, 0)..=event_key(number, through);
        for kv in self.events.range(range) {
            let (k, _) = kv.map_err(db_err)?;
            self.events.remove(k).map_err(db_err)?;
        }
        self.flush()
    }

    fn last_event(&self, number: &str) -> Result<Option<u64>, StoreError> {
        let range = event_key(number, 0)..=event_key(number, u64::MAX);
        match self.events.range(range).next_back() {
            Some(kv) => Ok(Some(key_seq(&kv.map_err(db_err)?.0))),
            None => Ok(None),
        }
    }

    fn events(
        &self,
        number: &str,
        since: u64,
        max: usize,
    ) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        let start = event_key(number, since.saturating_add(1));
        let end = event_key(number, u64::MAX);
        self.events
            .range(start..=end)
            .take(max)
            .map(|kv| {
                let (k, v) = kv.map_err(db_err)?;
                Ok((key_seq(&k), v.to_vec()))
            })
            .collect()
    }

    fn append_chat(&self, number: &str, record: &[u8]) -> Result<(), StoreError> {
        // sled's ids only grow, also across restarts: arrival order survives them.
        let id = self.db.generate_id().map_err(db_err)?;
        self.chat
            .insert(event_key(number, id), record)
            .map_err(db_err)?;
        Ok(())
    }

    fn chat(&self, number: &str) -> Result<Vec<Vec<u8>>, StoreError> {
        self.chat
            .range(event_key(number, 0)..=event_key(number, u64::MAX))
            .map(|kv| Ok(kv.map_err(db_err)?.1.to_vec()))
            .collect()
    }

    fn delete_chat(&self, number: &str) -> Result<(), StoreError> {
        for kv in self
            .chat
            .range(event_key(number, 0)..=event_key(number, u64::MAX))
        {
            let (k, _) = kv.map_err(db_err)?;
            self.chat.remove(k).map_err(db_err)?;
        }
        self.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::ScramSecret;

    fn secret(b: u8) -> ScramSecret {
        ScramSecret {
            salt: vec![b],
            iterations: 1,
            stored_key: vec![b],
            server_key: vec![b],
        }
    }

    #[test]
    fn accounts_persist_across_reopen() {
        let dir = std::env::temp_dir().join(format!("lectern-sled-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let jid = BareJid::new("alice@localhost").unwrap();
        let acct = Account {
            sha1: secret(1),
            sha256: secret(2),
        };
        {
            let store = SledStore::open(&dir).unwrap();
            store.put_account(&jid, &acct).unwrap();
        }
        let store = SledStore::open(&dir).unwrap();
        assert_eq!(store.account(&jid).unwrap(), Some(acct));
        assert!(store.delete_account(&jid).unwrap());
        assert!(!store.delete_account(&jid).unwrap());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn events_come_back_in_seq_order_per_meeting() {
        let dir = std::env::temp_dir().join(format!("lectern-sled-ev-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let store = SledStore::open(&dir).unwrap();
        // 256 and 1 would sort wrongly as decimal strings; big-endian keys keep them in order.
        for seq in [1u64, 2, 256, 3] {
            store
                .append_event("100000001", seq, format!("a{seq}").as_bytes())
                .unwrap();
        }
        store.append_event("100000002", 1, b"b1").unwrap();
        let all: Vec<u64> = store
            .events("100000001", 0, 100)
            .unwrap()
            .iter()
            .map(|e| e.0)
            .collect();
        assert_eq!(all, vec![1, 2, 3, 256]);
        let page = store.events("100000001", 2, 1).unwrap();
        assert_eq!(page, vec![(3, b"a3".to_vec())]);
        assert_eq!(store.events("100000002", 0, 10).unwrap().len(), 1);
        assert_eq!(store.last_event("100000001").unwrap(), Some(256));
        assert_eq!(store.last_event("100000003").unwrap(), None);
        store.delete_events("100000002", 1).unwrap();
        assert_eq!(store.last_event("100000002").unwrap(), None);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn chat_lines_keep_their_order_across_a_reopen_and_delete_per_meeting() {
        let dir = std::env::temp_dir().join(format!("lectern-sled-chat-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        {
            let store = SledStore::open(&dir).unwrap();
            store.append_chat("100000001", b"one").unwrap();
            store.append_chat("100000002", b"other").unwrap();
            store.append_chat("100000001", b"two").unwrap();
        }
        let store = SledStore::open(&dir).unwrap();
        store.append_chat("100000001", b"three").unwrap();
        assert_eq!(
            store.chat("100000001").unwrap(),
            vec![b"one".to_vec(), b"two".to_vec(), b"three".to_vec()]
        );
        store.delete_chat("100000001").unwrap();
        assert!(store.chat("100000001").unwrap().is_empty());
        assert_eq!(store.chat("100000002").unwrap(), vec![b"other".to_vec()]);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
