//! Recordings: everything the focus archived — documents, page turns, ink, voice — turned into
//! things a person can keep. Pure functions of the archive; the HTTP layer serves them.

pub mod archive;
pub mod chapters;
pub mod ogg_opus;
pub mod timeline;

/// Why a recording could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum RecordingError {
    #[error("archived event {0} is corrupt")]
    Corrupt(u64),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}
