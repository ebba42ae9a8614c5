//! Harness for Lectern's system tests: start the real `lectern` binary on port 0
//! (see `docs/TEST-CONTRACT.md`), drive its CLI, and talk XMPP to it byte by byte.
//!
//! Build the server first: `cargo build --bin lectern`, then
//! `cargo test -p lectern-system-tests`. Set `LECTERN_BIN` to test another binary.

pub mod audio;
pub mod documents;
pub mod http;
pub mod meeting;
pub mod muc;
pub mod raw;
pub mod recording;
pub mod server;
pub mod witness;
pub mod xml;

pub use raw::{assert_message_delivered, RawClient, Read, TIMEOUT};
pub use server::{
    assert_success, describe, lectern, lectern_bin, lectern_with_stdin, user_add, user_del, Server,
    ServerBuilder, TempDir, DOMAIN, GUEST_DOMAIN,
};
pub use witness::{WithWitnesses, Witnesses};
