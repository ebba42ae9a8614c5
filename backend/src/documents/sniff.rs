//! What kind of file an upload is, decided from its first bytes, never from its name or the
//! client's Content-Type (both are easy to get wrong and trivial to lie about).

use serde::{Deserialize, Serialize};

/// Bytes needed to tell every kind below apart.
pub const SNIFF_LEN: usize = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Pdf,
    Png,
    Jpeg,
    Webp,
    /// OOXML (docx/pptx/xlsx) or ODF (odt/odp/ods): both are zip files.
    OfficeZip,
    /// Legacy Office (doc/ppt/xls): an OLE2 compound file.
    OfficeLegacy,
    Rtf,
    Text,
}

impl Kind {
    /// Kinds that only become pages through LibreOffice.
    pub fn needs_office(self) -> bool {
        matches!(
            self,
            Kind::OfficeZip | Kind::OfficeLegacy | Kind::Rtf | Kind::Text
        )
    }

    pub fn is_image(self) -> bool {
        matches!(self, Kind::Png | Kind::Jpeg | Kind::Webp)
    }
}

/// Sniffs `head` (the first [`SNIFF_LEN`] bytes or the whole file if shorter).
pub fn sniff(head: &[u8]) -> Option<Kind> {
    // Some producers put junk before the header; PDF readers accept it within the first KiB.
    let pdf_window = &head[..head.len().min(1024)];
    if find(pdf_window, b"%PDF-").is_some() {
        return Some(Kind::Pdf);
    }
    if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Some(Kind::Png);
    }
    if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Some(Kind::Jpeg);
    }
    if head.len() >= 12 && &head[..4] == b"RIFF" && &head[8..12] == b"WEBP" {
        return Some(Kind::Webp);
    }
    if head.starts_with(b"PK\x03\x04") {
        // Only zips that look like office documents: ODF stores its `mimetype` member first,
        // OOXML has `[Content_Types].xml` among the first members' names.
        let odf = find(head, b"mimetypeapplication/vnd.oasis.opendocument").is_some();
        let ooxml = find(head, b"[Content_Types].xml").is_some()
            || find(head, b"word/").is_some()
            || find(head, b"ppt/").is_some()
            || find(head, b"xl/").is_some();
        return (odf || ooxml).then_some(Kind::OfficeZip);
    }
    if head.starts_with(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) {
        return Some(Kind::OfficeLegacy);
    }
    if head.starts_with(b"{\\rtf") {
        return Some(Kind::Rtf);
    }
    if looks_like_text(head) {
        return Some(Kind::Text);
    }
    None
}

/// UTF-8 (a character cut at the end of the window is fine) without control characters other
/// than whitespace.
fn looks_like_text(head: &[u8]) -> bool {
    if head.is_empty() {
        return false;
    }
    let valid = match std::str::from_utf8(head) {
        Ok(s) => s,
        Err(e) if e.error_len().is_none() => {
            std::str::from_utf8(&head[..e.valid_up_to()]).unwrap_or("")
        }
        Err(_) => return false,
    };
    !valid.is_empty()
        && valid
            .chars()
            .all(|c| !c.is_control() || matches!(c, '\n' | '\r' | '\t' | '\u{c}'))
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_each_kind_by_its_bytes() {
        assert_eq!(sniff(b"%PDF-1.7\n..."), Some(Kind::Pdf));
        assert_eq!(sniff(b"garbage\n%PDF-1.4\n"), Some(Kind::Pdf));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n\0\0"), Some(Kind::Png));
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0]), Some(Kind::Jpeg));
        assert_eq!(sniff(b"RIFF\x10\0\0\0WEBPVP8 "), Some(Kind::Webp));
        assert_eq!(
            sniff(b"PK\x03\x04....[Content_Types].xml"),
            Some(Kind::OfficeZip)
        );
        assert_eq!(
            sniff(b"PK\x03\x04....mimetypeapplication/vnd.oasis.opendocument.presentation"),
            Some(Kind::OfficeZip)
        );
        assert_eq!(
            sniff(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1, 0]),
            Some(Kind::OfficeLegacy)
        );
        assert_eq!(sniff(b"{\\rtf1\\ansi"), Some(Kind::Rtf));
        assert_eq!(sniff("Agenda\n- café\n".as_bytes()), Some(Kind::Text));
    }

    #[test]
    fn rejects_unknown_bytes() {
        assert_eq!(sniff(b""), None);
        assert_eq!(sniff(&[0u8, 1, 2, 3, 0xFE, 0xFF]), None);
        // A zip that is not an office document.
        assert_eq!(sniff(b"PK\x03\x04\0\0\0\0photo.jpg"), None);
        assert_eq!(sniff(b"\x7fELF\x02\x01\x01"), None);
    }

    #[test]
    fn text_cut_inside_a_character_is_still_text() {
        let s = "naïve".as_bytes();
        assert_eq!(sniff(&s[..3]), Some(Kind::Text));
    }
}
