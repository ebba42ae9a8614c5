//! What a replay searches and draws, from the real server: the room's chat (said by an
//! ordinary groupchat message, as any XMPP client would), the slides' text and the audio's
//! waveform are in the recording's `timeline.json`; deleting the recording takes the chat.

use std::time::{Duration, Instant};

use lectern_system_tests::meeting::{create_meeting, Member};
use lectern_system_tests::muc::groupchat;
use lectern_system_tests::recording;
use lectern_system_tests::recording::{
    download, ready_deck, share, silent_batch, timeline as described,
};
use lectern_system_tests::xml;
use lectern_system_tests::Server;
#[tokio::test]
async fn chat_slide_text_and_waveform_are_in_the_timeline_and_delete_takes_the_chat() {
    let server = Server::start();
    let (number, key) = create_meeting(&server);
    let (mut alice, _) = Member::join(&server, &number, "Alice", Some(&key)).await;
    alice.next_event().await;
    let (mut bob, _) = Member::join(&server, &number, "Bob", None).await;
    let doc = ready_deck(&server, 3);
    alice.request(500, &share(&doc)).await;
    alice.next_event().await;
    for k in 0..10u64 {
        alice.request(1000 + k * 60, &silent_batch()).await;
        alice.next_event().await;
    }
    alice.request(2000, "<page n='2'/>").await;
    alice.next_event().await;

    let said = "Where is marker-2 <explained> & why?";
    let room = bob.room.clone();
    bob.client.send(&groupchat(&room, "c1", said)).await;
    // The room echoes the line to its sender once it has gone to every occupant.
    bob.client
        .expect_element("Bob's line back from the room", |e| {
            xml::name(e) == "message" && e.contains("marker-2")
        })
        .await;

    // The focus hears the line on its own connection; give it a moment, bounded.
    let deadline = Instant::now() + Duration::from_secs(20);
    let tl = loop {
        let tl = described(&mut download(&server, &number, &key));
        if tl["chat"].as_array().is_some_and(|c| !c.is_empty()) || Instant::now() > deadline {
            break tl;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let chat = tl["chat"].as_array().expect("a chat list");
    assert_eq!(chat.len(), 1, "{chat:?}");
    assert_eq!(chat[0]["nick"], bob.nick.as_str());
    assert_eq!(chat[0]["body"], said);
    let t = chat[0]["t"].as_u64().unwrap();
    assert!(
        (2000..62_000).contains(&t),
        "stamped on the presenter clock after the last event (t=2000): {t}"
    );

    let pages = tl["documents"][0]["pages"].as_array().unwrap();
    assert_eq!(pages.len(), 3);
    for (i, page) in pages.iter().enumerate() {
        let text = page["text"].as_str().unwrap_or_default();
        assert!(
            text.contains(&format!("marker-{}", i + 1)),
            "page {} text: {text:?}",
            i + 1
        );
    }

    let wave = &tl["waveform"];
    assert_eq!(wave["step_ms"], 100);
    let peaks = wave["peaks"].as_array().expect("peaks");
    let duration = tl["audio"]["duration_ms"].as_u64().unwrap();
    assert_eq!(peaks.len() as u64, duration.div_ceil(100), "{wave}");
    assert!(
        peaks.iter().all(|p| p.as_u64().unwrap() < 3),
        "silence frames are silent: {wave}"
    );

    let r = recording::delete(&server, &number, &format!("key={key}"));
    assert_eq!(r.status, 204, "{}", r.text());
    let tl = described(&mut download(&server, &number, &key));
    assert_eq!(tl["chat"], serde_json::json!([]), "{}", tl["chat"]);
}
