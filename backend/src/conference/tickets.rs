//! Short-lived credentials handed out by the HTTP join API: XMPP token accounts (so a browser
//! user never types XMPP credentials) and tickets (which tell the focus who a connection is).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jid::BareJid;

use super::meetings::MeetingNumber;
use crate::store::{Account, AccountStore, StoreError};
use crate::xmpp::sasl;

/// How long a token account can log in, and a ticket be presented; long enough for a
/// reconnect, short enough that a leaked one is soon useless.
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(600);

/// An [`AccountStore`] that answers for short-lived token accounts first and falls back to
/// the persistent store. Token accounts never touch the disk.
pub struct TokenAccounts {
    persistent: Arc<dyn AccountStore>,
    tokens: Mutex<HashMap<BareJid, (Account, Option<Instant>)>>,
}

impl TokenAccounts {
    pub fn new(persistent: Arc<dyn AccountStore>) -> Self {
        Self {
            persistent,
            tokens: Mutex::new(HashMap::new()),
        }
    }

    /// Creates an account valid until `lifetime` has passed (`None`: while this process
    /// runs, as for the focus). Returns the password.
    pub fn issue(&self, jid: &BareJid, lifetime: Option<Duration>) -> String {
        let password = sasl::random_id() + &sasl::random_id();
        let account = sasl::new_account(&password);
        let expiry = lifetime.map(|l| Instant::now() + l);
        let mut tokens = self.tokens.lock().unwrap();
        let now = Instant::now();
        tokens.retain(|_, (_, exp)| exp.is_none_or(|e| e > now));
        tokens.insert(jid.clone(), (account, expiry));
        password
    }
}

impl AccountStore for TokenAccounts {
    fn account(&self, jid: &BareJid) -> Result<Option<Account>, StoreError> {
        {
            let tokens = self.tokens.lock().unwrap();
            if let Some((account, expiry)) = tokens.get(jid) {
                if expiry.is_none_or(|e| e > Instant::now()) {
                    return Ok(Some(account.clone()));
                }
                return Ok(None);
            }
        }
        self.persistent.account(jid)
    }

    fn put_account(&self, jid: &BareJid, account: &Account) -> Result<(), StoreError> {
        self.persistent.put_account(jid, account)
    }

    fn delete_account(&self, jid: &BareJid) -> Result<bool, StoreError> {
        self.persistent.delete_account(jid)
    }
}

/// Who a connection is, as the HTTP join API saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct Ticket {
    pub meeting: MeetingNumber,
    pub name: String,
    pub presenter: bool,
    pub lan: bool,
}

#[derive(Default)]
pub struct Tickets {
    issued: Mutex<HashMap<String, (Ticket, Instant)>>,
}

impl Tickets {
    pub fn issue(&self, ticket: Ticket) -> String {
        let id = sasl::random_id() + &sasl::random_id();
        let now = Instant::now();
        let mut issued = self.issued.lock().unwrap();
        issued.retain(|_, (_, expiry)| *expiry > now);
        issued.insert(id.clone(), (ticket, now + TOKEN_LIFETIME));
        id
    }

    /// The ticket, if it was issued for `meeting` and has not expired.
    pub fn check(&self, id: &str, meeting: &MeetingNumber) -> Option<Ticket> {
        let issued = self.issued.lock().unwrap();
        issued
            .get(id)
            .filter(|(t, expiry)| *expiry > Instant::now() && &t.meeting == meeting)
            .map(|(t, _)| t.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;

    #[test]
    fn token_accounts_expire_and_fall_back() {
        let store = Arc::new(MemoryStore::default());
        let persistent = BareJid::new("alice@localhost").unwrap();
        store
            .put_account(&persistent, &sasl::new_account("pw"))
            .unwrap();
        let tokens = TokenAccounts::new(store);
        let live = BareJid::new("t-1@localhost").unwrap();
        let gone = BareJid::new("t-2@localhost").unwrap();
        tokens.issue(&live, Some(Duration::from_secs(60)));
        tokens.issue(&gone, Some(Duration::ZERO));
        assert!(tokens.account(&live).unwrap().is_some());
        assert!(tokens.account(&gone).unwrap().is_none());
        assert!(tokens.account(&persistent).unwrap().is_some());
    }

    #[test]
    fn tickets_are_bound_to_their_meeting() {
        let tickets = Tickets::default();
        let m1 = MeetingNumber::parse("100000001").unwrap();
        let m2 = MeetingNumber::parse("100000002").unwrap();
        let id = tickets.issue(Ticket {
            meeting: m1.clone(),
            name: "Ann".into(),
            presenter: true,
            lan: false,
        });
        assert!(tickets.check(&id, &m1).unwrap().presenter);
        assert!(tickets.check(&id, &m2).is_none());
        assert!(tickets.check("nope", &m1).is_none());
    }
}
