//! What the replay page reads, from the real server: `timeline.json` is the zip's description,
//! `audio.ogg` is the zip's file and answers byte ranges (Chromium seeks an `<audio>` only with
//! them), both keep the recording's access rules, the replay page is served, and the zip
//! carries the offline player (`index.html`) and the page thumbnails.

use std::io::Cursor;

use lectern_system_tests::http;
use lectern_system_tests::meeting::{create_meeting, upload_image, Member};
use lectern_system_tests::recording::{member, share, silent_batch};
use lectern_system_tests::Server;

async fn record(server: &Server) -> (String, String, String) {
    let (number, key) = create_meeting(server);
    let (mut alice, _) = Member::join(server, &number, "Alice", Some(&key)).await;
    alice.next_event().await;
    let doc = upload_image(server);
    let share = share(&doc);
    alice.request(500, &share).await;
    alice.next_event().await;
    for batch in 0..20 {
        alice.request(1000 + batch * 60, &silent_batch()).await;
        alice.next_event().await;
    }
    (number, key, doc)
}

fn zip_member(bytes: &[u8], name: &str) -> Vec<u8> {
    member(
        &mut zip::ZipArchive::new(Cursor::new(bytes.to_vec())).expect("a zip"),
        name,
    )
}

#[tokio::test]
async fn the_replay_reads_the_zips_description_and_ranged_audio() {
    let server = Server::start();
    let (number, key, doc) = record(&server).await;
    let api = format!("/api/meetings/{number}/recording");
    let zip = http::get(server.http_addr(), &format!("{api}.zip?key={key}"));
    assert_eq!(zip.status, 200, "{}", zip.text());

    let tl = http::get(
        server.http_addr(),
        &format!("{api}/timeline.json?key={key}"),
    );
    assert_eq!(tl.status, 200, "{}", tl.text());
    let online: serde_json::Value = serde_json::from_slice(&tl.body).unwrap();
    let offline: serde_json::Value =
        serde_json::from_slice(&zip_member(&zip.body, "timeline.json")).unwrap();
    assert_eq!(online, offline, "one description for both");
    let page = &online["documents"][0]["pages"][0];
    let thumb = page["thumbnail"].as_str().expect("a thumbnail");
    let file = page["file"].as_str().expect("a page image");
    let ext = file.rsplit('.').next().unwrap();
    assert_eq!(file, format!("pages/{doc}/1.{ext}"));
    assert_eq!(thumb, format!("pages/{doc}/1.thumb.{ext}"));
    assert!(!zip_member(&zip.body, thumb).is_empty());

    let whole = zip_member(&zip.body, "audio.ogg");
    let audio = format!("{api}/audio.ogg?key={key}");
    let all = http::get(server.http_addr(), &audio);
    assert_eq!(all.status, 200);
    assert_eq!(all.header("accept-ranges"), Some("bytes"));
    assert_eq!(all.header("content-type"), Some("audio/ogg"));
    assert_eq!(all.body, whole);
    let part = http::request(
        server.http_addr(),
        "GET",
        &audio,
        &[("Range", "bytes=100-199")],
        b"",
    );
    assert_eq!(part.status, 206);
    assert_eq!(
        part.header("content-range"),
        Some(format!("bytes 100-199/{}", whole.len()).as_str())
    );
    assert_eq!(part.body, whole[100..200]);
    let tail = http::request(
        server.http_addr(),
        "GET",
        &audio,
        &[("Range", "bytes=-50")],
        b"",
    );
    assert_eq!(tail.status, 206);
    assert_eq!(tail.body, whole[whole.len() - 50..]);
    let past = format!("bytes={}-", whole.len());
    let none = http::request(server.http_addr(), "GET", &audio, &[("Range", &past)], b"");
    assert_eq!(none.status, 416);

    let html = String::from_utf8(zip_member(&zip.body, "index.html")).unwrap();
    assert!(html.contains("<script type=\"application/json\" id=\"recording\">"));
    assert!(
        html.contains("__m[\"replay/offline.js\"]"),
        "the player is inline"
    );
    assert!(
        !html.contains("type=\"module\""),
        "no module scripts: file:// refuses them"
    );

    let replay = http::get(
        server.http_addr(),
        &format!("/recordings/{number}/replay?key={key}"),
    );
    assert_eq!(replay.status, 200);
    assert!(replay.text().contains("/web/js/replay/online.js"));
    assert_eq!(
        http::get(server.http_addr(), "/recordings/12x/replay").status,
        404
    );
}

#[tokio::test]
async fn the_replay_endpoints_keep_the_recordings_access_rules() {
    let server = Server::start();
    let (number, key, _) = record(&server).await;
    for what in ["timeline.json", "audio.ogg"] {
        let path = format!("/api/meetings/{number}/recording/{what}");
        let none = http::get(server.http_addr(), &path);
        assert_eq!(none.status, 403, "{what} without a key: {}", none.text());
        let wrong = http::get(server.http_addr(), &format!("{path}?key=k-wrong"));
        assert_eq!(wrong.status, 403, "{what} with a wrong key");
        let token = http::get(server.http_addr(), &format!("{path}?token=nope"));
        assert_eq!(token.status, 403, "{what} with a token before sharing");
        let owner = http::get(server.http_addr(), &format!("{path}?key={key}"));
        assert_eq!(owner.status, 200, "{what} for the owner");
        let unknown = http::get(
            server.http_addr(),
            &format!("/api/meetings/999999999/recording/{what}?key={key}"),
        );
        assert_eq!(unknown.status, 404, "{what} of an unknown meeting");
    }
}
