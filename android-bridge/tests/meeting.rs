//! A whole meeting through the real server: a scripted presenter shares a deck, turns pages,
//! draws and speaks (tone markers at the page turns' presenter times); the headless
//! `lectern-attend` ends in exactly the focus's state and its WAV holds the markers in order,
//! each heard within ±40 ms of the page turn it belongs to on the attendee's playout clock.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::presenter::Presenter;
use common::voice::{find_markers, read_wav, Marker, Voice};
use common::{create_meeting, upload_deck, WAIT};
use lectern_system_tests::{Server, TempDir};
use serde_json::Value;

/// The sync property under test: a page turn and its spoken marker at most this far apart.
const SYNC_MS: f64 = 40.0;

struct Attend {
    child: Child,
    lines: mpsc::Receiver<Value>,
    seen: Vec<Value>,
}

impl Attend {
    fn start(server: &Server, number: &str, dir: &TempDir) -> Attend {
        let cert = server.data_dir().join("tls").join("cert.pem");
        let mut child = Command::new(env!("CARGO_BIN_EXE_lectern-attend"))
            .arg(number)
            .args(["--server", &format!("http://{}", server.http_addr())])
            .args(["--xmpp", &server.xmpp_addr().to_string()])
            .arg("--pin-pem")
            .arg(cert)
            .arg("--wav")
            .arg(dir.path().join("heard.wav"))
            .arg("--cache")
            .arg(dir.path().join("cache"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("lectern-attend starts");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let mut value: Value = serde_json::from_str(&line)
                    .unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
                // The canonical text itself (serde_json's map would reorder its keys).
                if let Some(i) = line.find(",\"state\":") {
                    value["state_text"] = line[i + 9..line.len() - 1].into();
                }
                let _ = tx.send(value);
            }
        });
        Attend {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    fn wait_for(&mut self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let Ok(line) = self.lines.recv_timeout(left) else {
                panic!("lectern-attend: no {what}; last lines: {:#?}", self.tail());
            };
            self.seen.push(line.clone());
            if pred(&line) {
                return line;
            }
        }
    }

    fn tail(&self) -> &[Value] {
        &self.seen[self.seen.len().saturating_sub(6)..]
    }

    /// Closes its stdin (how it is told to stop) and waits for it.
    fn stop(mut self) -> Vec<Value> {
        drop(self.child.stdin.take());
        let status = self.child.wait().unwrap();
        assert!(status.success(), "lectern-attend exited with {status}");
        self.seen.extend(self.lines.try_iter());
        self.seen
    }
}

/// The presenter's actions at presenter times (ms); audio runs underneath from 0 to 5400.
fn script(document: &str) -> Vec<(u64, String)> {
    let p: String = (1..=3)
        .map(|n| format!("<p n='{n}' hash='{}' w='1' h='1'/>", "0".repeat(64)))
        .collect();
    vec![
        (
            100,
            format!("<document id='{document}' pages='3' base='/api/documents/{document}/' title='Deck'>{p}</document>"),
        ),
        (1500, "<page n='2'/>".into()),
        (1800, "<stroke-begin id='s1' page='2' tool='pen' color='#e53935' width='0.004'>0.1,0.2</stroke-begin>".into()),
        (1900, "<stroke-extend id='s1'>0.2,0.3 0.25,0.35</stroke-extend>".into()),
        (2000, "<stroke-end id='s1'/>".into()),
        (3000, "<page n='3'/>".into()),
        (3300, "<shape id='h1' page='3' kind='arrow' color='#1e88e5' width='0.003' x1='0.1' y1='0.1' x2='0.4' y2='0.3'/>".into()),
        (3400, "<text id='x1' page='3' color='#000000' size='0.03' x='0.2' y='0.5'>Revenue up</text>".into()),
        (3600, "<undo page='3'/>".into()),
        (4500, "<page n='1'/>".into()),
        (4700, "<pointer page='1' x='0.52' y='0.48'/>".into()),
        (5600, "<pointer hide='true'/>".into()),
    ]
}

const AUDIO_END_MS: u64 = 5400;
const BATCH_MS: u64 = 60;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headless_attendee_matches_the_focus_and_hears_page_turns_on_time() {
    let server = Server::start();
    let (number, key) = create_meeting(&server);
    let document = upload_deck(&server, 3);
    let mut presenter = Presenter::join(&server, &number, &key).await;
    let dir = TempDir::new("attend");
    let mut attend = Attend::start(&server, &number, &dir);
    let joined = attend.wait_for("joined", |l| l["change"] == "joined");
    assert_eq!(joined["role"], "attendee");

    let markers = vec![
        Marker {
            t_ms: 1500,
            hz: 700.0,
        },
        Marker {
            t_ms: 3000,
            hz: 1100.0,
        },
        Marker {
            t_ms: 4500,
            hz: 1500.0,
        },
    ];
    let mut voice = Voice::new(markers.clone());
    // Audio batches leave when their 60 ms have been "recorded", as a microphone's do.
    let mut actions: Vec<(u64, Option<String>, u64)> = script(&document)
        .into_iter()
        .map(|(t, payload)| (t, Some(payload), t))
        .collect();
    actions.extend(
        (0..AUDIO_END_MS / BATCH_MS).map(|k| (k * BATCH_MS + BATCH_MS, None, k * BATCH_MS)),
    );
    actions.sort_by_key(|a| a.0);
    let start = tokio::time::Instant::now();
    for (at, payload, t) in actions {
        tokio::time::sleep_until(start + Duration::from_millis(at)).await;
        let payload = payload.unwrap_or_else(|| voice.payload(t, (BATCH_MS / 20) as usize));
        presenter.request(t, &payload).await;
    }

    let (seq, focus_state) = presenter.snapshot().await;
    let last = attend.wait_for("the final state", |l| {
        l["change"] == "state" && l["seq"].as_u64() >= Some(seq)
    });
    let lines = attend.stop();
    let attendee_state = lines
        .iter()
        .rev()
        .find(|l| l["change"] == "state")
        .map(|l| l["state_text"].as_str().unwrap().to_owned())
        .unwrap();
    assert_eq!(last["seq"].as_u64(), Some(seq));
    assert_eq!(
        attendee_state, focus_state,
        "the attendee shows the focus's state"
    );

    let pcm = read_wav(&dir.path().join("heard.wav"));
    let heard = find_markers(&pcm, &[700.0, 1100.0, 1500.0]);
    let order: Vec<f64> = heard.iter().map(|(_, hz)| *hz).collect();
    assert_eq!(
        order,
        vec![700.0, 1100.0, 1500.0],
        "markers in order: {heard:?}"
    );
    let turns: Vec<&Value> = lines
        .iter()
        .filter(|l| l["change"] == "state" && l["kind"] == "page")
        .collect();
    assert_eq!(turns.len(), 3, "three page turns shown");
    for ((onset, hz), turn) in heard.iter().zip(&turns) {
        let shown = turn["wav_ms"].as_f64().unwrap();
        eprintln!(
            "marker {hz} Hz heard at {onset:.1} ms, page {} shown at {shown:.1} ms (playout {} for t {}): {:+.1} ms",
            turn["state"]["page"], turn["playout_ms"], turn["t"], shown - onset
        );
        assert!(
            (shown - onset).abs() <= SYNC_MS,
            "page {} shown {:.1} ms from its marker",
            turn["state"]["page"],
            shown - onset
        );
    }
    let _ = markers;
}
