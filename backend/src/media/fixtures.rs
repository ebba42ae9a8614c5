//! Sounds the media unit tests make for themselves: a WAV writer, tones and a Goertzel
//! filter to find them again.

use std::f32::consts::TAU;

/// A 16-bit PCM WAV of `frames` (each `[f32; C]` is one frame of `C` channels).
pub fn wav<const C: usize>(rate: u32, frames: &[[f32; C]]) -> Vec<u8> {
    let data_len = (frames.len() * C * 2) as u32;
    let mut out = Vec::with_capacity(44 + data_len as usize);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data_len).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&(C as u16).to_le_bytes());
    out.extend_from_slice(&rate.to_le_bytes());
    out.extend_from_slice(&(rate * C as u32 * 2).to_le_bytes());
    out.extend_from_slice(&(C as u16 * 2).to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    for frame in frames {
        for s in frame {
            out.extend_from_slice(&((s.clamp(-1.0, 1.0) * 32767.0) as i16).to_le_bytes());
        }
    }
    out
}

/// `n` samples of a sine at `freq` Hz and peak `amp`.
pub fn tone(freq: f32, rate: u32, n: usize, amp: f32) -> Vec<f32> {
    (0..n)
        .map(|i| amp * (TAU * freq * i as f32 / rate as f32).sin())
        .collect()
}

/// The amplitude of the `freq` component of `x` (a pure sine of peak `a` gives about `a`).
pub fn goertzel(rate: u32, x: &[f32], freq: f32) -> f32 {
    let w = TAU * freq / rate as f32;
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0f32, 0.0f32);
    for &v in x {
        let s0 = v + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    let power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
    2.0 * power.max(0.0).sqrt() / x.len() as f32
}

/// `ms` of a sine at `freq` Hz and peak `amp` as 20 ms Opus frames (libopus, 48 kHz mono), as
/// a presenter's browser would send them.
pub fn opus_tone(freq: f32, amp: f32, ms: u32) -> Vec<Vec<u8>> {
    let mut enc =
        opus::Encoder::new(48_000, opus::Channels::Mono, opus::Application::Audio).unwrap();
    let pcm = tone(freq, 48_000, ms as usize * 48, amp);
    pcm.chunks(960)
        .map(|frame| enc.encode_vec_float(frame, 4000).unwrap())
        .collect()
}
