//! Bystanders: two sessions logged in before a test misbehaves, checked afterwards
//! to show that one bad connection did not hurt anyone else.

use crate::raw::{assert_message_delivered, RawClient};
use crate::server::{Server, ServerBuilder};
use crate::xml::{self, Frame};

const USERS: [(&str, &str); 2] = [("witness1", "w1-secret"), ("witness2", "w2-secret")];

/// Extension for [`ServerBuilder`]: create the witness accounts.
pub trait WithWitnesses {
    /// Create the accounts [`Witnesses::login`] uses.
    fn with_witnesses(self) -> Self;
}

impl WithWitnesses for ServerBuilder {
    fn with_witnesses(self) -> Self {
        USERS
            .iter()
            .fold(self, |b, (user, password)| b.user(user, password))
    }
}

/// Two already-logged-in sessions.
#[derive(Debug)]
pub struct Witnesses {
    /// `witness1@localhost/w`
    pub a: RawClient,
    /// `witness2@localhost/w`
    pub b: RawClient,
}

impl Witnesses {
    /// Log both witnesses in (the server must have been built `with_witnesses()`)
    /// and check they work before anything else happens.
    pub async fn login(server: &Server) -> Witnesses {
        let addr = server.xmpp_addr();
        let a = RawClient::login(addr, USERS[0].0, USERS[0].1, Some("w")).await;
        let b = RawClient::login(addr, USERS[1].0, USERS[1].1, Some("w")).await;
        let mut w = Witnesses { a, b };
        w.assert_alive().await;
        w
    }

    /// Both sessions still answer: a ping to the server from each, and a message
    /// each way between them.
    pub async fn assert_alive(&mut self) {
        self.a.ping_server().await;
        self.b.ping_server().await;
        assert_message_delivered(&mut self.a, &mut self.b).await;
        assert_message_delivered(&mut self.b, &mut self.a).await;
    }

    /// Show that no message with id `forbidden` reached witness `a`: `b` sends a
    /// marker message to `a`, and everything `a` receives before the marker is
    /// checked (the server delivers in order on one connection).
    pub async fn assert_not_delivered_to_a(&mut self, forbidden: &str) {
        let a_jid = self.a.jid().to_owned();
        let marker = self.b.send_message(&a_jid, "marker").await;
        loop {
            match self.a.next_frame().await {
                Some(Frame::Element(e)) if xml::name(&e) == "message" => {
                    let id = xml::attr(&e, "id");
                    assert_ne!(
                        id.as_deref(),
                        Some(forbidden),
                        "a stanza that should have been rejected was delivered: {e}"
                    );
                    if id.as_deref() == Some(marker.as_str()) {
                        return;
                    }
                }
                Some(_) => {}
                None => panic!("witness a disconnected\n{}", self.a.context()),
            }
        }
    }
}
