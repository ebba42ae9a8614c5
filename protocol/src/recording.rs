//! `<recording paused/>`: the presenter pauses or resumes the meeting's recording.
//!
//! Pausing is meeting state rather than a recorder setting, so every attendee (also one who
//! joins late, through the snapshot) can show that what happens now is not being recorded,
//! and the recording's timeline can cut the pause from the archive alone.

use xso::{AsXml, FromXml};

use crate::error::{checked, ProtocolError, Validate};
use crate::NS;

/// `<recording paused='true|false'/>`.
#[derive(FromXml, AsXml, Debug, Clone, Copy, PartialEq, Eq)]
#[xml(
    namespace = NS,
    on_unknown_attribute = Discard,
    on_unknown_child = Discard,
    name = "recording",
    deserialize_callback = checked,
)]
pub struct Recording {
    #[xml(attribute)]
    pub paused: bool,
}

impl Recording {
    pub const PAUSED: Recording = Recording { paused: true };
    pub const RESUMED: Recording = Recording { paused: false };
}

impl Validate for Recording {
    fn validate(&self) -> Result<(), ProtocolError> {
        Ok(())
    }
}
