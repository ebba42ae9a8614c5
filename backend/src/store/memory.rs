//! An in-memory store for unit tests of the layers above the database.

use std::collections::HashMap;
use std::sync::Mutex;

use jid::BareJid;

use super::{Account, AccountStore, RoomStore, StoreError};

#[derive(Default)]
pub struct MemoryStore {
    accounts: Mutex<HashMap<BareJid, Account>>,
    rooms: Mutex<HashMap<String, Vec<u8>>>,
}

impl AccountStore for MemoryStore {
    fn account(&self, jid: &BareJid) -> Result<Option<Account>, StoreError> {
        Ok(self.accounts.lock().unwrap().get(jid).cloned())
    }

    fn put_account(&self, jid: &BareJid, account: &Account) -> Result<(), StoreError> {
        self.accounts
            .lock()
            .unwrap()
            .insert(jid.clone(), account.clone());
        Ok(())
    }

    fn delete_account(&self, jid: &BareJid) -> Result<bool, StoreError> {
        Ok(self.accounts.lock().unwrap().remove(jid).is_some())
    }
}

impl RoomStore for MemoryStore {
    fn rooms(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let rooms = self.rooms.lock().unwrap();
        Ok(rooms.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
    }

    fn put_room(&self, jid: &str, record: &[u8]) -> Result<(), StoreError> {
        self.rooms
            .lock()
            .unwrap()
            .insert(jid.to_string(), record.to_vec());
        Ok(())
    }

    fn delete_room(&self, jid: &str) -> Result<(), StoreError> {
        self.rooms.lock().unwrap().remove(jid);
        Ok(())
    }
}
