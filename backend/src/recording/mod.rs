//! Recordings: everything the focus archived — documents, page turns, ink, voice — turned into
//! things a person can keep. Pure functions of the archive; the HTTP layer serves them.

pub mod archive;
pub mod chapters;
pub mod description;
pub mod frames;
pub mod mix;
pub mod mp4;
pub mod offline;
pub mod ogg_opus;
pub mod pauses;
pub mod pdf;
pub mod render;
pub mod timeline;
pub mod waveform;

/// Why a recording could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum RecordingError {
    #[error("archived event {0} is corrupt")]
    Corrupt(u64),
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error("ffmpeg failed: {0}")]
    Ffmpeg(String),
    #[error("the export took longer than {0:?}")]
    TimedOut(std::time::Duration),
    #[error("building the PDF: {0}")]
    Pdf(String),
    #[error("decoding the recorded audio: {0}")]
    Audio(#[from] crate::media::MediaError),
}
