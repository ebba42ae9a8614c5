//! Recordings: everything the focus archived — documents, page turns, ink, voice — turned into
//! things a person can keep. Pure functions of the archive; the HTTP layer serves them.

pub mod ogg_opus;
