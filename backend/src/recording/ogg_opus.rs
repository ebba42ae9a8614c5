//! Ogg Opus (RFC 7845) from the archived `<audio>` batches: the packets are copied as they
//! were spoken, never re-encoded, and laid on the presenter clock, so media time in the file is
//! presenter time. Gaps (mute, loss, silence before the first word) are filled with Opus
//! silence packets; overlapping frames (a second source at the same time) are left out until
//! the recording mixes speakers.

use std::io;

use ogg::writing::{PacketWriteEndInfo, PacketWriter};

/// Samples per millisecond: Opus always decodes at 48 kHz in Ogg.
const PER_MS: u64 = 48;
/// The encoder delay a decoder drops at the start (libopus's usual 6.5 ms at 48 kHz).
pub const PRE_SKIP: u16 = 312;
/// One 20 ms CELT frame that decodes to silence (TOC 0xF8: fullband, 20 ms, mono, 1 frame).
const SILENCE: [u8; 3] = [0xF8, 0xFF, 0xFE];
const SILENCE_SAMPLES: u64 = 20 * PER_MS;
/// Pages end about every second of audio, so a player can seek without reading it all.
const PAGE_SAMPLES: u64 = 1000 * PER_MS;
const SERIAL: u32 = 0x4C45_4354; // "LECT"

/// One archived batch: its presenter-clock start and its Opus packets, `ms` each by its
/// attributes (the packet's own TOC wins when it says otherwise).
pub struct Batch<'a> {
    pub t: u64,
    pub ms: u32,
    pub frames: &'a [Vec<u8>],
}

/// What went into the file.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Written {
    /// Audio packets copied from the meeting.
    pub packets: u64,
    /// Silence packets put into gaps.
    pub silence: u64,
    /// Frames left out because they overlapped audio already written.
    pub overlapping: u64,
    /// Samples the packets decode to at 48 kHz, the pre-skip included (the last granule).
    pub samples: u64,
}

impl Written {
    /// What a player plays: the decoded samples less the pre-skip.
    pub fn duration_ms(&self) -> u64 {
        self.samples.saturating_sub(u64::from(PRE_SKIP)) / PER_MS
    }
}

/// Writes batches (in time order) as one Ogg Opus stream starting at presenter time 0.
///
/// Packet sample positions are presenter time; the decoder drops the first `PRE_SKIP` of
/// them, which is the encoder's own delay, so a sound captured at presenter time `x` plays at
/// media time `x`.
pub fn write<W: io::Write>(out: W, title: &str, batches: &[Batch<'_>]) -> io::Result<Written> {
    let mut w = PacketWriter::new(out);
    w.write_packet(opus_head(), SERIAL, PacketWriteEndInfo::EndPage, 0)?;
    w.write_packet(opus_tags(title), SERIAL, PacketWriteEndInfo::EndPage, 0)?;
    let mut stats = Written::default();
    // Position in samples of presenter time; granules count from the same origin.
    let mut pos: u64 = 0;
    let mut page_start: u64 = 0;
    let mut pending: Option<(Vec<u8>, u64)> = None;
    let mut emit = |w: &mut PacketWriter<'_, W>, packet: Vec<u8>, end: u64, last: bool| {
        let granule = end;
        let info = if last {
            PacketWriteEndInfo::EndStream
        } else if end - page_start >= PAGE_SAMPLES {
            page_start = end;
            PacketWriteEndInfo::EndPage
        } else {
            PacketWriteEndInfo::NormalPacket
        };
        w.write_packet(packet, SERIAL, info, granule)
    };
    for batch in batches {
        let mut start = batch.t * PER_MS;
        for frame in batch.frames {
            let samples = packet_samples(frame).unwrap_or(u64::from(batch.ms) * PER_MS);
            // Half a frame of slack: presenter clocks stamp batches to the millisecond.
            if start + samples / 2 < pos {
                stats.overlapping += 1;
                start += samples;
                continue;
            }
            while start >= pos + SILENCE_SAMPLES / 2 + SILENCE_SAMPLES / 4 {
                if let Some((p, end)) = pending.take() {
                    emit(&mut w, p, end, false)?;
                }
                pos += SILENCE_SAMPLES;
                pending = Some((SILENCE.to_vec(), pos));
                stats.silence += 1;
            }
            if let Some((p, end)) = pending.take() {
                emit(&mut w, p, end, false)?;
            }
            pos += samples;
            pending = Some((frame.clone(), pos));
            stats.packets += 1;
            start += samples;
        }
    }
    match pending.take() {
        Some((p, end)) => emit(&mut w, p, end, true)?,
        // No audio at all: a valid, empty stream still opens in players.
        None => w.write_packet(SILENCE.to_vec(), SERIAL, PacketWriteEndInfo::EndStream, 0)?,
    }
    stats.samples = pos;
    Ok(stats)
}

fn opus_head() -> Vec<u8> {
    let mut head = b"OpusHead".to_vec();
    head.push(1); // version
    head.push(1); // channels: speech is sent mono
    head.extend_from_slice(&PRE_SKIP.to_le_bytes());
    head.extend_from_slice(&48_000u32.to_le_bytes()); // the original rate, for information
    head.extend_from_slice(&0i16.to_le_bytes()); // output gain
    head.push(0); // mapping family 0: mono/stereo
    head
}

fn opus_tags(title: &str) -> Vec<u8> {
    let vendor = concat!("Lectern ", env!("CARGO_PKG_VERSION"));
    let comments = [
        format!("TITLE={title}"),
        "ENCODER=Lectern (packets as recorded)".into(),
    ];
    let mut tags = b"OpusTags".to_vec();
    tags.extend_from_slice(&(vendor.len() as u32).to_le_bytes());
    tags.extend_from_slice(vendor.as_bytes());
    tags.extend_from_slice(&(comments.len() as u32).to_le_bytes());
    for c in &comments {
        tags.extend_from_slice(&(c.len() as u32).to_le_bytes());
        tags.extend_from_slice(c.as_bytes());
    }
    tags
}

/// Samples (48 kHz) an Opus packet decodes to, from its TOC byte (RFC 6716 §3.1).
pub fn packet_samples(packet: &[u8]) -> Option<u64> {
    let toc = *packet.first()?;
    let config = toc >> 3;
    // Frame length in units of 2.5 ms.
    let frame = match config {
        0..=11 => [4, 8, 16, 24][usize::from(config % 4)],
        12..=15 => [4, 8][usize::from(config % 2)],
        _ => [1, 2, 4, 8][usize::from(config % 4)],
    };
    let count = match toc & 3 {
        0 => 1,
        1 | 2 => 2,
        _ => u64::from(*packet.get(1)? & 0x3F),
    };
    Some(frame * count * 120)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ogg::PacketReader;

    fn read(bytes: &[u8]) -> Vec<(Vec<u8>, u64, bool)> {
        let mut r = PacketReader::new(io::Cursor::new(bytes));
        let mut out = Vec::new();
        while let Some(p) = r.read_packet().unwrap() {
            out.push((p.data.clone(), p.absgp_page(), p.last_in_stream()));
        }
        out
    }

    #[test]
    fn toc_lengths_follow_rfc_6716() {
        assert_eq!(packet_samples(&[0xF8, 0xFF, 0xFE]), Some(960), "CELT 20 ms");
        assert_eq!(packet_samples(&[0x08]), Some(960), "SILK 20 ms");
        assert_eq!(packet_samples(&[0x18]), Some(2880), "SILK 60 ms");
        assert_eq!(
            packet_samples(&[0x78 | 1]),
            Some(1920),
            "hybrid 20 ms, two frames"
        );
        assert_eq!(
            packet_samples(&[0xF8 | 3, 3]),
            Some(2880),
            "code 3, three frames"
        );
        assert_eq!(packet_samples(&[]), None);
    }

    #[test]
    fn packets_land_at_their_presenter_time_with_silence_between() {
        let a = vec![vec![0xF8, 1], vec![0xF8, 2], vec![0xF8, 3]];
        let b = vec![vec![0xF8, 4]];
        let batches = [
            Batch {
                t: 100,
                ms: 20,
                frames: &a,
            },
            Batch {
                t: 1000,
                ms: 20,
                frames: &b,
            },
        ];
        let mut file = Vec::new();
        let stats = write(&mut file, "Talk", &batches).unwrap();
        assert_eq!(stats.packets, 4);
        // 100 ms before the first batch, then 1000 - 160 ms between the batches.
        assert_eq!(stats.silence, 5 + 42);
        assert_eq!(stats.samples, 1020 * 48);
        assert_eq!(stats.duration_ms(), 1013, "less the encoder delay");
        let packets = read(&file);
        assert!(packets[0].0.starts_with(b"OpusHead"));
        assert!(packets[1].0.starts_with(b"OpusTags"));
        let audio = &packets[2..];
        assert_eq!(audio.len(), 51);
        assert_eq!(audio[5].0, vec![0xF8, 1], "the first word starts at 100 ms");
        assert_eq!(audio[50].0, vec![0xF8, 4], "the last at 1000 ms");
        let (_, granule, last) = audio.last().unwrap();
        assert!(*last, "end of stream");
        assert_eq!(*granule, 1020 * 48);
    }

    #[test]
    fn overlapping_frames_are_left_out_not_shifted() {
        let a = vec![vec![0xF8, 1], vec![0xF8, 2], vec![0xF8, 3]];
        let b = vec![vec![0xF8, 9]];
        let batches = [
            Batch {
                t: 0,
                ms: 20,
                frames: &a,
            },
            Batch {
                t: 20,
                ms: 20,
                frames: &b,
            },
            Batch {
                t: 60,
                ms: 20,
                frames: &b,
            },
        ];
        let mut file = Vec::new();
        let stats = write(&mut file, "Talk", &batches).unwrap();
        assert_eq!((stats.packets, stats.overlapping, stats.silence), (4, 1, 0));
        assert_eq!(stats.samples, 80 * 48);
    }

    #[test]
    fn no_audio_is_still_a_valid_stream() {
        let mut file = Vec::new();
        let stats = write(&mut file, "Quiet", &[]).unwrap();
        assert_eq!(stats.packets, 0);
        let packets = read(&file);
        assert_eq!(packets.len(), 3);
        assert!(packets[2].2, "ends the stream");
    }
}
