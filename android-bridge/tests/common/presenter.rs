//! A scripted presenter speaking raw XMPP, as the browser does: join over HTTP with the host
//! key, log in with the token account, enter the room, say hello, then send requests to the
//! focus stamped with its own clock.

use std::time::Duration;

use lectern_protocol::{from_element, MeetingState, Snapshot};
use lectern_system_tests::muc::find_descendant;
use lectern_system_tests::{xml, RawClient, Read, Server};

use super::{json, post_json};

const NS: &str = "urn:lectern:sync:1";

pub struct Presenter {
    pub client: RawClient,
    pub room: String,
    pub focus: String,
    pub number: String,
}

impl Presenter {
    /// Joins `number` with the host key and waits until the focus made it presenter.
    pub async fn join(server: &Server, number: &str, key: &str) -> Presenter {
        let r = post_json(
            server.http_addr(),
            &format!("/api/meetings/{number}/join"),
            serde_json::json!({"name": "Alice", "key": key}),
        );
        assert_eq!(r.status, 200, "join: {}", r.text());
        let j = json(&r);
        let local = j["login"]["jid"]
            .as_str()
            .unwrap()
            .split('@')
            .next()
            .unwrap();
        let client = RawClient::login(
            server.xmpp_addr(),
            local,
            j["login"]["password"].as_str().unwrap(),
            None,
        )
        .await;
        let mut p = Presenter {
            client,
            room: j["room"].as_str().unwrap().to_owned(),
            focus: j["focus"].as_str().unwrap().to_owned(),
            number: number.to_owned(),
        };
        let nick = j["nick"].as_str().unwrap().to_owned();
        p.client
            .join_room(&format!("{}/{nick}", p.room), "<history maxstanzas='0'/>")
            .await;
        let hello = p
            .iq(
                "set",
                &format!(
                    "<hello xmlns='{NS}' meeting='{number}' ticket='{}'/>",
                    j["ticket"].as_str().unwrap()
                ),
            )
            .await;
        assert!(hello.contains("presenter"), "{hello}");
        p
    }

    pub async fn iq(&mut self, kind: &str, payload: &str) -> String {
        let focus = self.focus.clone();
        self.client.iq(kind, &focus, payload).await
    }

    /// Sends one request stamped `t`.
    pub async fn request(&mut self, t: u64, payload: &str) {
        let id = self.client.new_id();
        let stanza = format!(
            "<message to='{}' type='chat' id='{id}'><event xmlns='{NS}' meeting='{}' t='{t}'>{payload}</event></message>",
            self.focus, self.number
        );
        self.client.send(&stanza).await;
        self.drain().await;
    }

    /// Shares `document` (the focus fills in the real hashes and sizes from its manifest).
    pub async fn share(&mut self, t: u64, document: &str, pages: u32) {
        let p: String = (1..=pages)
            .map(|n| format!("<p n='{n}' hash='{}' w='1' h='1'/>", "0".repeat(64)))
            .collect();
        let payload = format!(
            "<document id='{document}' pages='{pages}' base='/api/documents/{document}/' title='Deck'>{p}</document>"
        );
        self.request(t, &payload).await;
    }

    /// Reads whatever arrived so the server never sees us as a slow consumer.
    pub async fn drain(&mut self) {
        while let Read::Frame(_) = self.client.read_frame(Duration::ZERO).await {}
    }

    /// The focus's snapshot, in the canonical state form.
    pub async fn snapshot(&mut self) -> (u64, String) {
        let number = self.number.clone();
        let answer = self
            .iq(
                "get",
                &format!("<snapshot xmlns='{NS}' meeting='{number}'/>"),
            )
            .await;
        let el = find_descendant(&answer, "snapshot", NS).expect("a snapshot answer");
        let el: minidom::Element = el.parse().expect("snapshot XML");
        let snapshot: Snapshot = from_element(&el).expect("a valid snapshot");
        let state = MeetingState::from_snapshot(&snapshot).expect("consistent");
        (state.seq, state.state_json())
    }

    /// Waits for a direct message from the focus whose payload is `name`.
    pub async fn expect_notice(&mut self, name: &str) -> String {
        let tag = format!("<{name} ");
        self.client
            .expect_element(name, |e| {
                xml::name(e) == "message" && find_descendant(e, name, NS).is_some()
                    || e.contains(&tag)
            })
            .await
    }
}
