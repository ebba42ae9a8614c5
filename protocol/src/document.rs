//! `<document/>`: a document is shared and becomes the current one.

use xso::{AsXml, FromXml};

use crate::error::{checked, ProtocolError, Validate};
use crate::fixed::Digits;
use crate::values::{is_document_id, is_sha256_hex, MAX_NAME_BYTES, MAX_PAGES};
use crate::NS;

/// A shared document: its id in the documents API, where its files live, and one `<p/>` per
/// page (in page order, `n` = 1..pages).
#[derive(FromXml, AsXml, Debug, Clone, PartialEq, Eq)]
#[xml(
    namespace = NS,
    on_unknown_attribute = Discard,
    on_unknown_child = Discard,
    name = "document",
    deserialize_callback = checked,
)]
pub struct Document {
    #[xml(attribute)]
    pub id: String,
    #[xml(attribute(codec = Digits))]
    pub pages: u32,
    #[xml(attribute)]
    pub base: String,
    #[xml(attribute(default))]
    pub title: Option<String>,
    #[xml(child(n = ..))]
    pub page_info: Vec<PageInfo>,
}

/// `<p n hash w h/>`: one page image, its sha256 (hex) and pixel size.
#[derive(FromXml, AsXml, Debug, Clone, PartialEq, Eq)]
#[xml(namespace = NS, on_unknown_attribute = Discard, on_unknown_child = Discard, name = "p")]
pub struct PageInfo {
    #[xml(attribute(name = "n", codec = Digits))]
    pub number: u32,
    #[xml(attribute)]
    pub hash: String,
    #[xml(attribute(codec = Digits))]
    pub w: u32,
    #[xml(attribute(codec = Digits))]
    pub h: u32,
}

impl Validate for Document {
    fn validate(&self) -> Result<(), ProtocolError> {
        if !is_document_id(&self.id) {
            return Err(ProtocolError::invalid("id", "not 64 lowercase hex digits"));
        }
        if self.pages == 0 {
            return Err(ProtocolError::invalid("pages", "must be at least 1"));
        }
        if self.pages > MAX_PAGES {
            return Err(ProtocolError::TooLarge("pages"));
        }
        // The base is used as a URL prefix by every attendee, so it must be a path prefix
        // or an http(s) URL ending in a slash, never something a browser would execute.
        let base_ok = (self.base.starts_with('/')
            || self.base.starts_with("https://")
            || self.base.starts_with("http://"))
            && self.base.ends_with('/')
            && self.base.len() <= MAX_NAME_BYTES
            && !self
                .base
                .chars()
                .any(|c| c.is_whitespace() || c.is_control());
        if !base_ok {
            return Err(ProtocolError::invalid(
                "base",
                "not a URL prefix ending in /",
            ));
        }
        if let Some(title) = &self.title {
            if title.len() > MAX_NAME_BYTES {
                return Err(ProtocolError::TooLarge("title"));
            }
        }
        if self.page_info.len() != self.pages as usize {
            return Err(ProtocolError::invalid(
                "pages",
                "needs exactly one <p/> per page",
            ));
        }
        for (i, p) in self.page_info.iter().enumerate() {
            if p.number as usize != i + 1 {
                return Err(ProtocolError::invalid(
                    "n",
                    "pages must be listed 1, 2, 3, …",
                ));
            }
            if !is_sha256_hex(&p.hash) {
                return Err(ProtocolError::invalid(
                    "hash",
                    "not 64 lowercase hex digits",
                ));
            }
            if p.w == 0 || p.h == 0 {
                return Err(ProtocolError::invalid("w", "page size must be positive"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{from_element, to_element};

    fn doc(pages: &str, ps: &str) -> String {
        format!(
            "<document xmlns='urn:lectern:sync:1' id='{}' pages='{pages}' base='/api/documents/x/' \
             title='Quarterly review'>{ps}</document>",
            "9f".repeat(32)
        )
    }

    fn p(n: u32) -> String {
        format!("<p n='{n}' hash='{}' w='1280' h='720'/>", "ab".repeat(32))
    }

    #[test]
    fn round_trips_literal_xml() {
        let xml = doc("2", &(p(1) + &p(2)));
        let el: minidom::Element = xml.parse().unwrap();
        let d: Document = from_element(&el).unwrap();
        assert_eq!(d.pages, 2);
        assert_eq!(d.page_info[1].w, 1280);
        assert_eq!(to_element(&d), el);
    }

    #[test]
    fn page_list_must_match_the_count() {
        for xml in [
            doc("2", &p(1)),
            doc("1", &p(2)),
            doc("0", ""),
            doc("2", &(p(2) + &p(1))),
        ] {
            let el: minidom::Element = xml.parse().unwrap();
            assert!(from_element::<Document>(&el).is_err(), "{xml}");
        }
    }

    #[test]
    fn base_must_be_a_url_prefix() {
        let xml = doc("1", &p(1)).replace("/api/documents/x/", "javascript:alert(1)/");
        let el: minidom::Element = xml.parse().unwrap();
        let err = from_element::<Document>(&el).unwrap_err();
        assert_eq!(
            err,
            ProtocolError::invalid("base", "not a URL prefix ending in /")
        );
    }
}
