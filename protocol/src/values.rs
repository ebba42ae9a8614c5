//! Identifiers, colours and keyword values, each checked when parsed so a value of these
//! types is always valid; plus the plain-string checks the focus applies to attributes that
//! stay `String` (document ids, hashes, meeting numbers, nicks).

use std::fmt;
use std::ops::Deref;
use std::str::FromStr;

use crate::error::ProtocolError;

/// Ids listed in one `erase`.
pub const MAX_IDS_PER_LIST: usize = 512;
/// Characters (Unicode code points) of a text item.
pub const MAX_TEXT_CHARS: usize = 1024;
/// Pages of a shared document.
pub const MAX_PAGES: u32 = 10_000;
/// Points of one stroke over all its elements.
pub const MAX_STROKE_POINTS: usize = 20_000;
/// Actions an undo stack keeps; the oldest falls off.
pub const UNDO_DEPTH: usize = 100;
/// Bytes of a nick (an XMPP resourcepart) or a document's base URL and title.
pub const MAX_NAME_BYTES: usize = 1023;

/// Whether `s` is an item id: `[A-Za-z0-9_-]{1,32}`.
pub fn is_item_id(s: &str) -> bool {
    (1..=32).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Whether `s` is a document id of the documents API: 64 lowercase hex digits (a sha256).
pub fn is_document_id(s: &str) -> bool {
    is_sha256_hex(s)
}

/// Whether `s` is a sha256 in lowercase hex.
pub fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Whether `s` is a meeting number: exactly 9 digits.
pub fn is_meeting_number(s: &str) -> bool {
    s.len() == 9 && s.bytes().all(|b| b.is_ascii_digit())
}

/// Whether `s` can be a room nick: non-empty, at most 1023 bytes, no control characters.
pub fn is_nick(s: &str) -> bool {
    !s.is_empty() && s.len() <= MAX_NAME_BYTES && !s.chars().any(char::is_control)
}

/// An item id, unique within the meeting among the items that exist.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ItemId(String);

impl ItemId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Deref for ItemId {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl FromStr for ItemId {
    type Err = ProtocolError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if is_item_id(s) {
            Ok(ItemId(s.to_owned()))
        } else {
            Err(ProtocolError::invalid("id", "not [A-Za-z0-9_-]{1,32}"))
        }
    }
}

impl fmt::Display for ItemId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A space-separated list of item ids (`ids='s7 h2'`), at least one. An `erase` may list
/// at most [`MAX_IDS_PER_LIST`]; a snapshot's `clear` action lists as many as it hid.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdList(pub Vec<ItemId>);

impl FromStr for IdList {
    type Err = ProtocolError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let ids = s
            .split_ascii_whitespace()
            .map(|id| {
                id.parse()
                    .map_err(|_| ProtocolError::invalid("ids", "an id is not [A-Za-z0-9_-]{1,32}"))
            })
            .collect::<Result<Vec<ItemId>, _>>()?;
        if ids.is_empty() {
            return Err(ProtocolError::invalid("ids", "at least one id is needed"));
        }
        Ok(IdList(ids))
    }
}

impl fmt::Display for IdList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, id) in self.0.iter().enumerate() {
            let sep = if i == 0 { "" } else { " " };
            write!(f, "{sep}{id}")?;
        }
        Ok(())
    }
}

/// A colour `#rrggbb`; either case is accepted, lower case is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Color([u8; 3]);

impl Color {
    pub const fn rgb(r: u8, g: u8, b: u8) -> Self {
        Color([r, g, b])
    }
}

impl FromStr for Color {
    type Err = ProtocolError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = ProtocolError::invalid("color", "not #rrggbb");
        let hex = s.strip_prefix('#').ok_or(bad.clone())?;
        if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad);
        }
        let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).expect("checked hex");
        Ok(Color([byte(0), byte(2), byte(4)]))
    }
}

impl fmt::Display for Color {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [r, g, b] = self.0;
        write!(f, "#{r:02x}{g:02x}{b:02x}")
    }
}

/// Keyword enums share one shape: a fixed table of wire names.
macro_rules! keyword {
    ($(#[$doc:meta])* $name:ident, $attr:literal, { $($variant:ident = $wire:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),+ }

        impl $name {
            /// The wire name.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $wire),+ }
            }
        }

        impl FromStr for $name {
            type Err = ProtocolError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($wire => Ok(Self::$variant),)+
                    _ => Err(ProtocolError::invalid($attr, "unknown value")),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        xso::convert_via_fromstr_and_display!($name);
    };
}

keyword!(
    /// A stroke's tool; highlighter ink is drawn at 40 % opacity, under pens.
    Tool, "tool", { Pen = "pen", Highlighter = "highlighter" }
);
keyword!(
    /// A shape's kind; `rect` and `ellipse` span the box of the two points.
    ShapeKind, "kind", { Line = "line", Arrow = "arrow", Rect = "rect", Ellipse = "ellipse" }
);
keyword!(
    /// The role a `hello` answer gives.
    Role, "role", { Presenter = "presenter", Attendee = "attendee" }
);

keyword!(
    /// Where an `audio` batch comes from: the presenter's microphone or a file the server plays.
    AudioSource, "source", { Mic = "mic", File = "file" }
);
keyword!(
    /// An `audio` batch's codec; version 1 knows only Opus.
    AudioCodec, "codec", { Opus = "opus" }
);

xso::convert_via_fromstr_and_display!(ItemId, IdList, Color);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_normalise_to_lower_case() {
        let c: Color = "#E53935".parse().unwrap();
        assert_eq!(c.to_string(), "#e53935");
        for bad in ["e53935", "#e5393", "#e539355", "#g53935", "#e5393 "] {
            assert!(bad.parse::<Color>().is_err(), "{bad}");
        }
    }

    #[test]
    fn ids_follow_the_pattern() {
        assert!(is_item_id("s7") && is_item_id("A_b-9") && is_item_id(&"x".repeat(32)));
        assert!(!is_item_id("") && !is_item_id(&"x".repeat(33)) && !is_item_id("a b"));
        assert!(!is_item_id("é"));
        let list: IdList = " s7  h2 ".parse().unwrap();
        assert_eq!(list.to_string(), "s7 h2");
        assert!("".parse::<IdList>().is_err());
        assert!("s7 h/2".parse::<IdList>().is_err());
    }

    #[test]
    fn strings_checked_by_the_focus() {
        assert!(is_meeting_number("123456789") && !is_meeting_number("12345678a"));
        assert!(is_document_id(&"ab".repeat(32)) && !is_document_id(&"AB".repeat(32)));
        assert!(is_nick("bob") && !is_nick("") && !is_nick("a\u{7}"));
    }
}
