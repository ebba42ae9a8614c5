//! Speakers at once, as one voice: `audio.ogg` is a single Opus stream, so where the presenter
//! and someone given the floor talk over each other their frames are decoded, summed and
//! encoded again. Everything else — the usual case, one speaker at a time — keeps the packets
//! exactly as they were sent.

use std::collections::HashMap;

use super::ogg_opus::packet_samples;
use super::RecordingError;

/// Samples per millisecond at Opus's 48 kHz.
const PER_MS: u64 = 48;
/// Frames decoded (and thrown away) before a frame whose predecessor was not decoded, so the
/// decoder's state has settled when the frame that counts comes.
const WARM_UP: usize = 2;
/// Encoder frame sizes (48 kHz samples) a mixed stretch is cut into: 20 ms, then the tail in
/// the largest sizes Opus allows; a remainder under 2.5 ms is dropped.
const FRAME_SIZES: [usize; 4] = [960, 480, 240, 120];

/// One archived voice batch and who spoke it.
pub struct Voice<'a> {
    pub t: u64,
    pub ms: u32,
    pub frames: &'a [Vec<u8>],
    /// The speaker (`None`: the presenter or a played file, which share the presenter's voice).
    pub speaker: Option<&'a str>,
}

/// A batch of the single stream: frames laid one after another from `t`.
#[derive(Debug, Clone, PartialEq)]
pub struct Mixed {
    pub t: u64,
    pub ms: u32,
    pub frames: Vec<Vec<u8>>,
}

/// What mixing did, for the archive's description.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct MixStats {
    /// Stretches where more than one speaker talked.
    pub stretches: u64,
    /// Frames that went into those stretches (decoded and encoded again).
    pub mixed_frames: u64,
}

struct Frame<'a> {
    start: u64,
    samples: u64,
    speaker: usize,
    /// Position in its speaker's frame list (for decoder continuity).
    index: usize,
    packet: &'a [u8],
}

/// One stream from batches in any order: overlapping speech is mixed, the rest copied.
pub fn mix(voices: &[Voice<'_>]) -> Result<(Vec<Mixed>, MixStats), RecordingError> {
    let mut speakers: HashMap<Option<&str>, usize> = HashMap::new();
    let mut per_speaker: Vec<Vec<&[u8]>> = Vec::new();
    let mut frames = Vec::new();
    for v in voices {
        let next = speakers.len();
        let speaker = *speakers.entry(v.speaker).or_insert(next);
        if speaker == per_speaker.len() {
            per_speaker.push(Vec::new());
        }
        let mut start = v.t * PER_MS;
        for packet in v.frames {
            // A TOC that claims no samples is damage: the batch's own frame length stands.
            let samples = packet_samples(packet)
                .filter(|&n| n > 0)
                .unwrap_or(u64::from(v.ms) * PER_MS);
            frames.push(Frame {
                start,
                samples,
                speaker,
                index: per_speaker[speaker].len(),
                packet,
            });
            per_speaker[speaker].push(packet);
            start += samples;
        }
    }
    frames.sort_by_key(|f| (f.start, f.speaker));

    let mut out = Vec::new();
    let mut stats = MixStats::default();
    let mut decoders = Decoders::new(&per_speaker);
    let mut encoder = None;
    for (range, end, several) in stretches(&frames) {
        let stretch = &frames[range];
        if !several {
            for f in stretch {
                push(&mut out, f.start, vec![f.packet.to_vec()]);
            }
            continue;
        }
        let enc = match &mut encoder {
            Some(enc) => enc,
            None => encoder.insert(new_encoder()?),
        };
        let start = stretch[0].start;
        let pcm = decoders.sum(stretch, start, (end - start) as usize)?;
        push(&mut out, start, encode(enc, &pcm)?);
        stats.stretches += 1;
        stats.mixed_frames += stretch.len() as u64;
    }
    Ok((out, stats))
}

/// Frames (in time order) cut into stretches: frames that overlap one another (see [`overlaps`]),
/// and whether more than one speaker is in it. Touching stretches of several speakers are one:
/// a conversation is encoded in one piece. Each is (frames, end sample, several speakers).
fn stretches(frames: &[Frame<'_>]) -> Vec<(std::ops::Range<usize>, u64, bool)> {
    let mut out: Vec<(std::ops::Range<usize>, u64, bool)> = Vec::new();
    let mut i = 0;
    while i < frames.len() {
        // Where each speaker in the stretch stops talking.
        let mut ends = vec![(frames[i].speaker, frames[i].start + frames[i].samples)];
        let mut j = i + 1;
        while j < frames.len() && overlaps(&ends, &frames[j]) {
            let f = &frames[j];
            match ends.iter_mut().find(|(s, _)| *s == f.speaker) {
                Some((_, end)) => *end = (*end).max(f.start + f.samples),
                None => ends.push((f.speaker, f.start + f.samples)),
            }
            j += 1;
        }
        let end = ends.iter().map(|(_, e)| *e).max().unwrap_or_default();
        let several = ends.len() > 1;
        match out.last_mut() {
            Some((range, last_end, true))
                if several && frames[i].start < *last_end + frames[i].samples / 2 =>
            {
                range.end = j;
                *last_end = (*last_end).max(end);
            }
            _ => out.push((i..j, end, several)),
        }
        i = j;
    }
    out
}

/// Whether `next` belongs to a stretch whose speakers stop at `ends`: it starts before another
/// speaker stops (every overlapping sample is someone talking at once), or more than half a
/// frame before its own speaker's last frame ends (the slack the Ogg writer forgives a
/// presenter clock's stamps).
fn overlaps(ends: &[(usize, u64)], next: &Frame<'_>) -> bool {
    ends.iter().any(|&(speaker, end)| {
        let slack = if speaker == next.speaker {
            next.samples / 2
        } else {
            0
        };
        next.start + slack < end
    })
}

/// Appends frames at `start` samples, as a batch of their own (the Ogg writer lays batches
/// by their `t` and frames by their own length).
fn push(out: &mut Vec<Mixed>, start: u64, frames: Vec<Vec<u8>>) {
    out.push(Mixed {
        t: start / PER_MS,
        ms: 20,
        frames,
    });
}

struct Decoders<'a> {
    per_speaker: &'a [Vec<&'a [u8]>],
    /// Per speaker: the decoder and the index of the last frame it decoded.
    state: HashMap<usize, (opus::Decoder, usize)>,
    scratch: Vec<f32>,
}

impl<'a> Decoders<'a> {
    fn new(per_speaker: &'a [Vec<&'a [u8]>]) -> Self {
        Self {
            per_speaker,
            state: HashMap::new(),
            scratch: vec![0.0; 5760],
        }
    }

    /// The stretch's frames decoded and summed into `len` samples from `origin`.
    fn sum(
        &mut self,
        stretch: &[Frame<'_>],
        origin: u64,
        len: usize,
    ) -> Result<Vec<f32>, RecordingError> {
        let mut pcm = vec![0f32; len];
        for f in stretch {
            let n = self.decode(f.speaker, f.index)?;
            let at = (f.start - origin) as usize;
            for (k, s) in self.scratch[..n].iter().enumerate() {
                if let Some(slot) = pcm.get_mut(at + k) {
                    *slot += s;
                }
            }
        }
        // Two voices at full scale would clip; a soft knee keeps the peaks round.
        for s in &mut pcm {
            *s = s.tanh();
        }
        Ok(pcm)
    }

    /// Decodes a speaker's frame into `scratch`, warming a fresh decoder up on the frames
    /// before it when its predecessor was not the last one decoded.
    fn decode(&mut self, speaker: usize, index: usize) -> Result<usize, RecordingError> {
        let frames = &self.per_speaker[speaker];
        let fresh = !matches!(self.state.get(&speaker), Some((_, last)) if last.checked_add(1) == Some(index));
        if fresh {
            let mut dec = opus::Decoder::new(48_000, opus::Channels::Mono).map_err(opus_error)?;
            for warm in &frames[index.saturating_sub(WARM_UP)..index] {
                let _ = dec.decode_float(warm, &mut self.scratch, false);
            }
            self.state.insert(speaker, (dec, usize::MAX));
        }
        let (dec, last) = self.state.get_mut(&speaker).expect("a decoder");
        *last = index;
        match dec.decode_float(frames[index], &mut self.scratch, false) {
            Ok(n) => Ok(n),
            // A damaged packet is concealed like a lost one rather than costing the export.
            Err(_) => dec
                .decode_float(&[], &mut self.scratch[..960], false)
                .map_err(opus_error),
        }
    }
}

fn new_encoder() -> Result<opus::Encoder, RecordingError> {
    let mut enc = opus::Encoder::new(48_000, opus::Channels::Mono, opus::Application::Voip)
        .map_err(opus_error)?;
    enc.set_bitrate(opus::Bitrate::Bits(32_000))
        .map_err(opus_error)?;
    Ok(enc)
}

fn encode(enc: &mut opus::Encoder, pcm: &[f32]) -> Result<Vec<Vec<u8>>, RecordingError> {
    let mut frames = Vec::new();
    let mut at = 0;
    for size in FRAME_SIZES {
        while pcm.len() - at >= size {
            frames.push(
                enc.encode_vec_float(&pcm[at..at + size], 1500)
                    .map_err(opus_error)?,
            );
            at += size;
        }
    }
    Ok(frames)
}

fn opus_error(e: opus::Error) -> RecordingError {
    RecordingError::Io(std::io::Error::other(format!("opus: {e}")))
}

#[cfg(test)]
mod tests {
    use super::super::ogg_opus::{self, Batch};
    use super::*;
    use crate::media::decode::Source;

    fn tone(freq: f32, ms: u32) -> Vec<Vec<u8>> {
        crate::media::fixtures::opus_tone(freq, 0.3, ms)
    }

    /// The amplitude of `freq` in a window.
    fn power(x: &[f32], freq: f32) -> f32 {
        crate::media::fixtures::goertzel(48_000, x, freq)
    }

    /// Samples the stream's packets decode to.
    fn length(mixed: &[Mixed]) -> u64 {
        mixed
            .iter()
            .flat_map(|m| &m.frames)
            .map(|f| packet_samples(f).unwrap())
            .sum()
    }

    fn decode(ogg: Vec<u8>) -> Vec<f32> {
        let mut src = Source::open(ogg).unwrap();
        let mut pcm = Vec::new();
        while let Some(c) = src.next_chunk().unwrap() {
            pcm.extend_from_slice(c.samples);
        }
        pcm
    }

    #[test]
    fn one_speaker_is_copied_and_two_at_once_are_both_heard() {
        let ann = tone(440.0, 2000);
        let bob = tone(1000.0, 1000);
        let voices = [
            Voice {
                t: 0,
                ms: 20,
                frames: &ann,
                speaker: None,
            },
            Voice {
                t: 500,
                ms: 20,
                frames: &bob,
                speaker: Some("Bob"),
            },
        ];
        let (mixed, stats) = mix(&voices).unwrap();
        assert_eq!(stats.stretches, 1, "one stretch of talking over each other");
        assert_eq!(
            stats.mixed_frames,
            50 + 50,
            "Ann's middle second and all of Bob's"
        );
        let copied: Vec<&Vec<u8>> = mixed.iter().take(25).flat_map(|m| &m.frames).collect();
        assert_eq!(
            copied,
            ann[..25].iter().collect::<Vec<_>>(),
            "alone: packets kept"
        );

        let batches: Vec<Batch<'_>> = mixed
            .iter()
            .map(|m| Batch {
                t: m.t,
                ms: m.ms,
                frames: &m.frames,
            })
            .collect();
        let mut ogg = Vec::new();
        let written = ogg_opus::write(&mut ogg, "mix", &batches).unwrap();
        assert_eq!(written.overlapping, 0, "nothing left out");
        assert_eq!(
            written.duration_ms(),
            1993,
            "the longest voice less the 6.5 ms pre-skip"
        );
        let pcm = decode(ogg);
        let window = |from_ms: usize| &pcm[from_ms * 48..(from_ms + 200) * 48];
        let (alone, both, after) = (window(100), window(800), window(1700));
        assert!(
            power(alone, 440.0) > 100.0 * power(alone, 1000.0),
            "Ann alone"
        );
        assert!(
            power(both, 440.0) > 0.2 * power(alone, 440.0),
            "Ann in the mix"
        );
        assert!(
            power(both, 1000.0) > 0.2 * power(alone, 440.0),
            "Bob in the mix"
        );
        assert!(
            power(after, 1000.0) * 100.0 < power(after, 440.0),
            "Bob has stopped"
        );
    }

    #[test]
    fn another_speaker_half_a_frame_off_is_mixed_not_appended() {
        let ann = tone(440.0, 200);
        let bob = tone(1000.0, 100);
        let voices = [
            Voice {
                t: 0,
                ms: 20,
                frames: &ann,
                speaker: Some("Ann"),
            },
            Voice {
                t: 50,
                ms: 20,
                frames: &bob,
                speaker: Some("Bob"),
            },
        ];
        let (mixed, stats) = mix(&voices).unwrap();
        assert_eq!(stats.stretches, 1);
        let samples = length(&mixed);
        let lay: Vec<(u64, usize)> = mixed.iter().map(|m| (m.t, m.frames.len())).collect();
        assert_eq!(
            samples,
            200 * PER_MS,
            "Ann's 200 ms, Bob inside them: {lay:?}"
        );
    }

    #[test]
    fn batches_out_of_order_and_a_damaged_packet_still_mix() {
        let ann = tone(440.0, 200);
        let mut bob = tone(1000.0, 200);
        bob[3] = vec![0xFF, 0x00, 0x01];
        let voices = [
            Voice {
                t: 100,
                ms: 20,
                frames: &bob,
                speaker: Some("Bob"),
            },
            Voice {
                t: 0,
                ms: 20,
                frames: &ann,
                speaker: None,
            },
        ];
        let (mixed, stats) = mix(&voices).unwrap();
        assert_eq!(stats.stretches, 1);
        assert_eq!(mixed[0].t, 0, "in time order");
        let samples = length(&mixed);
        assert_eq!(samples, 300 * PER_MS, "Ann from 0, Bob until 300 ms");
    }
}
