//! `<audio>`: a batch of Opus frames on the presenter clock. Audio never changes the meeting
//! state; it rides the same sequenced path as every event so receivers play it on one timeline.

use std::fmt;
use std::str::FromStr;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use xso::{AsXml, FromXml};

use crate::error::{checked, ProtocolError, Validate};
use crate::fixed::Digits;
use crate::values::{is_nick, AudioCodec, AudioSource};
use crate::NS;

/// Frames in one batch.
pub const MAX_AUDIO_FRAMES: usize = 10;
/// Bytes of one Opus packet (RFC 6716's largest).
pub const MAX_OPUS_PACKET: usize = 1275;

/// The frames of a batch: Opus packets, base64 on the wire, separated by whitespace.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frames(pub Vec<Vec<u8>>);

impl FromStr for Frames {
    type Err = ProtocolError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut frames = Vec::new();
        for word in s.split_ascii_whitespace() {
            if frames.len() == MAX_AUDIO_FRAMES {
                return Err(ProtocolError::TooLarge("frames"));
            }
            // A base64 word longer than the largest packet's encoding is refused unread.
            if word.len() > MAX_OPUS_PACKET.div_ceil(3) * 4 {
                return Err(ProtocolError::TooLarge("frame"));
            }
            let frame = STANDARD
                .decode(word)
                .map_err(|_| ProtocolError::invalid("frames", "not base64"))?;
            frames.push(frame);
        }
        let frames = Frames(frames);
        frames.validate()?;
        Ok(frames)
    }
}

impl fmt::Display for Frames {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, frame) in self.0.iter().enumerate() {
            let sep = if i == 0 { "" } else { " " };
            write!(f, "{sep}{}", STANDARD.encode(frame))?;
        }
        Ok(())
    }
}

xso::convert_via_fromstr_and_display!(Frames);

impl Validate for Frames {
    fn validate(&self) -> Result<(), ProtocolError> {
        if self.0.is_empty() {
            return Err(ProtocolError::invalid(
                "frames",
                "at least one frame is needed",
            ));
        }
        if self.0.len() > MAX_AUDIO_FRAMES {
            return Err(ProtocolError::TooLarge("frames"));
        }
        if self.0.iter().any(Vec::is_empty) {
            return Err(ProtocolError::invalid("frames", "a frame is empty"));
        }
        if self.0.iter().any(|f| f.len() > MAX_OPUS_PACKET) {
            return Err(ProtocolError::TooLarge("frame"));
        }
        Ok(())
    }
}

/// `<audio codec rate channels ms source>frames</audio>`; `t` of the event is the first
/// sample of the first frame, frame `i` starts at `t + i × ms`.
#[derive(FromXml, AsXml, Debug, Clone, PartialEq, Eq)]
#[xml(
    namespace = NS,
    on_unknown_attribute = Discard,
    on_unknown_child = Discard,
    name = "audio",
    deserialize_callback = checked,
)]
pub struct Audio {
    #[xml(attribute)]
    pub codec: AudioCodec,
    #[xml(attribute(codec = Digits))]
    pub rate: u32,
    #[xml(attribute(codec = Digits))]
    pub channels: u32,
    #[xml(attribute(codec = Digits))]
    pub ms: u32,
    #[xml(attribute(default))]
    pub source: Option<AudioSource>,
    /// Whose voice: set by the focus to the sender's nick (a request's value is replaced).
    /// Receivers decode each speaker's stream with its own decoder and mix them.
    #[xml(attribute(default))]
    pub speaker: Option<String>,
    #[xml(text)]
    pub frames: Frames,
}

impl Audio {
    /// Mono Opus decoded at 48 kHz, as Lectern's writers send it.
    pub fn opus(frames: Vec<Vec<u8>>, ms: u32, source: AudioSource) -> Self {
        Audio {
            codec: AudioCodec::Opus,
            rate: 48_000,
            channels: 1,
            ms,
            source: Some(source),
            speaker: None,
            frames: Frames(frames),
        }
    }

    /// How much audio the batch holds.
    pub fn duration_ms(&self) -> u32 {
        self.ms * self.frames.0.len() as u32
    }
}

impl Validate for Audio {
    fn validate(&self) -> Result<(), ProtocolError> {
        if ![8_000, 12_000, 16_000, 24_000, 48_000].contains(&self.rate) {
            return Err(ProtocolError::invalid(
                "rate",
                "not one of 8000, 12000, 16000, 24000, 48000",
            ));
        }
        if !(1..=2).contains(&self.channels) {
            return Err(ProtocolError::invalid("channels", "not 1 or 2"));
        }
        if ![10, 20, 40, 60].contains(&self.ms) {
            return Err(ProtocolError::invalid("ms", "not one of 10, 20, 40, 60"));
        }
        if self.speaker.as_deref().is_some_and(|s| !is_nick(s)) {
            return Err(ProtocolError::invalid("speaker", "not a nick"));
        }
        // 10 frames of at most 60 ms bound a batch to 600 ms.
        self.frames.validate()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{from_element, to_element};
    use minidom::Element;

    fn parse(xml: &str) -> Result<Audio, ProtocolError> {
        from_element(&xml.parse::<Element>().unwrap())
    }

    #[test]
    fn round_trips_literal_xml() {
        let xml = "<audio xmlns='urn:lectern:sync:1' codec='opus' rate='48000' channels='1' ms='20' source='mic'>AQID BAU= Bg==</audio>";
        let audio = parse(xml).unwrap();
        assert_eq!(audio.frames.0, vec![vec![1, 2, 3], vec![4, 5], vec![6]]);
        assert_eq!(audio.duration_ms(), 60);
        let again = to_element(&audio);
        assert_eq!(again, xml.parse::<Element>().unwrap());
        assert_eq!(
            Audio::opus(
                vec![vec![1, 2, 3], vec![4, 5], vec![6]],
                20,
                AudioSource::Mic
            ),
            audio
        );
    }

    #[test]
    fn source_is_optional_and_whitespace_is_free() {
        let a = parse("<audio xmlns='urn:lectern:sync:1' codec='opus' rate='48000' channels='2' ms='60'>\n  AQID\n</audio>").unwrap();
        assert_eq!(a.source, None);
        assert_eq!(a.channels, 2);
    }

    #[test]
    fn refuses_what_the_spec_refuses() {
        let head =
            "<audio xmlns='urn:lectern:sync:1' codec='opus' rate='48000' channels='1' ms='20'>";
        let big = STANDARD.encode(vec![0u8; MAX_OPUS_PACKET + 1]);
        let eleven = ["AQID"; 11].join(" ");
        for (body, why) in [
            ("", "no frames"),
            ("AQID *** AQID", "not base64"),
            (big.as_str(), "frame too large"),
            (eleven.as_str(), "too many frames"),
        ] {
            assert!(
                parse(&format!("{head}{body}</audio>")).is_err(),
                "{why} accepted"
            );
        }
        for bad in [
            "codec='vorbis' rate='48000' channels='1' ms='20'",
            "codec='opus' rate='44100' channels='1' ms='20'",
            "codec='opus' rate='48000' channels='3' ms='20'",
            "codec='opus' rate='48000' channels='1' ms='25'",
            "codec='opus' rate='48000' channels='1' ms='60' source='tape'",
        ] {
            let xml = format!("<audio xmlns='urn:lectern:sync:1' {bad}>AQID</audio>");
            assert!(parse(&xml).is_err(), "{bad} accepted");
        }
        let long = ["AQID"; 10].join(" ");
        let xml = format!("<audio xmlns='urn:lectern:sync:1' codec='opus' rate='48000' channels='1' ms='60'>{long}</audio>");
        assert_eq!(parse(&xml).unwrap().duration_ms(), 600, "the longest batch");
    }
}
