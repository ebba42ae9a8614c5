//! symphonia: any of the five formats (and Ogg Opus, through libopus) in, mono `f32` at the file's own rate out, one packet
//! at a time so a long file never sits in memory as PCM.

use std::io::{Cursor, ErrorKind};
use std::sync::LazyLock;

use symphonia::core::codecs::audio::{AudioDecoder, AudioDecoderOptions};
use symphonia::core::codecs::registry::CodecRegistry;
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, FormatReader, TrackType};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;

use super::MediaError;

/// A run of undecodable packets this long means the file is damaged, not just glitched: one
/// bad MP3 frame is skipped, a file of garbage after a valid header is refused.
const MAX_BAD_PACKETS_IN_A_ROW: u32 = 64;

/// symphonia's own decoders plus libopus: symphonia has no Opus decoder of its own, and the
/// recording's `audio.ogg` is Opus.
static CODECS: LazyLock<CodecRegistry> = LazyLock::new(|| {
    let mut codecs = CodecRegistry::new();
    symphonia::default::register_enabled_codecs(&mut codecs);
    codecs.register_audio_decoder::<symphonia_adapter_libopus::OpusDecoder>();
    codecs
});

/// One decoded packet, mixed down to mono.
pub struct Chunk<'a> {
    pub rate: u32,
    pub samples: &'a [f32],
}

/// An open file: the container reader and the decoder of its first audio track.
pub struct Source {
    format: Box<dyn FormatReader + 'static>,
    decoder: Box<dyn AudioDecoder>,
    track: u32,
    interleaved: Vec<f32>,
    mono: Vec<f32>,
    decoded_any: bool,
    bad_in_a_row: u32,
}

impl Source {
    /// Probes the bytes (by content: the upload's name and type are not trusted) and opens
    /// the decoder of the default audio track.
    pub fn open(bytes: Vec<u8>) -> Result<Source, MediaError> {
        let mss = MediaSourceStream::new(Box::new(Cursor::new(bytes)), Default::default());
        let format = symphonia::default::get_probe()
            .probe(
                &Hint::new(),
                mss,
                FormatOptions::default(),
                MetadataOptions::default(),
            )
            .map_err(|e| MediaError::Unsupported(probe_failure(&e)))?;
        let track = format
            .default_track(TrackType::Audio)
            .ok_or_else(|| MediaError::Unsupported("the file has no audio track".into()))?;
        let params = track
            .codec_params
            .as_ref()
            .and_then(|p| p.audio())
            .ok_or_else(|| MediaError::Unsupported("the audio track has no codec".into()))?;
        let decoder = CODECS
            .make_audio_decoder(params, &AudioDecoderOptions::default())
            .map_err(|e| {
                MediaError::Unsupported(format!(
                    "its {} track uses a codec Lectern does not decode ({e})",
                    format.format_info().short_name
                ))
            })?;
        let track = track.id;
        Ok(Source {
            format,
            decoder,
            track,
            interleaved: Vec::new(),
            mono: Vec::new(),
            decoded_any: false,
            bad_in_a_row: 0,
        })
    }

    /// E.g. `wave/pcm_s16le`: what the file turned out to be, for the log.
    pub fn description(&self) -> String {
        format!(
            "{}/{}",
            self.format.format_info().short_name,
            self.decoder.codec_info().short_name
        )
    }

    /// The next packet's samples; `None` at the end. A file cut short ends where the damage
    /// starts, once it has produced some sound: the presenter hears what there is.
    pub fn next_chunk(&mut self) -> Result<Option<Chunk<'_>>, MediaError> {
        loop {
            let packet = match self.format.next_packet() {
                Ok(Some(p)) => p,
                Ok(None) | Err(SymError::ResetRequired) => return self.end(None),
                Err(SymError::IoError(e)) if e.kind() == ErrorKind::UnexpectedEof => {
                    return self.end(Some("it ends in the middle of a packet".into()))
                }
                Err(e) => return self.end(Some(e.to_string())),
            };
            if packet.track_id != self.track {
                continue;
            }
            match self.decoder.decode(&packet) {
                Ok(buf) => {
                    self.bad_in_a_row = 0;
                    let channels = buf.spec().channels().count().max(1);
                    let rate = buf.spec().rate();
                    if buf.frames() == 0 {
                        continue;
                    }
                    buf.copy_to_vec_interleaved(&mut self.interleaved);
                    downmix(&self.interleaved, channels, &mut self.mono);
                    self.decoded_any = true;
                    return Ok(Some(Chunk {
                        rate,
                        samples: &self.mono,
                    }));
                }
                Err(SymError::DecodeError(_)) | Err(SymError::IoError(_)) => {
                    self.bad_in_a_row += 1;
                    if self.bad_in_a_row >= MAX_BAD_PACKETS_IN_A_ROW {
                        return Err(MediaError::Corrupt(format!(
                            "{MAX_BAD_PACKETS_IN_A_ROW} packets in a row do not decode"
                        )));
                    }
                }
                Err(SymError::ResetRequired) => return self.end(None),
                Err(e) => return Err(MediaError::Corrupt(e.to_string())),
            }
        }
    }

    fn end(&mut self, damage: Option<String>) -> Result<Option<Chunk<'_>>, MediaError> {
        match damage {
            None if self.decoded_any => Ok(None),
            None => Err(MediaError::Empty),
            Some(why) if self.decoded_any => {
                tracing::warn!("audio file: playing up to the damage: {why}");
                Ok(None)
            }
            Some(why) => Err(MediaError::Corrupt(why)),
        }
    }
}

/// The probe's error, said for a person: most uploads that fail here are not audio at all.
fn probe_failure(e: &SymError) -> String {
    match e {
        SymError::Unsupported(_) => "the content is not a known audio container".into(),
        SymError::IoError(e) if e.kind() == ErrorKind::UnexpectedEof => {
            "the file ends before its header does".into()
        }
        other => other.to_string(),
    }
}

/// Speech and music alike go out as one channel: the average of all of them.
fn downmix(interleaved: &[f32], channels: usize, mono: &mut Vec<f32>) {
    mono.clear();
    if channels == 1 {
        mono.extend_from_slice(interleaved);
        return;
    }
    let scale = 1.0 / channels as f32;
    mono.extend(
        interleaved
            .chunks_exact(channels)
            .map(|frame| frame.iter().sum::<f32>() * scale),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::fixtures::wav;

    fn decode_all(bytes: Vec<u8>) -> Result<(u32, Vec<f32>), MediaError> {
        let mut source = Source::open(bytes)?;
        let mut rate = 0;
        let mut all = Vec::new();
        while let Some(chunk) = source.next_chunk()? {
            rate = chunk.rate;
            all.extend_from_slice(chunk.samples);
        }
        Ok((rate, all))
    }

    #[test]
    fn a_stereo_wav_becomes_mono_at_its_own_rate() {
        // Left +0.5, right -0.25: the mono mix is their average.
        let frames: Vec<[f32; 2]> = vec![[0.5, -0.25]; 4410];
        let (rate, mono) = decode_all(wav(44_100, &frames)).unwrap();
        assert_eq!(rate, 44_100);
        assert_eq!(mono.len(), 4410);
        assert!(
            mono.iter().all(|s| (s - 0.125).abs() < 1e-3),
            "{:?}",
            &mono[..4]
        );
    }

    #[test]
    fn text_is_not_audio() {
        let err = decode_all(b"%PDF-1.7 this is not a sound".to_vec()).unwrap_err();
        assert!(matches!(err, MediaError::Unsupported(_)), "{err}");
        assert!(err
            .to_string()
            .contains("WAV, FLAC, Ogg Vorbis, Ogg Opus, MP3 or M4A/AAC"));
    }

    #[test]
    fn no_samples_is_empty_and_a_header_cut_short_is_damaged_or_unknown() {
        let err = decode_all(wav::<1>(48_000, &[])).unwrap_err();
        assert!(matches!(err, MediaError::Empty), "{err}");
        let whole = wav(48_000, &[[0.1f32]; 480]);
        let err = decode_all(whole[..44].to_vec()).unwrap_err();
        assert!(matches!(err, MediaError::Corrupt(_)), "{err}");
        let err = decode_all(whole[..20].to_vec()).unwrap_err();
        assert!(matches!(err, MediaError::Unsupported(_)), "{err}");
    }

    #[test]
    fn a_truncated_wav_plays_what_it_has() {
        let whole = wav(48_000, &[[0.1f32]; 4800]);
        let (_, mono) = decode_all(whole[..44 + 2 * 1000 + 1].to_vec()).unwrap();
        assert!((1000..=1001).contains(&mono.len()), "{}", mono.len());
    }
}
