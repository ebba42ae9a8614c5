//! Who may see a meeting's recording, and the owner's changes to it.

use super::meetings::{Meeting, MeetingNumber, RecordingAccess};
use super::{Conference, ConferenceError};
use crate::recording::timeline::Timeline;

/// How the caller came to see a recording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Viewer {
    /// Holds the host key: may change access and delete.
    Owner,
    /// Has the share link, or the recording is public.
    Guest,
}

impl Conference {
    /// Checks access to a recording: the host key always; the link token when shared by link
    /// or publicly; nothing when public.
    pub fn recording_access(
        &self,
        number: &str,
        key: Option<&str>,
        token: Option<&str>,
    ) -> Result<(Meeting, Viewer), ConferenceError> {
        let meeting = self.meeting(number)?;
        if !meeting.recording.enabled {
            return Err(ConferenceError::NotRecorded);
        }
        if key.is_some_and(|k| meeting.host_key_matches(k)) {
            return Ok((meeting, Viewer::Owner));
        }
        if key.is_some() {
            return Err(ConferenceError::BadHostKey);
        }
        let by_link = token.is_some_and(|t| meeting.recording.token_matches(t));
        match meeting.recording.access {
            RecordingAccess::Public => Ok((meeting, Viewer::Guest)),
            RecordingAccess::Link if by_link => Ok((meeting, Viewer::Guest)),
            _ => Err(ConferenceError::NoAccess),
        }
    }

    /// A meeting's recording as it stands: the archive read back, with the room's chat.
    pub fn recording_timeline(&self, number: &MeetingNumber) -> Result<Timeline, ConferenceError> {
        let records = self.meetings.archive(number)?;
        let mut timeline = Timeline::from_records(&records)
            .map_err(|e| ConferenceError::Recording(e.to_string()))?;
        let chat = self.meetings.chat(number)?;
        timeline.add_chat(chat.into_iter().map(|l| (l.t, l.nick, l.body)));
        Ok(timeline)
    }

    /// The owner's choice of who else may see the recording.
    pub fn set_recording_access(
        &self,
        number: &MeetingNumber,
        access: RecordingAccess,
    ) -> Result<Meeting, ConferenceError> {
        self.meetings
            .update(number, |m| m.recording.access = access)
    }

    /// Deletes what was recorded so far; a meeting still running records on from here.
    pub fn delete_recording(&self, number: &MeetingNumber) -> Result<(), ConferenceError> {
        self.meetings.delete_recording(number)
    }
}
