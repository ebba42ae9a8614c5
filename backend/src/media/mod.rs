//! Shared audio files: the presenter plays a WAV, FLAC, Ogg Vorbis, Ogg Opus, MP3 or M4A/AAC file into
//! the meeting and every attendee hears it like the presenter's microphone.
//!
//! The file is decoded with symphonia ([`decode`]), mixed down to mono, resampled to 48 kHz
//! ([`resample`]) and encoded as 20 ms Opus frames with libopus ([`encode`]), all at once on the
//! blocking pool: a file the server cannot play is refused before anything reaches the room,
//! and what is kept is the Opus (about 4 KiB a second), never the PCM. The [`player`] then
//! streams the frames into the meeting in batches of three, paced in real time on the
//! presenter's clock.

pub mod decode;
pub mod encode;
#[cfg(test)]
pub(crate) mod fixtures;
pub mod player;
pub mod resample;

pub use player::{AudioSink, Player};

/// The sample rate of everything after decoding: Opus's native rate.
pub const RATE: u32 = 48_000;
/// The duration of one Opus frame, as the browser's microphone sends them.
pub const FRAME_MS: u32 = 20;
/// Samples in one frame at [`RATE`].
pub const FRAME_SAMPLES: usize = (RATE / 1000 * FRAME_MS) as usize;
/// Frames per `<audio>` message, like the microphone path (about 17 messages a second).
pub const BATCH_FRAMES: usize = 3;
/// The largest file accepted, in bytes.
pub const MAX_FILE_BYTES: usize = 100 << 20;
/// The longest file accepted. A small, highly compressed file (a FLAC of silence) could
/// otherwise cost hours of decoding and megabytes of Opus per meeting.
pub const MAX_DURATION_SECS: u64 = 2 * 3600;

/// The formats named in every refusal, so the presenter knows what to try instead.
pub const FORMATS: &str = "WAV, FLAC, Ogg Vorbis, Ogg Opus, MP3 or M4A/AAC";

/// Why a file cannot be played. The HTTP route maps each to a status (`http/audio.rs`).
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("not an audio file Lectern can play ({FORMATS}): {0}")]
    Unsupported(String),
    #[error("the audio file is damaged: {0}")]
    Corrupt(String),
    #[error("the audio file holds no sound")]
    Empty,
    #[error("the audio file is larger than {} MiB", MAX_FILE_BYTES >> 20)]
    TooLarge,
    #[error("the audio file is longer than {} minutes", MAX_DURATION_SECS / 60)]
    TooLong,
    /// A resampler or encoder failure: a bug or a broken libopus, not the presenter's file.
    #[error("audio processing failed: {0}")]
    Internal(String),
}

/// A file ready to stream: its Opus frames and what it was.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// 20 ms Opus packets at 48 kHz mono, in order.
    pub frames: Vec<Vec<u8>>,
    /// The decoded file's length (before Opus pads its last frame).
    pub duration_ms: u64,
    /// What symphonia found, e.g. `wav/pcm_s16le 44100 Hz 2 ch`, for logs.
    pub description: String,
}

impl Prepared {
    /// How many `<audio>` messages the file becomes.
    pub fn batches(&self) -> usize {
        self.frames.len().div_ceil(BATCH_FRAMES)
    }
}

/// Decodes, mixes down, resamples and encodes a whole file. CPU-bound: call it on the
/// blocking pool.
pub fn prepare(bytes: Vec<u8>) -> Result<Prepared, MediaError> {
    if bytes.len() > MAX_FILE_BYTES {
        return Err(MediaError::TooLarge);
    }
    let mut source = decode::Source::open(bytes)?;
    let description = source.description();
    let mut resampler: Option<resample::Resampler> = None;
    let mut encoder = encode::Encoder::new()?;
    let mut resampled = Vec::new();
    let mut samples_48k: u64 = 0;
    let max_samples = MAX_DURATION_SECS * u64::from(RATE);
    while let Some(chunk) = source.next_chunk()? {
        let r = match &mut resampler {
            Some(r) => r,
            None => resampler.insert(resample::Resampler::new(chunk.rate)?),
        };
        if chunk.rate != r.input_rate() {
            return Err(MediaError::Corrupt(format!(
                "the sample rate changes from {} Hz to {} Hz",
                r.input_rate(),
                chunk.rate
            )));
        }
        resampled.clear();
        r.push(chunk.samples, &mut resampled)?;
        samples_48k += resampled.len() as u64;
        if samples_48k > max_samples {
            return Err(MediaError::TooLong);
        }
        encoder.push(&resampled)?;
    }
    let Some(r) = resampler else {
        return Err(MediaError::Empty);
    };
    resampled.clear();
    r.finish(&mut resampled)?;
    samples_48k += resampled.len() as u64;
    encoder.push(&resampled)?;
    if samples_48k == 0 {
        return Err(MediaError::Empty);
    }
    let frames = encoder.finish()?;
    Ok(Prepared {
        frames,
        duration_ms: samples_48k * 1000 / u64::from(RATE),
        description,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    /// 2 s of 44.1 kHz stereo, 600 Hz then 1500 Hz, in the format ffmpeg picks for `ext`.
    fn made_by_ffmpeg(ext: &str, codec: &[&str]) -> Vec<u8> {
        let out =
            std::env::temp_dir().join(format!("lectern-media-{}-clip.{ext}", std::process::id()));
        let status = Command::new("ffmpeg")
            .args(["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi"])
            .args(["-i", "sine=frequency=600:sample_rate=44100:duration=1"])
            .args(["-f", "lavfi"])
            .args(["-i", "sine=frequency=1500:sample_rate=44100:duration=1"])
            .args([
                "-filter_complex",
                "[0][1]concat=n=2:v=0:a=1,pan=stereo|c0=c0|c1=c0",
            ])
            .args(codec)
            .arg(&out)
            .status()
            .expect("ffmpeg (bash tests/audio/setup.sh installs it)");
        assert!(status.success(), "ffmpeg made no {ext}");
        let bytes = std::fs::read(&out).unwrap();
        std::fs::remove_file(&out).unwrap();
        bytes
    }

    #[test]
    fn every_format_becomes_opus_of_the_same_length() {
        for (ext, codec) in [
            ("wav", &["-c:a", "pcm_s16le"][..]),
            ("flac", &["-c:a", "flac"]),
            ("ogg", &["-c:a", "libvorbis"]),
            ("mp3", &["-c:a", "libmp3lame"]),
            ("m4a", &["-c:a", "aac"]),
            ("opus", &["-c:a", "libopus"]),
        ] {
            let file = prepare(made_by_ffmpeg(ext, codec)).unwrap();
            // Lossy codecs may keep their encoder's priming or padding (MP3 and AAC up to
            // ~50 ms at 44.1 kHz) when the container does not say how much to trim.
            assert!(
                (1990..=2080).contains(&file.duration_ms),
                "{ext}: {} ms ({})",
                file.duration_ms,
                file.description
            );
            // The last frame also carries the encoder's 6.5 ms look-ahead, then silence.
            let covering = |ms: u64| (ms * 48 + 312).div_ceil(960) as usize;
            assert!(
                (covering(file.duration_ms)..=covering(file.duration_ms + 1))
                    .contains(&file.frames.len()),
                "{ext}: {} frames for {} ms",
                file.frames.len(),
                file.duration_ms
            );
            assert_eq!(file.batches(), file.frames.len().div_ceil(3));
        }
    }

    #[test]
    fn a_known_container_with_a_codec_symphonia_lacks_is_unsupported() {
        let err = prepare(made_by_ffmpeg("m4a", &["-c:a", "alac"])).unwrap_err();
        assert!(matches!(err, MediaError::Unsupported(_)), "{err}");
        assert!(err.to_string().contains("codec"), "{err}");
    }

    #[test]
    fn oversized_and_non_audio_uploads_are_refused() {
        assert!(matches!(
            prepare(vec![0; MAX_FILE_BYTES + 1]),
            Err(MediaError::TooLarge)
        ));
        assert!(matches!(
            prepare(b"<html>not a sound</html>".to_vec()),
            Err(MediaError::Unsupported(_))
        ));
    }
}
