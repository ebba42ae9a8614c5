//! The meeting registry: numbers, titles and host keys, persisted through the store.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use lectern_protocol::to_element;

use super::chat::ChatLine;
use super::ConferenceError;
use crate::documents::store::hex;
use crate::recording::timeline::Timeline;
use crate::store::MeetingStore;

/// A meeting number: 9 digits, never starting with 0, so it can be dialled and typed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct MeetingNumber(String);

impl MeetingNumber {
    pub fn parse(s: &str) -> Result<Self, ConferenceError> {
        let ok = s.len() == 9 && s.bytes().all(|b| b.is_ascii_digit()) && !s.starts_with('0');
        if ok {
            Ok(Self(s.to_string()))
        } else {
            Err(ConferenceError::UnknownMeeting)
        }
    }

    fn random() -> Self {
        let n = u32::from_le_bytes(crate::xmpp::sasl::random_bytes::<4>());
        Self(format!("{}", 100_000_000 + n % 900_000_000))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for MeetingNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What is stored of a meeting. The host key itself is never stored, only its hash.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Meeting {
    pub number: MeetingNumber,
    pub title: String,
    host_key_sha256: String,
    pub created: u64,
    /// Whether the presenter's voice (and played audio files) may flow; records made before
    /// audio existed had it on.
    #[serde(default = "audio_on")]
    pub audio: bool,
    #[serde(default)]
    pub recording: RecordingPolicy,
}

/// Who may replay and download a meeting's recording besides its owner (the host key).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RecordingAccess {
    /// Only whoever holds the host key.
    #[default]
    Owner,
    /// Also whoever has the share link (its `token`).
    Link,
    /// Everyone; listed on the recordings page.
    Public,
}

/// The recording side of a meeting. The archive is kept either way while the meeting runs
/// (late joiners catch up from it); `enabled: false` means it is never offered as a recording.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RecordingPolicy {
    pub enabled: bool,
    pub access: RecordingAccess,
    /// The secret of the share link, compared like the host key.
    token: String,
    /// Events up to this `seq` were deleted with the recording; the sequence goes on after it.
    pub deleted_through: u64,
    /// The meeting as it stood then (the protocol's `<snapshot/>`, its `seq` is
    /// `deleted_through`): what the recording after it and a restarted focus start from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
}

impl Default for RecordingPolicy {
    fn default() -> Self {
        Self {
            enabled: true,
            access: RecordingAccess::Owner,
            token: format!("r-{}", hex(&crate::xmpp::sasl::random_bytes::<16>())),
            deleted_through: 0,
            start: None,
        }
    }
}

impl RecordingPolicy {
    pub fn token(&self) -> &str {
        &self.token
    }

    /// Constant-time in the token's content, like [`Meeting::host_key_matches`].
    pub fn token_matches(&self, given: &str) -> bool {
        constant_time_eq(given.as_bytes(), self.token.as_bytes())
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn audio_on() -> bool {
    true
}

impl Meeting {
    /// Constant-time in the key's content: compares hashes.
    pub fn host_key_matches(&self, key: &str) -> bool {
        constant_time_eq(
            hex_sha256(key.as_bytes()).as_bytes(),
            self.host_key_sha256.as_bytes(),
        )
    }
}

pub struct Meetings {
    store: Arc<dyn MeetingStore>,
    known: Mutex<HashMap<MeetingNumber, Meeting>>,
    /// Where the presenter last joined from, for the LAN rule.
    presenter_addr: Mutex<HashMap<MeetingNumber, IpAddr>>,
}

impl Meetings {
    pub fn open(store: Arc<dyn MeetingStore>) -> Result<Self, ConferenceError> {
        let mut known = HashMap::new();
        for (number, record) in store.meetings()? {
            let meeting: Meeting = serde_json::from_slice(&record)
                .map_err(|_| ConferenceError::Corrupt(number.clone()))?;
            known.insert(meeting.number.clone(), meeting);
        }
        Ok(Self {
            store,
            known: Mutex::new(known),
            presenter_addr: Mutex::new(HashMap::new()),
        })
    }

    /// Creates a meeting with a fresh number; returns it with its host key.
    pub fn create(
        &self,
        title: &str,
        audio: bool,
        recording: bool,
    ) -> Result<(Meeting, String), ConferenceError> {
        let key = format!("k-{}", hex(&crate::xmpp::sasl::random_bytes::<16>()));
        let created = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let meeting = {
            let mut known = self.known.lock().unwrap();
            let number = loop {
                let n = MeetingNumber::random();
                if !known.contains_key(&n) {
                    break n;
                }
            };
            let meeting = Meeting {
                number: number.clone(),
                title: title.to_string(),
                host_key_sha256: hex_sha256(key.as_bytes()),
                created,
                audio,
                recording: RecordingPolicy {
                    enabled: recording,
                    ..RecordingPolicy::default()
                },
            };
            known.insert(number, meeting.clone());
            meeting
        };
        let record = serde_json::to_vec(&meeting).expect("meeting serialises");
        self.store.put_meeting(meeting.number.as_str(), &record)?;
        Ok((meeting, key))
    }

    pub fn get(&self, number: &MeetingNumber) -> Option<Meeting> {
        self.known.lock().unwrap().get(number).cloned()
    }

    /// Every meeting, for the recordings list.
    pub fn all(&self) -> Vec<Meeting> {
        self.known.lock().unwrap().values().cloned().collect()
    }

    /// Changes a meeting's record and stores it.
    pub fn update(
        &self,
        number: &MeetingNumber,
        change: impl FnOnce(&mut Meeting),
    ) -> Result<Meeting, ConferenceError> {
        let meeting = {
            let mut known = self.known.lock().unwrap();
            let meeting = known
                .get_mut(number)
                .ok_or(ConferenceError::UnknownMeeting)?;
            change(meeting);
            meeting.clone()
        };
        let record = serde_json::to_vec(&meeting).expect("meeting serialises");
        self.store.put_meeting(number.as_str(), &record)?;
        Ok(meeting)
    }

    /// Deletes the archived events (the recording so far); the meeting record remembers
    /// where they ended, so the sequence never reuses a number, and the state they led to, so
    /// a meeting that goes on is recorded (and restored) from the page it is on.
    pub fn delete_recording(&self, number: &MeetingNumber) -> Result<(), ConferenceError> {
        let records = self.archive(number)?;
        let Some(&(last, _)) = records.last() else {
            // Nothing recorded (the meeting never started): only its chat, if any.
            self.store.delete_chat(number.as_str())?;
            return Ok(());
        };
        let state = Timeline::from_records(&records)
            .map_err(|e| ConferenceError::Recording(e.to_string()))?
            .end;
        let start = String::from(&to_element(&state.to_snapshot(number.as_str())));
        self.update(number, |m| {
            m.recording.deleted_through = m.recording.deleted_through.max(last);
            m.recording.start = Some(start);
        })?;
        self.store.delete_events(number.as_str(), last)?;
        self.store.delete_chat(number.as_str())?;
        Ok(())
    }

    /// The chat lines recorded in a meeting, in the order the focus heard them. A record that
    /// no longer parses is skipped (and logged) rather than costing the whole recording.
    pub fn chat(&self, number: &MeetingNumber) -> Result<Vec<ChatLine>, ConferenceError> {
        let records = self.store.chat(number.as_str())?;
        Ok(records
            .iter()
            .filter_map(|r| match serde_json::from_slice(r) {
                Ok(line) => Some(line),
                Err(e) => {
                    tracing::warn!(meeting = %number.as_str(), "corrupt chat record skipped: {e}");
                    None
                }
            })
            .collect())
    }

    /// The `seq` of the meeting's last archived event (`None` when none is kept), read
    /// without the events: with `deleted_through`, it says which archive a copy was made of.
    pub fn last_seq(&self, number: &MeetingNumber) -> Result<Option<u64>, ConferenceError> {
        Ok(self.store.last_event(number.as_str())?)
    }

    /// The recording's source, in `seq` order: the meeting's state when its recording was
    /// last deleted (a `<snapshot/>` record numbered `deleted_through`), if it was, then every
    /// event archived since.
    pub fn archive(&self, number: &MeetingNumber) -> Result<Vec<(u64, Vec<u8>)>, ConferenceError> {
        let recording = self
            .get(number)
            .ok_or(ConferenceError::UnknownMeeting)?
            .recording;
        let mut since = recording.deleted_through;
        let mut all: Vec<(u64, Vec<u8>)> = recording
            .start
            .map(|start| (since, start.into_bytes()))
            .into_iter()
            .collect();
        loop {
            let batch = self.store.events(number.as_str(), since, 4096)?;
            let Some((last, _)) = batch.last() else {
                return Ok(all);
            };
            since = *last;
            all.extend(batch);
        }
    }

    pub fn set_presenter_addr(&self, number: &MeetingNumber, addr: IpAddr) {
        let mut addrs = self.presenter_addr.lock().unwrap();
        addrs.insert(number.clone(), addr);
    }

    pub fn presenter_addr(&self, number: &MeetingNumber) -> Option<IpAddr> {
        self.presenter_addr.lock().unwrap().get(number).copied()
    }
}

fn hex_sha256(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;

    #[test]
    fn meetings_persist_and_keys_check() {
        let store = Arc::new(MemoryStore::default());
        let meetings = Meetings::open(store.clone()).unwrap();
        let (m, key) = meetings.create("Review", true, true).unwrap();
        assert!(MeetingNumber::parse(m.number.as_str()).is_ok());
        assert!(m.host_key_matches(&key));
        assert!(!m.host_key_matches("k-wrong"));
        assert!(!m.host_key_matches(""));
        let reopened = Meetings::open(store).unwrap();
        assert_eq!(reopened.get(&m.number).unwrap().title, "Review");
    }

    #[test]
    fn numbers_are_nine_digits() {
        for bad in ["", "12345678", "012345678", "1234567890", "12345678a"] {
            assert!(MeetingNumber::parse(bad).is_err(), "{bad}");
        }
        for _ in 0..100 {
            let n = MeetingNumber::random();
            assert!(MeetingNumber::parse(n.as_str()).is_ok(), "{n}");
        }
    }
}
