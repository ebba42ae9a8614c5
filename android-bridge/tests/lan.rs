//! An attendee on the presenter's LAN (loopback counts) is told by the focus to pre-load the
//! shared document: it fetches the package, checks every page against the document event's
//! hashes, reports back (the presenter sees it), and later detects a cached page corrupted
//! on disk and fetches it again.

mod common;

use android_bridge::Change;
use common::presenter::Presenter;
use common::{create_meeting, upload_deck, Watched};
use lectern_system_tests::documents::sha256;
use lectern_system_tests::Server;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lan_attendee_preloads_verifies_and_refetches_a_corrupted_page() {
    let server = Server::start();
    let (number, key) = create_meeting(&server);
    let document = upload_deck(&server, 3);
    let mut presenter = Presenter::join(&server, &number, &key).await;
    presenter.share(10, &document, 3).await;

    let mut attendee = Watched::join(&server, server.xmpp_addr(), &number, "Carol");
    let joined = attendee.wait_for("joined", |c| matches!(c, Change::Joined { .. }));
    assert!(
        matches!(joined, Change::Joined { lan: true, .. }),
        "{joined:?}"
    );
    let preloaded = attendee.wait_for("the preload", |c| matches!(c, Change::Preloaded { .. }));
    assert_eq!(
        preloaded,
        Change::Preloaded {
            document: document.clone(),
            pages: 3
        }
    );
    let notice = presenter.expect_notice("preloaded").await;
    assert!(notice.contains("Carol"), "{notice}");

    let state: serde_json::Value = serde_json::from_str(&attendee.attendee.state_json()).unwrap();
    let hashes: Vec<String> = state["document"]["hashes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h.as_str().unwrap().to_owned())
        .collect();
    let cached = |hash: &str| {
        attendee
            .cache
            .path()
            .join("pages")
            .join(format!("{hash}.png"))
    };
    for hash in &hashes {
        let bytes = std::fs::read(cached(hash)).expect("every page is in the cache");
        assert_eq!(&sha256(&bytes), hash);
    }

    // Flip bytes in page 2 on disk; turning to it must not show them.
    let page2 = cached(&hashes[1]);
    let mut bytes = std::fs::read(&page2).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&page2, &bytes).unwrap();
    presenter.request(20, "<page n='2'/>").await;
    let ready = attendee.wait_for("page 2 on disk", |c| {
        matches!(c, Change::PageReady { page: 2, .. })
    });
    let Change::PageReady { path, .. } = ready else {
        unreachable!()
    };
    assert_eq!(sha256(&std::fs::read(path).unwrap()), hashes[1]);
    assert_eq!(attendee.attendee.stats().corrupt_pages, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_that_does_not_match_the_pin_is_refused() {
    let server = Server::start();
    let (number, _key) = create_meeting(&server);
    let mut attendee = Watched::join_with(&server, server.xmpp_addr(), &number, "Eve", |tls| {
        *tls = android_bridge::TlsMode::PinnedCertificate {
            sha256_hex: "ab".repeat(32),
        }
    });
    let refused = attendee.wait_for(
        "a refused connection",
        |c| matches!(c, Change::Problem { message } if message.contains("pinned")),
    );
    assert!(
        !attendee
            .seen
            .iter()
            .any(|c| matches!(c, Change::Online { .. })),
        "{refused:?}"
    );
}
