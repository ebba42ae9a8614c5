//! An in-memory store for unit tests of the layers above the database.

use std::collections::HashMap;
use std::sync::Mutex;

use jid::BareJid;

use super::{Account, AccountStore, StoreError};

#[derive(Default)]
pub struct MemoryStore {
    accounts: Mutex<HashMap<BareJid, Account>>,
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
