//! The replay timeline's waveform: the recording's `audio.ogg` decoded (symphonia with libopus)
//! and reduced to one peak per step, small enough to ship inside `timeline.json`.

use serde::Serialize;

use crate::media::decode::Source;

use super::RecordingError;

/// One peak per 100 ms: a 60-minute meeting is 36,000 bytes of peaks, and a timeline bar is
/// rarely wider than that in pixels.
pub const STEP_MS: u32 = 100;

/// Peaks of the decoded audio, `0..=255` for `0..=1.0` of full scale, one per `step_ms`
/// of media time from 0.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Waveform {
    pub step_ms: u32,
    pub peaks: Vec<u8>,
}

/// Decodes `ogg` (as written by `ogg_opus::write`) and takes the peak of every step.
pub fn of_ogg(ogg: &[u8], step_ms: u32) -> Result<Waveform, RecordingError> {
    let mut source = Source::open(ogg.to_vec())?;
    let mut peaks = Vec::new();
    let mut peak = 0f32;
    let mut filled = 0usize;
    let mut step = 0usize;
    while let Some(chunk) = source.next_chunk()? {
        // Opus in Ogg always decodes at 48 kHz, but the step follows the rate decoded.
        step = (chunk.rate as usize * step_ms as usize / 1000).max(1);
        for s in chunk.samples {
            peak = peak.max(s.abs());
            filled += 1;
            if filled == step {
                peaks.push(level(peak));
                peak = 0.0;
                filled = 0;
            }
        }
    }
    if filled > 0 && step > 0 {
        peaks.push(level(peak));
    }
    Ok(Waveform { step_ms, peaks })
}

fn level(peak: f32) -> u8 {
    (peak.clamp(0.0, 1.0) * 255.0).round() as u8
}

#[cfg(test)]
mod tests {
    use super::super::ogg_opus::{self, Batch};
    use super::*;

    fn tone(ms: u32) -> Vec<Vec<u8>> {
        crate::media::fixtures::opus_tone(440.0, 0.5, ms)
    }

    #[test]
    fn a_tone_a_gap_and_a_tone_show_as_loud_quiet_loud() {
        let a = tone(1000);
        let b = tone(1000);
        let batches = [
            Batch {
                t: 0,
                ms: 20,
                frames: &a,
            },
            Batch {
                t: 2000,
                ms: 20,
                frames: &b,
            },
        ];
        let mut ogg = Vec::new();
        let written = ogg_opus::write(&mut ogg, "tone", &batches).unwrap();
        let wave = of_ogg(&ogg, STEP_MS).unwrap();
        let expected_steps = written.duration_ms().div_ceil(u64::from(STEP_MS));
        assert_eq!(
            wave.peaks.len() as u64,
            expected_steps,
            "one peak per step of the file"
        );
        // Half scale is ~128; leave the codec and the edges of each tone some room.
        let loud = |i: usize| wave.peaks[i] > 90 && wave.peaks[i] < 170;
        assert!((1..9).all(loud), "first tone: {:?}", &wave.peaks[..10]);
        assert!(
            (11..19).all(|i| wave.peaks[i] < 5),
            "the gap is silence: {:?}",
            &wave.peaks[10..20]
        );
        assert!((21..29).all(loud), "second tone: {:?}", &wave.peaks[20..]);
    }

    #[test]
    fn damaged_audio_is_an_error() {
        assert!(of_ogg(b"OggS not really", STEP_MS).is_err());
    }
}
