//! Lectern: self-hosted web conferencing where documents, ink and voice travel as XMPP.
//!
//! `main.rs` only parses the command line; everything it calls lives here so tests can
//! reach it.

pub mod accounts;
pub mod admin;
pub mod cli;
pub mod conference;
pub mod config;
pub mod documents;
pub mod http;
pub mod media;
pub mod recording;
pub mod serve;
pub mod store;
pub mod xmpp;
