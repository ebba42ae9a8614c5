//! The one error type of the protocol layer. The focus maps it to a stanza error at its edge:
//! [`ProtocolError::TooLarge`] is `resource-constraint`, [`ProtocolError::Sequence`] never reaches
//! a presenter, everything else is `bad-request` with the error's text.

/// Why a payload, snapshot or event was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    /// The XML does not have the shape of any Lectern payload.
    #[error("malformed payload: {0}")]
    Malformed(String),
    /// An attribute (or the element text, named `text`/`points`) has an invalid value.
    #[error("invalid `{attr}`: {reason}")]
    Invalid {
        attr: &'static str,
        reason: &'static str,
    },
    /// A size bound from the spec is exceeded (points, ids, text length, stroke length).
    #[error("`{0}` is too large")]
    TooLarge(&'static str),
    /// The payload needs a shared document and there is none.
    #[error("no document is shared")]
    NoDocument,
    /// The page is not a page of the current document.
    #[error("page {0} is not in the current document")]
    NoSuchPage(u32),
    /// An extend or end names no unfinished stroke.
    #[error("no unfinished stroke `{0}`")]
    NoOpenStroke(String),
    /// A new item reuses the id of an item that still exists.
    #[error("item id `{0}` is already in use")]
    DuplicateId(String),
    /// The event's `seq` does not directly follow the state's; the state is unchanged.
    #[error("event seq {got} does not follow {last}")]
    Sequence { last: u64, got: u64 },
}

impl ProtocolError {
    pub(crate) fn invalid(attr: &'static str, reason: &'static str) -> Self {
        Self::Invalid { attr, reason }
    }

    /// Recovers our own error from the xso error that carried it out of a derive, so the
    /// focus can name the offending attribute instead of "text parse error".
    pub(crate) fn from_xso(err: xso::error::Error) -> Self {
        match err {
            xso::error::Error::TextParseError(inner) => match inner.downcast::<ProtocolError>() {
                Ok(own) => *own,
                Err(other) => Self::Malformed(other.to_string()),
            },
            other => Self::Malformed(other.to_string()),
        }
    }
}

/// Payload types check their ranges when parsed (through this callback) and on demand, so a
/// value built in code and a value received from the wire pass the same gate.
pub trait Validate {
    /// Checks every range and size bound of the spec that needs no meeting state.
    fn validate(&self) -> Result<(), ProtocolError>;
}

/// The `deserialize_callback` of every payload derive.
pub(crate) fn checked<T: Validate>(value: &mut T) -> Result<(), xso::error::Error> {
    value
        .validate()
        .map_err(xso::error::Error::text_parse_error)
}

/// Parses any payload type from a minidom element, with our error.
pub fn from_element<T: xso::FromXml>(el: &minidom::Element) -> Result<T, ProtocolError> {
    xso::transform(el).map_err(ProtocolError::from_xso)
}

/// Serialises any payload type to a minidom element. Our text codecs cannot fail, so neither
/// can this.
pub fn to_element<T: xso::AsXml>(value: &T) -> minidom::Element {
    xso::transform(value).expect("Lectern payloads always serialise")
}
