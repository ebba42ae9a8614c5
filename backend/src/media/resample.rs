//! Any file rate to 48 kHz with rubato's FFT resampler (the rate is fixed for a whole file, the
//! case it is made for), fed packet by packet and trimmed so that the output starts with the
//! file's first sample and has exactly `ceil(n × 48000 / rate)` samples.

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Indexing, Resampler as _};

use super::{MediaError, RATE};

/// The resampler's input chunk target: a few packets' worth, small enough that the delay to
/// trim is short, large enough that the FFTs are cheap.
const CHUNK: usize = 1024;
/// Above every rate the five formats use (DXD is 352.8 kHz); a header claiming more is lying.
const MAX_RATE: u32 = 384_000;

/// A mono stream converter; a 48 kHz file passes through untouched.
pub struct Resampler {
    input_rate: u32,
    fft: Option<Fft<f32>>,
    pending: Vec<f32>,
    scratch: Vec<f32>,
    to_trim: usize,
    consumed: u64,
    produced: u64,
}

impl Resampler {
    pub fn new(input_rate: u32) -> Result<Resampler, MediaError> {
        if input_rate == 0 || input_rate > MAX_RATE {
            return Err(MediaError::Corrupt(format!(
                "a sample rate of {input_rate} Hz"
            )));
        }
        let fft = if input_rate == RATE {
            None
        } else {
            let fft = Fft::<f32>::new(
                input_rate as usize,
                RATE as usize,
                CHUNK,
                1,
                FixedSync::Input,
            )
            .map_err(|e| MediaError::Internal(format!("resampler: {e}")))?;
            Some(fft)
        };
        let to_trim = fft.as_ref().map_or(0, |f| f.output_delay());
        Ok(Resampler {
            input_rate,
            fft,
            pending: Vec::new(),
            scratch: Vec::new(),
            to_trim,
            consumed: 0,
            produced: 0,
        })
    }

    pub fn input_rate(&self) -> u32 {
        self.input_rate
    }

    /// Appends the 48 kHz samples that `input` completes to `out`.
    pub fn push(&mut self, input: &[f32], out: &mut Vec<f32>) -> Result<(), MediaError> {
        self.consumed += input.len() as u64;
        if self.fft.is_none() {
            out.extend_from_slice(input);
            return Ok(());
        }
        let mut pending = std::mem::take(&mut self.pending);
        pending.extend_from_slice(input);
        let mut start = 0;
        while let Some(need) = self.whole_chunk(pending.len() - start) {
            self.process(&pending[start..start + need], None, out)?;
            start += need;
        }
        pending.drain(..start);
        self.pending = pending;
        Ok(())
    }

    /// Flushes what is left (the last partial chunk and the resampler's delay line).
    pub fn finish(mut self, out: &mut Vec<f32>) -> Result<(), MediaError> {
        if self.fft.is_none() {
            return Ok(());
        }
        let expected = (self.consumed * u64::from(RATE)).div_ceil(u64::from(self.input_rate));
        let rest = std::mem::take(&mut self.pending);
        if !rest.is_empty() {
            self.process(&rest, Some(rest.len()), out)?;
        }
        while self.produced < expected {
            self.process(&[], Some(0), out)?;
        }
        let extra = (self.produced - expected) as usize;
        out.truncate(out.len() - extra);
        Ok(())
    }

    /// The next chunk's size, if `available` samples make one.
    fn whole_chunk(&self, available: usize) -> Option<usize> {
        let need = self.fft.as_ref()?.input_frames_next();
        (available >= need).then_some(need)
    }

    fn process(
        &mut self,
        input: &[f32],
        partial: Option<usize>,
        out: &mut Vec<f32>,
    ) -> Result<(), MediaError> {
        let fft = self.fft.as_mut().expect("only called when resampling");
        let internal = |e: &dyn std::fmt::Display| MediaError::Internal(format!("resampler: {e}"));
        self.scratch.resize(fft.output_frames_max(), 0.0);
        let frames_out = self.scratch.len();
        let adapter_in = InterleavedSlice::new(input, 1, input.len()).map_err(|e| internal(&e))?;
        let mut adapter_out = InterleavedSlice::new_mut(&mut self.scratch, 1, frames_out)
            .map_err(|e| internal(&e))?;
        let indexing = partial.map(|n| Indexing {
            partial_len: Some(n),
            ..Indexing::default()
        });
        let (_, written) = fft
            .process_into_buffer(&adapter_in, &mut adapter_out, indexing.as_ref())
            .map_err(|e| internal(&e))?;
        let skip = self.to_trim.min(written);
        self.to_trim -= skip;
        out.extend_from_slice(&self.scratch[skip..written]);
        self.produced += (written - skip) as u64;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::fixtures::{goertzel, tone};

    fn resample(rate: u32, input: &[f32], piece: usize) -> Vec<f32> {
        let mut r = Resampler::new(rate).unwrap();
        let mut out = Vec::new();
        for p in input.chunks(piece) {
            r.push(p, &mut out).unwrap();
        }
        r.finish(&mut out).unwrap();
        out
    }

    #[test]
    fn lengths_follow_the_ratio_exactly_whatever_the_packet_size() {
        for (rate, n, piece) in [
            (44_100, 44_100, 1152),
            (44_100, 1000, 4096),
            (22_050, 12_345, 576),
            (8_000, 8_000, 160),
            (96_000, 96_001, 1024),
            (48_000, 4_800, 333),
        ] {
            let out = resample(rate, &vec![0.1; n], piece);
            let expected = (n as u64 * 48_000).div_ceil(u64::from(rate)) as usize;
            assert_eq!(out.len(), expected, "{rate} Hz, {n} samples");
        }
    }

    #[test]
    fn a_tone_keeps_its_pitch_and_its_place() {
        // 1 kHz for the middle 0.5 s of a 1.5 s, 44.1 kHz clip: after resampling the tone is
        // at 1 kHz (not 1088 Hz) and still starts at 0.5 s, so the delay was trimmed.
        let mut clip = vec![0.0f32; 44_100 / 2];
        clip.extend(tone(1000.0, 44_100, 44_100 / 2, 0.5));
        clip.extend(vec![0.0f32; 44_100 / 2]);
        let out = resample(44_100, &clip, 1152);
        let win = |from_ms: usize| &out[from_ms * 48..from_ms * 48 + 960];
        assert!(
            goertzel(48_000, win(700), 1000.0) > 0.2,
            "the tone is there"
        );
        assert!(goertzel(48_000, win(700), 1088.0) < goertzel(48_000, win(700), 1000.0) / 4.0);
        assert!(
            goertzel(48_000, win(450), 1000.0) < 0.01,
            "nothing before it"
        );
        assert!(
            goertzel(48_000, win(510), 1000.0) > 0.2,
            "it starts at 0.5 s"
        );
        assert!(
            goertzel(48_000, win(1050), 1000.0) < 0.01,
            "and ends at 1 s"
        );
    }

    #[test]
    fn absurd_rates_are_refused() {
        assert!(matches!(Resampler::new(0), Err(MediaError::Corrupt(_))));
        assert!(matches!(
            Resampler::new(10_000_000),
            Err(MediaError::Corrupt(_))
        ));
    }
}
