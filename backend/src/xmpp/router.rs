//! Who is connected, and handing stanzas to their connections.
//!
//! The router never waits: deliveries are `try_send` into each connection's bounded mailbox.
//! A connection whose mailbox is full has stopped reading; it is removed and told to close,
//! so one slow client never holds up a sender or a room.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use jid::{BareJid, FullJid};
use minidom::Element;
use tokio::sync::{mpsc, Notify};

use super::error::StreamErrorKind;

/// A stanza on its way to one connection.
#[derive(Debug, Clone)]
pub enum Outbound {
    Element(Element),
    /// Rendered once for a whole fan-out; each recipient's `to` is spliced in when written.
    Shared {
        to: String,
        stanza: Arc<Rendered>,
    },
    /// Several stanzas that arrive together (a joiner's view of a room) and so take one
    /// place in the queue: a burst the server produces must not count as a slow reader.
    Batch(Vec<Outbound>),
}

/// A stanza serialised without a `to` attribute, and where to insert one.
#[derive(Debug)]
pub struct Rendered {
    text: String,
    name_end: usize,
}

impl Rendered {
    /// `e` must not carry a `to` attribute.
    pub fn new(e: &Element) -> Self {
        let text = super::xml::render(e);
        Self {
            name_end: 1 + e.name().len(),
            text,
        }
    }
}

impl Outbound {
    /// Each stanza's XML text, in order (one per WebSocket frame).
    pub fn render_each(&self, out: &mut Vec<String>) {
        match self {
            Outbound::Batch(items) => items.iter().for_each(|i| i.render_each(out)),
            other => out.push(other.render()),
        }
    }

    /// The XML text for the wire.
    pub fn render(&self) -> String {
        match self {
            Outbound::Batch(items) => items.iter().map(Outbound::render).collect(),
            Outbound::Element(e) => super::xml::render(e),
            Outbound::Shared { to, stanza } => {
                let to = super::xml::escape(to);
                let mut out = String::with_capacity(stanza.text.len() + to.len() + 6);
                out.push_str(&stanza.text[..stanza.name_end]);
                out.push_str(" to='");
                out.push_str(&to);
                out.push('\'');
                out.push_str(&stanza.text[stanza.name_end..]);
                out
            }
        }
    }
}

impl From<Element> for Outbound {
    fn from(e: Element) -> Self {
        Outbound::Element(e)
    }
}

/// Tells a connection task to end its stream, and why.
#[derive(Default)]
pub struct Kill {
    notify: Notify,
    reason: Mutex<Option<StreamErrorKind>>,
}

impl Kill {
    pub fn fire(&self, reason: StreamErrorKind) {
        self.reason.lock().unwrap().get_or_insert(reason);
        self.notify.notify_one();
    }

    /// Why the connection was told to close, if it was.
    pub fn reason(&self) -> Option<StreamErrorKind> {
        self.reason.lock().unwrap().clone()
    }

    /// Resolves once [`Kill::fire`] was called (even before this was awaited).
    pub async fn fired(&self) -> StreamErrorKind {
        loop {
            if let Some(r) = self.reason.lock().unwrap().clone() {
                return r;
            }
            self.notify.notified().await;
        }
    }
}

/// The router's handle on one connection.
#[derive(Clone)]
pub struct SessionHandle {
    pub id: u64,
    tx: mpsc::Sender<Outbound>,
    kill: Arc<Kill>,
}

/// The connection's side: its mailbox and kill switch.
pub struct Mailbox {
    pub rx: mpsc::Receiver<Outbound>,
    pub kill: Arc<Kill>,
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// A new handle/mailbox pair with room for `capacity` stanzas.
pub fn mailbox(capacity: usize) -> (SessionHandle, Mailbox) {
    let (tx, rx) = mpsc::channel(capacity);
    let kill = Arc::new(Kill::default());
    let handle = SessionHandle {
        id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
        tx,
        kill: kill.clone(),
    };
    (handle, Mailbox { rx, kill })
}

impl SessionHandle {
    pub fn kill(&self, reason: StreamErrorKind) {
        self.kill.fire(reason);
    }

    pub fn kill_reason(&self) -> Option<StreamErrorKind> {
        self.kill.reason()
    }
}

/// One bound resource as the router sees it.
#[derive(Clone)]
pub struct Resource {
    pub jid: FullJid,
    pub handle: SessionHandle,
    /// Has sent available presence.
    pub available: bool,
    pub priority: i8,
}

/// Why a stanza did not reach a connection.
#[derive(Debug, PartialEq, Eq)]
pub enum Undeliverable {
    /// No such session.
    Offline,
    /// The session was not reading and has been disconnected.
    Overflow,
}

#[derive(Default)]
pub struct Router {
    sessions: RwLock<HashMap<BareJid, Vec<Resource>>>,
}

impl Router {
    /// Binds a resource. A session already holding the same full JID is told to close with
    /// `conflict` and replaced (RFC 6120 §7.7.2.2, "override").
    pub fn bind(&self, jid: FullJid, handle: SessionHandle) {
        let mut map = self.sessions.write().unwrap();
        let list = map.entry(jid.to_bare()).or_default();
        if let Some(pos) = list.iter().position(|r| r.jid == jid) {
            list.remove(pos).handle.kill(StreamErrorKind::Conflict);
        }
        list.push(Resource {
            jid,
            handle,
            available: false,
            priority: 0,
        });
    }

    /// Removes the binding if it still belongs to session `id`.
    pub fn unbind(&self, jid: &FullJid, id: u64) {
        let mut map = self.sessions.write().unwrap();
        let bare = jid.to_bare();
        if let Some(list) = map.get_mut(&bare) {
            list.retain(|r| !(r.jid == *jid && r.handle.id == id));
            if list.is_empty() {
                map.remove(&bare);
            }
        }
    }

    pub fn set_presence(&self, jid: &FullJid, available: bool, priority: i8) {
        let mut map = self.sessions.write().unwrap();
        if let Some(r) = map
            .get_mut(&jid.to_bare())
            .and_then(|l| l.iter_mut().find(|r| r.jid == *jid))
        {
            r.available = available;
            r.priority = priority;
        }
    }

    /// A snapshot of a user's resources (the lock is released before anything is sent).
    pub fn resources(&self, bare: &BareJid) -> Vec<Resource> {
        self.sessions
            .read()
            .unwrap()
            .get(bare)
            .cloned()
            .unwrap_or_default()
    }

    pub fn find(&self, jid: &FullJid) -> Option<Resource> {
        // Clone only the match: fan-out calls this once per recipient.
        self.sessions
            .read()
            .unwrap()
            .get(&jid.to_bare())?
            .iter()
            .find(|r| r.jid == *jid)
            .cloned()
    }

    /// Tells every connection the server is going away (`system-shutdown`).
    pub fn shutdown(&self) {
        for list in self.sessions.read().unwrap().values() {
            for r in list {
                r.handle.kill(StreamErrorKind::SystemShutdown);
            }
        }
    }

    pub fn session_count(&self) -> usize {
        self.sessions.read().unwrap().values().map(Vec::len).sum()
    }

    /// Hands a stanza to one connection without waiting.
    pub fn deliver(&self, to: &Resource, stanza: impl Into<Outbound>) -> Result<(), Undeliverable> {
        match to.handle.tx.try_send(stanza.into()) {
            Ok(()) => Ok(()),
            Err(mpsc::error::TrySendError::Closed(_)) => Err(Undeliverable::Offline),
            Err(mpsc::error::TrySendError::Full(_)) => {
                tracing::warn!(jid = %to.jid, "outbound queue full; disconnecting a client that stopped reading");
                self.unbind(&to.jid, to.handle.id);
                to.handle.kill(StreamErrorKind::QueueOverflow);
                Err(Undeliverable::Overflow)
            }
        }
    }

    /// Delivers to the session bound to `jid`, if any.
    pub fn deliver_full(
        &self,
        jid: &FullJid,
        stanza: impl Into<Outbound>,
    ) -> Result<(), Undeliverable> {
        let r = self.find(jid).ok_or(Undeliverable::Offline)?;
        self.deliver(&r, stanza)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg() -> Element {
        Element::bare("message", "jabber:client")
    }

    #[test]
    fn shared_stanzas_get_each_recipient_address() {
        let e: Element = "<message xmlns='jabber:client' from='r@c/n'><body>&amp;</body></message>"
            .parse()
            .unwrap();
        let shared = Arc::new(Rendered::new(&e));
        let out = Outbound::Shared {
            to: "a'b@x/y".into(),
            stanza: shared,
        };
        let back: Element = out.render().parse().unwrap();
        assert_eq!(back.attr("to"), Some("a'b@x/y"));
        assert_eq!(back.attr("from"), Some("r@c/n"));
        assert_eq!(back.get_child("body", "jabber:client").unwrap().text(), "&");
    }

    #[tokio::test]
    async fn overflow_disconnects_only_the_slow_session() {
        let router = Router::default();
        let slow: FullJid = "a@x/slow".parse().unwrap();
        let fast: FullJid = "b@x/fast".parse().unwrap();
        let (h1, m1) = mailbox(2);
        let (h2, mut m2) = mailbox(2);
        router.bind(slow.clone(), h1);
        router.bind(fast.clone(), h2);
        assert_eq!(router.deliver_full(&slow, msg()), Ok(()));
        assert_eq!(router.deliver_full(&slow, msg()), Ok(()));
        assert_eq!(
            router.deliver_full(&slow, msg()),
            Err(Undeliverable::Overflow)
        );
        assert_eq!(m1.kill.fired().await, StreamErrorKind::QueueOverflow);
        assert_eq!(
            router.deliver_full(&slow, msg()),
            Err(Undeliverable::Offline)
        );
        for _ in 0..10 {
            router.deliver_full(&fast, msg()).unwrap();
            m2.rx.recv().await.unwrap();
        }
    }

    #[tokio::test]
    async fn rebinding_a_resource_kills_the_old_session() {
        let router = Router::default();
        let jid: FullJid = "a@x/r".parse().unwrap();
        let (old, old_mb) = mailbox(4);
        let (new, _new_mb) = mailbox(4);
        let old_id = old.id;
        router.bind(jid.clone(), old);
        router.bind(jid.clone(), new);
        assert_eq!(old_mb.kill.fired().await, StreamErrorKind::Conflict);
        // The old session's cleanup must not remove the new binding.
        router.unbind(&jid, old_id);
        assert_eq!(router.session_count(), 1);
    }
}
