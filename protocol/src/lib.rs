//! Lectern's sync protocol (`urn:lectern:sync:1`); the specification is `protocol/README.md`.

/// The protocol's XML namespace; its version is part of it.
pub const NS: &str = "urn:lectern:sync:1";
