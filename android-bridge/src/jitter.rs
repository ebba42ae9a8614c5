//! The audio jitter buffer: Opus frames keyed by their presenter-clock start, decoded on
//! demand (48 kHz mono, whatever the sender's rate) into the PCM the app pulls.
//!
//! The read cursor follows the playout clock: it starts at the presenter time being
//! presented and then advances by exactly the samples pulled, so an app's audio output sets
//! the pace; when the two drift apart by more than [`RESYNC_MS`] (the clock's delay changed,
//! or the app stopped pulling) the cursor jumps back onto the clock. Frames whose time has
//! passed are dropped instead of played late; a missing frame is concealed by libopus.
//! Each speaker (the `speaker` the focus sets) has its own decoder; the voices are mixed.

use std::collections::{BTreeMap, VecDeque};

use lectern_protocol::Audio;

/// Output sample rate (Hz); the app plays mono 16-bit PCM at this rate.
pub const SAMPLE_RATE: u32 = 48_000;
const PER_MS: i64 = (SAMPLE_RATE / 1000) as i64;
/// Cursor and clock further apart than this (ms) are brought back together.
pub const RESYNC_MS: i64 = 60;
/// Safety margin (ms) on top of the latest lateness seen.
const MARGIN_MS: i64 = 20;
/// Audio batches whose lateness sets the target.
const WINDOW: usize = 100;
/// Frames concealed after real audio stops before plain silence takes over.
const MAX_CONCEALED: u32 = 5;

/// Counters for diagnostics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JitterStats {
    /// Frames decoded and played.
    pub played: u64,
    /// Frames that arrived after their time had passed.
    pub late: u64,
    /// Frames concealed by libopus.
    pub concealed: u64,
    /// Times the cursor jumped back onto the clock.
    pub resyncs: u64,
}

/// One speaker's frames and decoder (Opus decoders keep state, so each voice has its own).
struct Voice {
    frames: BTreeMap<i64, Vec<u8>>,
    frame_samples: i64,
    decoder: opus::Decoder,
    decoded: VecDeque<i16>,
    decoded_start: i64,
    /// Where the last real (not concealed) frame ended, for concealment right after it.
    real_end: Option<i64>,
    concealed_run: u32,
    cursor: Option<i64>,
}

/// Every speaker's voice, mixed on the one playout timeline.
pub struct JitterBuffer {
    voices: BTreeMap<String, Voice>,
    lateness: VecDeque<i64>,
    target_ms: i64,
    stats: JitterStats,
}

impl std::fmt::Debug for JitterBuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JitterBuffer")
            .field("voices", &self.voices.len())
            .field("target_ms", &self.target_ms)
            .field("stats", &self.stats)
            .finish()
    }
}

impl JitterBuffer {
    /// An empty buffer; fails if libopus cannot make a 48 kHz mono decoder.
    pub fn new() -> Result<Self, opus::Error> {
        opus::Decoder::new(SAMPLE_RATE, opus::Channels::Mono)?;
        Ok(JitterBuffer {
            voices: BTreeMap::new(),
            lateness: VecDeque::new(),
            target_ms: 0,
            stats: JitterStats::default(),
        })
    }

    /// The playout delay the buffer needs (ms): 0 until audio arrives.
    pub fn target_ms(&self) -> i64 {
        self.target_ms
    }

    /// Diagnostics.
    pub fn stats(&self) -> JitterStats {
        self.stats
    }

    /// Adds a batch stamped `t` (presenter ms). `lateness` is how long after the fastest
    /// path it arrived (live batches only); it sets the target delay.
    pub fn push(&mut self, audio: &Audio, t: i64, lateness: Option<i64>) {
        if let Some(late) = lateness {
            self.lateness.push_back(late);
            if self.lateness.len() > WINDOW {
                self.lateness.pop_front();
            }
            let worst = self.lateness.iter().copied().max().unwrap_or(0);
            let target = (worst + MARGIN_MS + 9) / 10 * 10;
            // Grow at once (audio would break up), shrink only by a clear step (every change
            // moves the whole timeline).
            if target > self.target_ms || target + 2 * MARGIN_MS <= self.target_ms {
                self.target_ms = target;
            }
        }
        let speaker = audio.speaker.clone().unwrap_or_default();
        let voice = match self.voices.entry(speaker) {
            std::collections::btree_map::Entry::Occupied(v) => v.into_mut(),
            std::collections::btree_map::Entry::Vacant(v) => match Voice::new() {
                Ok(voice) => v.insert(voice),
                Err(_) => return,
            },
        };
        voice.push(audio, t, &mut self.stats);
    }

    /// The next `n` samples at the cursor, every voice mixed. `presenter_now` is the
    /// presenter time the playout clock presents now (`None` while it is unknown: silence).
    pub fn pull(&mut self, n: usize, presenter_now: Option<i64>) -> Vec<i16> {
        let Some(now) = presenter_now.map(|ms| ms * PER_MS) else {
            return vec![0; n];
        };
        let mut mix = vec![0i32; n];
        for voice in self.voices.values_mut() {
            for (m, s) in mix.iter_mut().zip(voice.pull(n, now, &mut self.stats)) {
                *m += i32::from(s);
            }
        }
        mix.into_iter()
            .map(|s| s.clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16)
            .collect()
    }

    /// The playout clock moved by `ms` (positive: the presented time jumped ahead); the
    /// cursors move with it, so audio stays on the clock without waiting for a resync.
    pub fn shift(&mut self, ms: i64) {
        for voice in self.voices.values_mut() {
            voice.cursor = voice.cursor.map(|c| c + ms * PER_MS);
        }
    }
}

impl Voice {
    fn new() -> Result<Self, opus::Error> {
        Ok(Voice {
            frames: BTreeMap::new(),
            frame_samples: 20 * PER_MS,
            decoder: opus::Decoder::new(SAMPLE_RATE, opus::Channels::Mono)?,
            decoded: VecDeque::new(),
            decoded_start: 0,
            real_end: None,
            concealed_run: 0,
            cursor: None,
        })
    }

    fn push(&mut self, audio: &Audio, t: i64, stats: &mut JitterStats) {
        let samples = i64::from(audio.ms) * PER_MS;
        self.frame_samples = samples;
        for (i, frame) in audio.frames.0.iter().enumerate() {
            let start = (t + i as i64 * i64::from(audio.ms)) * PER_MS;
            if self.cursor.is_some_and(|c| start + samples <= c) {
                stats.late += 1;
                continue;
            }
            self.frames.insert(start, frame.clone());
        }
    }

    /// `n` samples from the cursor; `now` is the clock's presenter time in samples.
    fn pull(&mut self, n: usize, now: i64, stats: &mut JitterStats) -> Vec<i16> {
        let cursor = match self.cursor {
            Some(c) if (c - now).abs() <= RESYNC_MS * PER_MS => c,
            Some(_) => {
                stats.resyncs += 1;
                self.decoded.clear();
                now
            }
            None => now,
        };
        self.cursor = Some(cursor);
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            let c = self.cursor.expect("set above");
            let want = n - out.len();
            let end = self.decoded_start + self.decoded.len() as i64;
            if self.decoded_start <= c && c < end {
                self.decoded.drain(..(c - self.decoded_start) as usize);
                let take = want.min(self.decoded.len());
                out.extend(self.decoded.drain(..take));
                self.decoded_start = c + take as i64;
                self.cursor = Some(c + take as i64);
                continue;
            }
            if !self.decoded.is_empty() && c < self.decoded_start {
                // The timeline moved back (the delay grew): a pause, then the same audio.
                self.silence(&mut out, (self.decoded_start - c).min(want as i64));
                continue;
            }
            self.decoded.clear();
            self.frames = self.frames.split_off(&(c - self.frame_samples + 1));
            let next = self.frames.first_key_value().map(|(s, _)| *s);
            match next {
                Some(start) if start <= c => {
                    let packet = self.frames.remove(&start).expect("present");
                    self.decode(start, &packet, stats);
                }
                Some(start) if self.real_end == Some(c) => self.conceal(c, start - c, stats),
                None if self.real_end == Some(c) => self.conceal(c, self.frame_samples, stats),
                Some(start) => self.silence(&mut out, (start - c).min(want as i64)),
                None => self.silence(&mut out, want as i64),
            }
        }
        out
    }

    fn decode(&mut self, start: i64, packet: &[u8], stats: &mut JitterStats) {
        let mut pcm = vec![0i16; 120 * PER_MS as usize];
        match self.decoder.decode(packet, &mut pcm, false) {
            Ok(got) => {
                pcm.truncate(got);
                stats.played += 1;
                self.concealed_run = 0;
                self.real_end = Some(start + got as i64);
            }
            // A corrupt packet sounds like a lost one.
            Err(_) => {
                pcm.truncate(self.frame_samples as usize);
                pcm.fill(0);
            }
        }
        self.decoded = pcm.into();
        self.decoded_start = start;
    }

    /// libopus packet-loss concealment for the frame that should have been at `at`.
    fn conceal(&mut self, at: i64, room: i64, stats: &mut JitterStats) {
        if self.concealed_run >= MAX_CONCEALED || room <= 0 {
            self.real_end = None;
            return;
        }
        let len = self.frame_samples.min(room).max(PER_MS) as usize;
        // libopus conceals in multiples of 2.5 ms.
        let len = len - len % (PER_MS as usize * 5 / 2);
        let mut pcm = vec![0i16; len.max(PER_MS as usize * 5 / 2)];
        if self.decoder.decode(&[], &mut pcm, false).is_err() {
            pcm.fill(0);
        }
        stats.concealed += 1;
        self.concealed_run += 1;
        self.real_end = Some(at + pcm.len() as i64);
        self.decoded = pcm.into();
        self.decoded_start = at;
    }

    fn silence(&mut self, out: &mut Vec<i16>, samples: i64) {
        let samples = samples.max(1) as usize;
        out.extend(std::iter::repeat_n(0, samples));
        self.real_end = None;
        self.cursor = self.cursor.map(|c| c + samples as i64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lectern_protocol::AudioSource;

    fn tone(encoder: &mut opus::Encoder, start: usize, frames: usize) -> Vec<Vec<u8>> {
        (0..frames)
            .map(|f| {
                let pcm: Vec<i16> = (0..960)
                    .map(|i| {
                        let n = (start + f * 960 + i) as f64;
                        (8000.0 * (n * 2.0 * std::f64::consts::PI * 440.0 / 48000.0).sin()) as i16
                    })
                    .collect();
                encoder.encode_vec(&pcm, 1275).unwrap()
            })
            .collect()
    }

    #[test]
    fn plays_frames_at_their_time_and_skips_the_past() {
        let mut enc =
            opus::Encoder::new(48_000, opus::Channels::Mono, opus::Application::Voip).unwrap();
        let mut jb = JitterBuffer::new().unwrap();
        jb.push(
            &Audio::opus(tone(&mut enc, 0, 3), 20, AudioSource::Mic),
            1000,
            Some(60),
        );
        assert_eq!(jb.target_ms(), 80);
        // 10 ms of silence before the first frame, then sound.
        let pcm = jb.pull(960, Some(990));
        assert!(pcm[..480].iter().all(|&s| s == 0));
        let later = jb.pull(2400, Some(1010));
        assert!(later.iter().any(|&s| s.abs() > 1000), "the tone plays");
        assert_eq!(jb.stats().played, 3);
        // A batch whose time has passed is dropped, not played late.
        jb.push(
            &Audio::opus(tone(&mut enc, 0, 1), 20, AudioSource::Mic),
            900,
            None,
        );
        assert_eq!(jb.stats().late, 1);
    }

    #[test]
    fn two_speakers_at_the_same_time_are_both_heard() {
        let mut enc =
            opus::Encoder::new(48_000, opus::Channels::Mono, opus::Application::Voip).unwrap();
        let mut bob_enc =
            opus::Encoder::new(48_000, opus::Channels::Mono, opus::Application::Voip).unwrap();
        let mut jb = JitterBuffer::new().unwrap();
        let alice = Audio::opus(tone(&mut enc, 0, 3), 20, AudioSource::Mic);
        let mut bob = Audio::opus(tone(&mut bob_enc, 0, 3), 20, AudioSource::Mic);
        bob.speaker = Some("bob".into());
        jb.push(&alice, 0, Some(0));
        jb.push(&bob, 0, Some(0));
        let mixed = jb.pull(2880, Some(0));
        assert_eq!(
            jb.stats().played,
            6,
            "each voice decoded with its own decoder"
        );
        let peak = mixed.iter().map(|s| s.unsigned_abs()).max().unwrap();
        assert!(peak > 12000, "the two tones add up: peak {peak}");
    }

    #[test]
    fn silence_without_a_clock_and_a_resync_when_far_off() {
        let mut enc =
            opus::Encoder::new(48_000, opus::Channels::Mono, opus::Application::Voip).unwrap();
        let mut jb = JitterBuffer::new().unwrap();
        jb.push(
            &Audio::opus(tone(&mut enc, 0, 1), 20, AudioSource::Mic),
            0,
            None,
        );
        assert!(jb.pull(100, None).iter().all(|&s| s == 0));
        jb.pull(480, Some(0));
        jb.pull(480, Some(500));
        assert_eq!(jb.stats().resyncs, 1);
    }
}
