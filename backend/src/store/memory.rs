//! An in-memory store for unit tests of the layers above the database.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use jid::BareJid;

use super::{event_key, Account, AccountStore, MeetingStore, RoomStore, StoreError};

/// An archived event: its `seq` and record, keyed by [`event_key`].
type ArchivedEvent = (u64, Vec<u8>);

#[derive(Default)]
pub struct MemoryStore {
    accounts: Mutex<HashMap<BareJid, Account>>,
    rooms: Mutex<HashMap<String, Vec<u8>>>,
    meetings: Mutex<HashMap<String, Vec<u8>>>,
    events: Mutex<BTreeMap<Vec<u8>, ArchivedEvent>>,
    /// Meeting number → chat lines in arrival order.
    chat: Mutex<HashMap<String, Vec<Vec<u8>>>>,
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

impl MeetingStore for MemoryStore {
    fn meetings(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let meetings = self.meetings.lock().unwrap();
        Ok(meetings
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }

    fn put_meeting(&self, number: &str, record: &[u8]) -> Result<(), StoreError> {
        let mut meetings = self.meetings.lock().unwrap();
        meetings.insert(number.to_string(), record.to_vec());
        Ok(())
    }

    fn append_event(&self, number: &str, seq: u64, record: &[u8]) -> Result<(), StoreError> {
        let mut events = self.events.lock().unwrap();
        events.insert(event_key(number, seq), (seq, record.to_vec()));
        Ok(())
    }

    fn sync_events(&self) -> Result<(), StoreError> {
        Ok(())
    }

    fn delete_events(&self, number: &str, through: u64) -> Result<(), StoreError> {
        let mut events = self.events.lock().unwrap();
        events.retain(|k, _| !(event_key(number, 0)..=event_key(number, through)).contains(k));
        Ok(())
    }

    fn last_event(&self, number: &str) -> Result<Option<u64>, StoreError> {
        let events = self.events.lock().unwrap();
        let range = event_key(number, 0)..=event_key(number, u64::MAX);
        Ok(events.range(range).next_back().map(|(_, (seq, _))| *seq))
    }

    fn events(
        &self,
        number: &str,
        since: u64,
        max: usize,
    ) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        let events = self.events.lock().unwrap();
        let range = event_key(number, since.saturating_add(1))..=event_key(number, u64::MAX);
        Ok(events
            .range(range)
            .take(max)
            .map(|(_, e)| e.clone())
            .collect())
    }

    fn append_chat(&self, number: &str, record: &[u8]) -> Result<(), StoreError> {
        let mut chat = self.chat.lock().unwrap();
        chat.entry(number.to_string())
            .or_default()
            .push(record.to_vec());
        Ok(())
    }

    fn chat(&self, number: &str) -> Result<Vec<Vec<u8>>, StoreError> {
        Ok(self
            .chat
            .lock()
            .unwrap()
            .get(number)
            .cloned()
            .unwrap_or_default())
    }

    fn delete_chat(&self, number: &str) -> Result<(), StoreError> {
        self.chat.lock().unwrap().remove(number);
        Ok(())
    }
}
