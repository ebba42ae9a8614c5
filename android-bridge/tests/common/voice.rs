//! The presenter's "voice": a quiet hum with loud tone markers at known presenter times,
//! encoded to 20 ms Opus frames; and the other end, finding those markers in a WAV.

use base64::Engine as _;

pub const RATE: usize = 48_000;
const PER_MS: usize = RATE / 1000;
/// How long each marker tone lasts.
pub const MARKER_MS: u64 = 160;
const HUM_HZ: f64 = 220.0;
const HUM: f64 = 1000.0;
const TONE: f64 = 10000.0;

/// A tone of `hz` starting at presenter time `t_ms`.
#[derive(Debug, Clone, Copy)]
pub struct Marker {
    pub t_ms: u64,
    pub hz: f64,
}

pub struct Voice {
    encoder: opus::Encoder,
    markers: Vec<Marker>,
}

impl Voice {
    pub fn new(markers: Vec<Marker>) -> Voice {
        let mut encoder =
            opus::Encoder::new(RATE as u32, opus::Channels::Mono, opus::Application::Audio)
                .unwrap();
        encoder.set_bitrate(opus::Bitrate::Bits(64_000)).unwrap();
        Voice { encoder, markers }
    }

    fn sample(&self, i: usize) -> i16 {
        let secs = i as f64 / RATE as f64;
        let ms = (i / PER_MS) as u64;
        let mut v = HUM * (secs * HUM_HZ * std::f64::consts::TAU).sin();
        for m in &self.markers {
            if ms >= m.t_ms && ms < m.t_ms + MARKER_MS {
                v += TONE * (secs * m.hz * std::f64::consts::TAU).sin();
            }
        }
        v as i16
    }

    /// `frames` 20 ms Opus frames starting at presenter time `t_ms`.
    pub fn frames(&mut self, t_ms: u64, frames: usize) -> Vec<Vec<u8>> {
        (0..frames)
            .map(|f| {
                let start = (t_ms as usize + f * 20) * PER_MS;
                let pcm: Vec<i16> = (start..start + 20 * PER_MS)
                    .map(|i| self.sample(i))
                    .collect();
                self.encoder.encode_vec(&pcm, 1275).unwrap()
            })
            .collect()
    }

    /// The `<audio/>` payload for a batch starting at `t_ms`.
    pub fn payload(&mut self, t_ms: u64, frames: usize) -> String {
        let text: Vec<String> = self
            .frames(t_ms, frames)
            .iter()
            .map(|f| base64::engine::general_purpose::STANDARD.encode(f))
            .collect();
        format!(
            "<audio codec='opus' rate='48000' channels='1' ms='20'>{}</audio>",
            text.join(" ")
        )
    }
}

/// The samples of a mono 16-bit WAV.
pub fn read_wav(path: &std::path::Path) -> Vec<i16> {
    let bytes = std::fs::read(path).expect("the WAV file");
    assert_eq!(&bytes[..4], b"RIFF");
    bytes[44..]
        .chunks_exact(2)
        .map(|c| i16::from_le_bytes([c[0], c[1]]))
        .collect()
}

/// Amplitude of `hz` in `window` (Goertzel).
fn amplitude(window: &[i16], hz: f64) -> f64 {
    let w = std::f64::consts::TAU * hz / RATE as f64;
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0, 0.0);
    for &x in window {
        let s = f64::from(x) + coeff * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    let power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
    2.0 * power.max(0.0).sqrt() / window.len() as f64
}

/// Onsets (ms into the WAV) of every tone among `hz` that lasts at least half a marker,
/// in order, with the frequency heard.
pub fn find_markers(pcm: &[i16], hz: &[f64]) -> Vec<(f64, f64)> {
    let win = 5 * PER_MS;
    let mut found = Vec::new();
    let mut run: Option<(usize, f64, usize)> = None;
    for (k, window) in pcm.chunks_exact(win).enumerate() {
        let loudest = hz
            .iter()
            .map(|&f| (f, amplitude(window, f)))
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .filter(|(_, a)| *a > TONE * 0.3);
        run = match (run, loudest) {
            (Some((start, f, n)), Some((g, _))) if f == g => Some((start, f, n + 1)),
            (previous, now) => {
                if let Some((start, f, n)) = previous {
                    if n * 5 >= MARKER_MS as usize / 2 {
                        found.push((start as f64 * 5.0, f));
                    }
                }
                now.map(|(g, _)| (k, g, 1))
            }
        };
    }
    if let Some((start, f, n)) = run {
        if n * 5 >= MARKER_MS as usize / 2 {
            found.push((start as f64 * 5.0, f));
        }
    }
    found
}
