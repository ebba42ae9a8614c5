//! libopus (Debian's, through the `opus` crate): 48 kHz mono `f32` in, one Opus packet per
//! 20 ms out, at the microphone's bit rate so a file costs the room what a voice does.

use ::opus::{Application, Bitrate, Channels};

use super::{MediaError, FRAME_SAMPLES, RATE};

/// The browser's microphone encoder runs at 32 kb/s; a file gets the same budget, which Opus
/// spends well on music too (the `Audio` application keeps it in its full-band mode).
const BITRATE: i32 = 32_000;
/// The largest single-frame Opus packet (RFC 6716 §3.4).
const MAX_PACKET: usize = 1275;

pub struct Encoder {
    inner: ::opus::Encoder,
    pending: Vec<f32>,
    frames: Vec<Vec<u8>>,
    lookahead: usize,
    packet: [u8; MAX_PACKET],
}

fn failed(e: ::opus::Error) -> MediaError {
    MediaError::Internal(format!("Opus encoder: {e}"))
}

impl Encoder {
    pub fn new() -> Result<Encoder, MediaError> {
        let mut inner =
            ::opus::Encoder::new(RATE, Channels::Mono, Application::Audio).map_err(failed)?;
        inner.set_bitrate(Bitrate::Bits(BITRATE)).map_err(failed)?;
        let lookahead = usize::try_from(inner.get_lookahead().map_err(failed)?).unwrap_or(0);
        Ok(Encoder {
            inner,
            pending: Vec::with_capacity(FRAME_SAMPLES * 2),
            frames: Vec::new(),
            lookahead,
            packet: [0; MAX_PACKET],
        })
    }

    /// Encodes every whole frame `samples` completes.
    pub fn push(&mut self, samples: &[f32]) -> Result<(), MediaError> {
        self.pending.extend_from_slice(samples);
        let whole = self.pending.len() / FRAME_SAMPLES * FRAME_SAMPLES;
        for start in (0..whole).step_by(FRAME_SAMPLES) {
            let n = self
                .inner
                .encode_float(
                    &self.pending[start..start + FRAME_SAMPLES],
                    &mut self.packet,
                )
                .map_err(failed)?;
            self.frames.push(self.packet[..n].to_vec());
        }
        self.pending.drain(..whole);
        Ok(())
    }

    /// The frames, the last one padded with silence. The encoder's look-ahead (6.5 ms) is
    /// flushed too, so a decoder hears the file's last sample; receivers do not skip the
    /// look-ahead at the start (the microphone path has it as well), so the sound starts
    /// that much after `t`.
    pub fn finish(mut self) -> Result<Vec<Vec<u8>>, MediaError> {
        let padded = (self.pending.len() + self.lookahead).next_multiple_of(FRAME_SAMPLES);
        let silence = vec![0.0; padded - self.pending.len()];
        self.push(&silence)?;
        Ok(self.frames)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::fixtures::{goertzel, tone};

    fn encode(samples: &[f32]) -> (Vec<Vec<u8>>, usize) {
        let mut e = Encoder::new().unwrap();
        let lookahead = e.lookahead;
        for piece in samples.chunks(1000) {
            e.push(piece).unwrap();
        }
        (e.finish().unwrap(), lookahead)
    }

    fn decode(frames: &[Vec<u8>]) -> Vec<f32> {
        let mut d = ::opus::Decoder::new(RATE, Channels::Mono).unwrap();
        let mut pcm = Vec::new();
        let mut buf = vec![0.0f32; 5760];
        for f in frames {
            assert_eq!(
                d.get_nb_samples(f).unwrap(),
                FRAME_SAMPLES,
                "every frame is 20 ms"
            );
            let n = d.decode_float(f, &mut buf, false).unwrap();
            pcm.extend_from_slice(&buf[..n]);
        }
        pcm
    }

    #[test]
    fn frames_are_20_ms_packets_covering_the_input_and_the_look_ahead() {
        for n in [1, 959, 960, 961, 48_000, 48_017] {
            let (frames, lookahead) = encode(&vec![0.01; n]);
            assert_eq!(frames.len(), (n + lookahead).div_ceil(FRAME_SAMPLES), "{n}");
            assert!(frames.iter().all(|f| (1..=MAX_PACKET).contains(&f.len())));
        }
    }

    #[test]
    fn a_tone_comes_back_at_its_pitch_and_time() {
        // Silence, then 0.2 s of 880 Hz, then silence: the decoder hears the tone where it
        // was, shifted only by the encoder's look-ahead.
        let mut clip = vec![0.0f32; 9600];
        clip.extend(tone(880.0, RATE, 9600, 0.5));
        clip.extend(vec![0.0f32; 9600]);
        let (frames, lookahead) = encode(&clip);
        let pcm = decode(&frames);
        let at = |ms: usize| &pcm[lookahead + ms * 48..lookahead + ms * 48 + 960];
        assert!(goertzel(RATE, at(300), 880.0) > 0.3, "the tone is heard");
        assert!(goertzel(RATE, at(150), 880.0) < 0.02, "not before");
        assert!(goertzel(RATE, at(450), 880.0) < 0.02, "nor after");
        let bytes: usize = frames.iter().map(Vec::len).sum();
        let kbps = bytes * 8 / 600;
        assert!(kbps <= 40, "about 32 kb/s, got {kbps}");
    }
}
