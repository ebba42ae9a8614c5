//! `lectern-attend MEETING`: a headless attendee on the Android engine. Prints every change
//! as one JSON line on stdout and can write what it heard to a WAV file; it stops when its
//! standard input closes. Used by the system tests and as a load client.

use std::fs::File;
use std::io::{BufRead, Seek, SeekFrom, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use android_bridge::{Attendee, AttendeeConfig, AttendeeListener, Change, TlsMode, SAMPLE_RATE};

const USAGE: &str = "usage: lectern-attend MEETING --server URL [--xmpp HOST:PORT] \
[--name NAME] [--cache DIR] [--wav FILE] [--pin SHA256 | --pin-pem FILE | --insecure-tls | --plain]";

/// How often the simulated audio output pulls; page turns are stamped with the WAV position
/// at the moment they are shown, so this bounds how far apart the two can be read.
const PULL_EVERY: Duration = Duration::from_millis(5);

struct Options {
    config: AttendeeConfig,
    wav: Option<String>,
}

fn parse(args: Vec<String>) -> Result<Options, String> {
    let mut meeting = None;
    let mut server = None;
    let mut xmpp = None;
    let mut name = "Headless attendee".to_owned();
    let mut cache = None;
    let mut wav = None;
    let mut tls = None;
    let mut it = args.into_iter();
    while let Some(arg) = it.next() {
        let mut value = || it.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--server" => server = Some(value()?),
            "--xmpp" => xmpp = Some(value()?),
            "--name" => name = value()?,
            "--cache" => cache = Some(value()?),
            "--wav" => wav = Some(value()?),
            "--pin" => {
                tls = Some(TlsMode::PinnedCertificate {
                    sha256_hex: value()?,
                })
            }
            "--pin-pem" => {
                let pem = std::fs::read_to_string(value()?).map_err(|e| e.to_string())?;
                let sha256_hex =
                    android_bridge::certificate_pin_from_pem(pem).map_err(|e| e.to_string())?;
                tls = Some(TlsMode::PinnedCertificate { sha256_hex });
            }
            "--insecure-tls" => tls = Some(TlsMode::InsecureAcceptAnyCertificate),
            "--plain" => tls = Some(TlsMode::InsecurePlainTcp),
            "-h" | "--help" => return Err(USAGE.into()),
            other if !other.starts_with('-') && meeting.is_none() => meeting = Some(arg),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    let cache_dir = cache.unwrap_or_else(|| {
        std::env::temp_dir()
            .join(format!("lectern-attend-{}", std::process::id()))
            .display()
            .to_string()
    });
    Ok(Options {
        config: AttendeeConfig {
            server_url: server.ok_or(USAGE)?,
            xmpp_address: xmpp,
            meeting: meeting.ok_or(USAGE)?,
            name,
            cache_dir,
            tls: tls.unwrap_or(TlsMode::InsecureAcceptAnyCertificate),
        },
        wav,
    })
}

/// Prints changes; `State` lines carry the WAV position being heard when it was shown.
struct Printer {
    heard: Arc<AtomicU64>,
}

impl AttendeeListener for Printer {
    fn on_change(&self, change: Change) {
        let wav_ms = self.heard.load(Ordering::Relaxed) as f64 * 1000.0 / f64::from(SAMPLE_RATE);
        let line = match change {
            Change::State {
                seq,
                kind,
                t,
                playout_ms,
                state_json,
            } => format!(
                "{{\"change\":\"state\",\"seq\":{seq},\"kind\":{},\"t\":{},\"playout_ms\":{},\"wav_ms\":{wav_ms:.1},\"state\":{state_json}}}",
                serde_json::json!(kind),
                serde_json::json!(t),
                serde_json::json!(playout_ms),
            ),
            Change::Joined { nick, role, lan, audio } => serde_json::json!({
                "change": "joined", "nick": nick, "role": role, "lan": lan, "audio": audio
            })
            .to_string(),
            Change::Online { reconnected } => {
                serde_json::json!({"change": "online", "reconnected": reconnected}).to_string()
            }
            Change::PageReady { document, page, path } => serde_json::json!({
                "change": "page", "document": document, "page": page, "path": path
            })
            .to_string(),
            Change::Preloaded { document, pages } => serde_json::json!({
                "change": "preloaded", "document": document, "pages": pages
            })
            .to_string(),
            Change::Problem { message } => {
                serde_json::json!({"change": "problem", "message": message}).to_string()
            }
        };
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    }
}

/// A mono 16-bit WAV whose header is kept valid after every write, so even a killed
/// process leaves a playable file.
struct Wav {
    file: File,
    samples: u32,
}

impl Wav {
    fn create(path: &str) -> std::io::Result<Wav> {
        let mut wav = Wav {
            file: File::create(path)?,
            samples: 0,
        };
        wav.header()?;
        Ok(wav)
    }

    fn header(&mut self) -> std::io::Result<()> {
        let data = self.samples * 2;
        let mut h = Vec::with_capacity(44);
        h.extend_from_slice(b"RIFF");
        h.extend_from_slice(&(36 + data).to_le_bytes());
        h.extend_from_slice(b"WAVEfmt ");
        h.extend_from_slice(&16u32.to_le_bytes());
        h.extend_from_slice(&1u16.to_le_bytes());
        h.extend_from_slice(&1u16.to_le_bytes());
        h.extend_from_slice(&SAMPLE_RATE.to_le_bytes());
        h.extend_from_slice(&(SAMPLE_RATE * 2).to_le_bytes());
        h.extend_from_slice(&2u16.to_le_bytes());
        h.extend_from_slice(&16u16.to_le_bytes());
        h.extend_from_slice(b"data");
        h.extend_from_slice(&data.to_le_bytes());
        self.file.seek(SeekFrom::Start(0))?;
        self.file.write_all(&h)?;
        self.file.seek(SeekFrom::End(0))?;
        Ok(())
    }

    fn write(&mut self, pcm: &[i16]) -> std::io::Result<()> {
        let bytes: Vec<u8> = pcm.iter().flat_map(|s| s.to_le_bytes()).collect();
        self.file.write_all(&bytes)?;
        self.samples += pcm.len() as u32;
        self.header()
    }
}

fn main() {
    let options = match parse(std::env::args().skip(1).collect()) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let mut wav = match options.wav.as_deref().map(Wav::create).transpose() {
        Ok(w) => w,
        Err(e) => {
            eprintln!("cannot write the WAV file: {e}");
            std::process::exit(1);
        }
    };
    let heard = Arc::new(AtomicU64::new(0));
    let printer = Box::new(Printer {
        heard: heard.clone(),
    });
    let attendee = match Attendee::new(options.config, printer) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    let stop = Arc::new(AtomicBool::new(false));
    let stopper = stop.clone();
    std::thread::spawn(move || {
        for _ in std::io::stdin().lock().lines() {}
        stopper.store(true, Ordering::Relaxed);
    });
    // The simulated audio output: pulls exactly as many samples as real time has passed.
    let start = Instant::now();
    let mut written: u64 = 0;
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(PULL_EVERY);
        let due = start.elapsed().as_micros() as u64 * u64::from(SAMPLE_RATE) / 1_000_000;
        let pcm = attendee.pull_pcm((due - written) as u32);
        written = due;
        heard.store(written, Ordering::Relaxed);
        if let Some(w) = wav.as_mut() {
            if let Err(e) = w.write(&pcm) {
                eprintln!("writing the WAV file: {e}");
                break;
            }
        }
    }
    let stats = attendee.stats();
    attendee.close();
    eprintln!("{stats:?}");
}
