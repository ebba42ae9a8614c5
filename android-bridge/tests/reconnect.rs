//! The attendee's TCP connection is cut (a proxy drops it and refuses new ones) while the
//! presenter goes on; once the network is back, the engine logs in again, re-enters the
//! room and catches up by `seq` — every missed event applied in order, no snapshot reload.

mod common;

use std::time::Duration;

use android_bridge::Change;
use common::presenter::Presenter;
use common::proxy::Proxy;
use common::{create_meeting, upload_deck, Watched};
use lectern_system_tests::Server;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_connection_comes_back_and_catches_up_by_seq() {
    let server = Server::start();
    let (number, key) = create_meeting(&server);
    let document = upload_deck(&server, 3);
    let mut presenter = Presenter::join(&server, &number, &key).await;
    presenter.share(10, &document, 3).await;

    let proxy = Proxy::start(server.xmpp_addr());
    let mut attendee = Watched::join(&server, proxy.addr, &number, "Bob");
    attendee.wait_for("joined", |c| matches!(c, Change::Joined { .. }));
    attendee.wait_for_seq(2);
    presenter.request(20, "<page n='2'/>").await;
    attendee.wait_for_seq(3);

    proxy.cut();
    presenter.request(30, "<page n='3'/>").await;
    presenter
        .request(40, "<stroke-begin id='s1' page='3' tool='pen' color='#e53935' width='0.004'>0.1,0.2</stroke-begin>")
        .await;
    presenter
        .request(50, "<stroke-extend id='s1'>0.2,0.3</stroke-extend>")
        .await;
    presenter.request(60, "<stroke-end id='s1'/>").await;
    let (seq, focus_state) = presenter.snapshot().await;
    assert_eq!(seq, 7);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let pending: Vec<Change> = attendee.changes.try_iter().collect();
    attendee.seen.extend(pending);
    assert!(
        !attendee
            .seen
            .iter()
            .any(|c| matches!(c, Change::State { seq: 4.., .. })),
        "nothing got through the cut"
    );
    proxy.restore();

    attendee.wait_for("the reconnect", |c| {
        matches!(c, Change::Online { reconnected: true })
    });
    let state = attendee.wait_for_seq(seq);
    assert_eq!(state, focus_state);
    let after: Vec<(u64, String)> = attendee
        .seen
        .iter()
        .filter_map(|c| match c {
            Change::State { seq, kind, .. } if *seq > 3 => Some((*seq, kind.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        after,
        vec![
            (4, "page".to_owned()),
            (5, "stroke-begin".to_owned()),
            (6, "stroke-extend".to_owned()),
            (7, "stroke-end".to_owned()),
        ],
        "every missed event, in order, none reloaded from a snapshot"
    );
    let stats = attendee.attendee.stats();
    assert!(stats.reconnects >= 1, "{stats:?}");
    assert!(stats.catch_up_queries >= 1, "{stats:?}");
    assert_eq!(attendee.attendee.state_json(), focus_state);
}
