//! A browser's way into a meeting, over real sockets: create and join over HTTP, log in with
//! the token account, enter the room, say hello to the focus, send requests, read events.

use std::net::SocketAddr;
use std::time::Duration;

use crate::http::{self, Response};
use crate::muc::find_descendant;
use crate::{xml, RawClient, Server};

/// The sync protocol's namespace.
pub const NS: &str = "urn:lectern:sync:1";

pub use crate::documents::json;

pub fn post_json(addr: SocketAddr, path: &str, body: serde_json::Value) -> Response {
    let body = body.to_string();
    http::request(
        addr,
        "POST",
        path,
        &[("Content-Type", "application/json")],
        body.as_bytes(),
    )
}

/// A browser's way in: join over HTTP, log in with the token, enter the room, say hello.
pub struct Member {
    pub client: RawClient,
    pub room: String,
    pub focus: String,
    pub number: String,
    pub nick: String,
}

impl Member {
    pub async fn join(
        server: &Server,
        number: &str,
        name: &str,
        key: Option<&str>,
    ) -> (Member, String) {
        let mut body = serde_json::json!({ "name": name });
        if let Some(k) = key {
            body["key"] = k.into();
        }
        let r = post_json(
            server.http_addr(),
            &format!("/api/meetings/{number}/join"),
            body,
        );
        assert_eq!(r.status, 200, "join: {}", r.text());
        let j = json(&r);
        assert_eq!(j["login"]["mechanism"], "token");
        let jid = j["login"]["jid"].as_str().unwrap();
        let local = jid.split('@').next().unwrap();
        let client = RawClient::login(
            server.xmpp_addr(),
            local,
            j["login"]["password"].as_str().unwrap(),
            None,
        )
        .await;
        let room = j["room"].as_str().unwrap().to_string();
        let mut m = Member {
            client,
            focus: j["focus"].as_str().unwrap().to_string(),
            nick: j["nick"].as_str().unwrap().to_string(),
            number: number.to_string(),
            room,
        };
        // Panics if refused: the focus set the room up before the join answer came back.
        m.client
            .join_room(&format!("{}/{}", m.room, m.nick), "")
            .await;
        let hello = m
            .iq(
                "set",
                &format!(
                    "<hello xmlns='{NS}' meeting='{number}' ticket='{}'/>",
                    j["ticket"].as_str().unwrap()
                ),
            )
            .await;
        (m, hello)
    }

    pub async fn iq(&mut self, kind: &str, payload: &str) -> String {
        let focus = self.focus.clone();
        self.client.iq(kind, &focus, payload).await
    }

    /// The focus's answer to the snapshot query for this member's meeting.
    pub async fn snapshot(&mut self) -> String {
        let query = format!("<snapshot xmlns='{NS}' meeting='{}'/>", self.number);
        self.iq("get", &query).await
    }

    pub async fn request(&mut self, t: u64, payload: &str) {
        let id = self.client.new_id();
        let stanza = format!(
            "<message to='{}' type='chat' id='{id}'><event xmlns='{NS}' meeting='{}' t='{t}'>{payload}</event></message>",
            self.focus, self.number
        );
        self.client.send(&stanza).await;
    }

    /// The next Lectern event from the focus in the room; other stanzas are skipped.
    pub async fn next_event(&mut self) -> String {
        let from = format!("{}/focus", self.room);
        self.client
            .expect_element("a sequenced event from the focus", |e| {
                xml::attr(e, "from").as_deref() == Some(from.as_str())
                    && find_descendant(e, "event", NS).is_some()
            })
            .await
    }

    /// The next error bounced by the focus.
    pub async fn next_error(&mut self) -> String {
        self.client
            .expect_element("a refused request", |e| {
                xml::name(e) == "message" && xml::attr(e, "type").as_deref() == Some("error")
            })
            .await
    }
}

pub fn seq_of(message: &str) -> u64 {
    let event = find_descendant(message, "event", NS).expect("an event");
    xml::attr(event, "seq").expect("seq").parse().unwrap()
}

pub fn create_meeting(server: &Server) -> (String, String) {
    let r = post_json(
        server.http_addr(),
        "/api/meetings",
        serde_json::json!({"title": "Review"}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let j = json(&r);
    (
        j["number"].as_str().unwrap().to_string(),
        j["host_key"].as_str().unwrap().to_string(),
    )
}

/// A one-page PNG document, ready when this returns.
pub fn upload_image(server: &Server) -> String {
    let mut png = Vec::new();
    let img = image::RgbImage::from_fn(64, 48, |x, y| image::Rgb([x as u8 * 4, y as u8 * 5, 90]));
    img.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    let r = http::post_file(server.http_addr(), "/api/documents", "slide.png", &png);
    assert!(r.status == 200 || r.status == 201, "upload: {}", r.text());
    let id = json(&r)["id"].as_str().unwrap().to_string();
    for _ in 0..200 {
        let m = json(&http::get(
            server.http_addr(),
            &format!("/api/documents/{id}"),
        ));
        if m["status"] == "ready" {
            return id;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("document {id} never became ready");
}
