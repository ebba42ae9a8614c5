//! Shared by the documents system tests: inputs built here (PDF decks with lopdf, encrypted
//! variants), the upload/event/error helpers, and a reader for the whole-document package.

use std::net::SocketAddr;

use lopdf::encryption::{EncryptionState, EncryptionVersion, Permissions};
use lopdf::{dictionary, Document, Object, Stream};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::http::{self, Response};
use crate::Server;

pub fn sha256(b: &[u8]) -> String {
    Sha256::digest(b)
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}

/// A deck of `pages` 800×450 pt slides, each with its own text (`marker-N`), vector shapes
/// (rectangles, a Bézier curve), semi-transparent overlapping fills, and an RGB image.
pub fn deck(pages: usize, title: &str) -> Document {
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let font = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica",
    });
    let half = doc.add_object(dictionary! { "Type" => "ExtGState", "ca" => 0.5, "CA" => 0.5 });
    let pixels: Vec<u8> = (0..64u32 * 64)
        .flat_map(|i| [(i % 64 * 4) as u8, (i / 64 * 4) as u8, 200])
        .collect();
    let image = doc.add_object(Stream::new(
        dictionary! {
            "Type" => "XObject", "Subtype" => "Image", "Width" => 64, "Height" => 64,
            "ColorSpace" => "DeviceRGB", "BitsPerComponent" => 8,
        },
        pixels,
    ));
    let resources = doc.add_object(dictionary! {
        "Font" => dictionary! { "F1" => font },
        "ExtGState" => dictionary! { "GS1" => half },
        "XObject" => dictionary! { "Im1" => image },
    });
    let mut kids = Vec::new();
    for i in 1..=pages {
        let x = 40 + (i * 37) % 500;
        let content = format!(
            "0.2 0.3 0.8 rg {x} 60 160 90 re f \
             1 0 0 RG 4 w 50 300 m 200 {c} 400 100 750 380 c S \
             q /GS1 gs 0 0.8 0 rg 300 150 200 150 re f 0.9 0.1 0.1 rg 380 200 200 150 re f Q \
             q 120 0 0 120 {ix} 280 cm /Im1 Do Q \
             BT /F1 28 Tf 40 400 Td (Slide {i} of {pages}: marker-{i}) Tj ET",
            c = 50 + i * 20,
            ix = 620 - (i * 13) % 200,
        );
        let content = doc.add_object(Stream::new(dictionary! {}, content.into_bytes()));
        kids.push(Object::Reference(doc.add_object(dictionary! {
            "Type" => "Page", "Parent" => pages_id, "Contents" => content,
        })));
    }
    finish(&mut doc, pages_id, kids, resources, [0, 0, 800, 450], title);
    doc
}

pub fn finish(
    doc: &mut Document,
    pages_id: lopdf::ObjectId,
    kids: Vec<Object>,
    resources: lopdf::ObjectId,
    media_box: [i64; 4],
    title: &str,
) {
    let count = kids.len() as i64;
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages", "Kids" => kids, "Count" => count, "Resources" => resources,
            "MediaBox" => media_box.iter().map(|&v| Object::Integer(v)).collect::<Vec<_>>(),
        }),
    );
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    let info = doc.add_object(dictionary! { "Title" => Object::string_literal(title) });
    doc.trailer.set("Root", catalog);
    doc.trailer.set("Info", info);
    // Encryption keys are derived from the ID, so every file gets one.
    let id = Object::String(
        sha256(title.as_bytes()).into_bytes()[..16].to_vec(),
        lopdf::StringFormat::Hexadecimal,
    );
    doc.trailer.set("ID", vec![id.clone(), id]);
}

pub fn bytes(mut doc: Document) -> Vec<u8> {
    let mut out = Vec::new();
    doc.save_to(&mut out).unwrap();
    out
}

pub fn encrypted(user_password: &str) -> Vec<u8> {
    let mut doc = deck(2, "Secret deck");
    let state = EncryptionState::try_from(EncryptionVersion::V2 {
        document: &doc,
        owner_password: "owner-secret",
        user_password,
        key_length: 128,
        permissions: Permissions::default(),
    })
    .unwrap();
    doc.encrypt(&state).unwrap();
    bytes(doc)
}

pub fn json(r: &Response) -> Value {
    serde_json::from_slice(&r.body)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {} {}", r.status, r.text()))
}

/// Reads the event stream to its end (it ends after `done`); returns (event, data) pairs.
pub fn events(server: &Server, id: &str) -> Vec<(String, Value)> {
    let r = http::get(server.http_addr(), &format!("/api/documents/{id}/events"));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("text/event-stream"));
    r.text()
        .split("\n\n")
        .filter(|b| !b.trim().is_empty())
        .map(|block| {
            let field = |name: &str| {
                block
                    .lines()
                    .find_map(|l| l.strip_prefix(name))
                    .unwrap_or_else(|| panic!("no {name} in {block:?}"))
                    .to_string()
            };
            (
                field("event: "),
                serde_json::from_str(&field("data: ")).unwrap(),
            )
        })
        .collect()
}

pub fn upload(server: &Server, name: &str, data: &[u8]) -> Response {
    http::post_file(server.http_addr(), "/api/documents", name, data)
}

pub fn assert_error(r: &Response, status: u16, code: &str) {
    assert_eq!(
        r.status,
        status,
        "expected {status} {code}, got: {}",
        r.text()
    );
    let body = json(r);
    assert_eq!(body["error"], code, "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| m.len() > 10),
        "no readable message: {body}"
    );
}

/// The members of an uncompressed ustar archive, in order: (name, bytes). Panics on anything
/// that is not a well-formed archive with valid header checksums.
pub fn untar(tar: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut at = 0;
    loop {
        let h = &tar[at..at + 512];
        if h.iter().all(|&b| b == 0) {
            assert!(
                tar[at..].iter().all(|&b| b == 0),
                "data after the end blocks"
            );
            return out;
        }
        assert_eq!(&h[257..263], b"ustar\0", "not a POSIX ustar header");
        let field = |a: usize, b: usize| {
            std::str::from_utf8(&h[a..b])
                .unwrap()
                .trim_matches(|c| c == '\0' || c == ' ')
                .to_string()
        };
        let mut blank = h.to_vec();
        blank[148..156].fill(b' ');
        let sum: u32 = blank.iter().map(|&b| b as u32).sum();
        assert_eq!(
            u32::from_str_radix(&field(148, 156), 8).unwrap(),
            sum,
            "checksum"
        );
        let name = field(0, 100);
        let size = u64::from_str_radix(&field(124, 136), 8).unwrap() as usize;
        assert_eq!(h[156], b'0', "{name} is not a regular file");
        at += 512;
        out.push((name, tar[at..at + size].to_vec()));
        at += size.div_ceil(512) * 512;
    }
}

/// GETs `path` from the server as JSON.
pub fn get_json(addr: SocketAddr, path: &str) -> Value {
    json(&http::get(addr, path))
}

/// Checks a finished document the way a viewer would: every page served with the hash the
/// manifest gives, decodable, not blank, unlike every other page, with `marker(n)` in its
/// text; then the package holds exactly the manifest and those bytes. Returns the manifest.
pub fn assert_document(
    server: &Server,
    id: &str,
    pages: usize,
    marker: impl Fn(usize) -> String,
) -> Value {
    let addr = server.http_addr();
    let m = get_json(addr, &format!("/api/documents/{id}"));
    assert_eq!(m["status"], "ready", "{m}");
    assert_eq!(m["page_count"], pages, "{m}");
    let list = m["pages"].as_array().unwrap();
    assert_eq!(list.len(), pages);
    let mut seen = std::collections::HashSet::new();
    for (i, p) in list.iter().enumerate() {
        let n = i + 1;
        assert_eq!(p["number"], n);
        assert_eq!(p["status"], "ready", "page {n}: {p}");
        let text = p["text"].as_str().unwrap();
        assert!(text.contains(&marker(n)), "page {n} text: {text:?}");
        let img = http::get(addr, p["image"].as_str().unwrap());
        assert_eq!(img.status, 200);
        assert_eq!(img.header("content-type"), Some("image/png"));
        assert_eq!(
            p["sha256"].as_str().unwrap(),
            sha256(&img.body),
            "page {n} hash"
        );
        let thumb = http::get(addr, p["thumbnail"].as_str().unwrap());
        assert_eq!(p["thumbnail_sha256"].as_str().unwrap(), sha256(&thumb.body));
        let pixels = image::load_from_memory(&img.body).unwrap().to_rgb8();
        assert_eq!(
            pixels.dimensions(),
            (
                p["width"].as_u64().unwrap() as u32,
                p["height"].as_u64().unwrap() as u32
            )
        );
        let first = *pixels.get_pixel(0, 0);
        assert!(pixels.pixels().any(|px| *px != first), "page {n} is blank");
        assert!(
            seen.insert(sha256(pixels.as_raw())),
            "page {n} looks like another page"
        );
    }

    let pkg = http::get(addr, &format!("/api/documents/{id}/package"));
    assert_eq!(pkg.status, 200, "{}", pkg.text());
    assert_eq!(pkg.header("content-type"), Some("application/x-tar"));
    assert!(pkg.header("cache-control").unwrap().contains("immutable"));
    assert_eq!(
        pkg.header("content-length")
            .map(|l| l.parse::<usize>().unwrap()),
        Some(pkg.body.len())
    );
    let members = untar(&pkg.body);
    assert_eq!(members.len(), pages + 1);
    assert_eq!(members[0].0, "manifest.json");
    let packed: Value = serde_json::from_slice(&members[0].1).unwrap();
    assert_eq!(packed, m, "the packaged manifest is the served one");
    for (i, (name, bytes)) in members[1..].iter().enumerate() {
        assert_eq!(name, &format!("pages/{}.png", i + 1));
        assert_eq!(
            list[i]["sha256"].as_str().unwrap(),
            sha256(bytes),
            "{name} hash"
        );
    }
    let etag = pkg.header("etag").unwrap().to_string();
    let again = http::request(
        addr,
        "GET",
        &format!("/api/documents/{id}/package"),
        &[("If-None-Match", &etag)],
        b"",
    );
    assert_eq!(again.status, 304);
    m
}

/// A zip archive of `members` (name, content), deflated. `declare` overrides the uncompressed
/// size written in the headers (a lying zip bomb); CRCs are left 0, as nothing here reads
/// them before the size checks.
pub fn zip(members: &[(&str, &[u8])], declare: Option<u32>) -> Vec<u8> {
    use std::io::Write;
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, content) in members {
        let mut z = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
        z.write_all(content).unwrap();
        let data = z.finish().unwrap();
        let size = declare.unwrap_or(content.len() as u32);
        let offset = out.len() as u32;
        let common = |sig: u32, v: &mut Vec<u8>, central: bool| {
            v.extend_from_slice(&sig.to_le_bytes());
            if central {
                v.extend_from_slice(&20u16.to_le_bytes());
            }
            for x in [20u16, 0, 8, 0, 0] {
                v.extend_from_slice(&x.to_le_bytes());
            }
            for x in [0u32, data.len() as u32, size] {
                v.extend_from_slice(&x.to_le_bytes());
            }
            v.extend_from_slice(&(name.len() as u16).to_le_bytes());
            v.extend_from_slice(&0u16.to_le_bytes());
        };
        common(0x0403_4b50, &mut out, false);
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(&data);
        common(0x0201_4b50, &mut central, true);
        for x in [0u16, 0, 0] {
            central.extend_from_slice(&x.to_le_bytes());
        }
        central.extend_from_slice(&0u32.to_le_bytes());
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(name.as_bytes());
    }
    let cd_offset = out.len() as u32;
    out.extend_from_slice(&central);
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    for x in [0u16, 0, members.len() as u16, members.len() as u16] {
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.extend_from_slice(&(central.len() as u32).to_le_bytes());
    out.extend_from_slice(&cd_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

const CONTENT_TYPES: &[u8] = br#"<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>"#;

/// An OOXML-looking zip (its first member is `[Content_Types].xml`) plus `members`.
pub fn ooxml(members: &[(&str, &[u8])], declare: Option<u32>) -> Vec<u8> {
    let mut all = vec![("[Content_Types].xml", CONTENT_TYPES)];
    all.extend_from_slice(members);
    zip(&all, declare)
}
