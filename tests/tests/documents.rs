//! Documents, black-box: PDFs and images built here are uploaded to the real binary over HTTP,
//! and what comes back is checked — page count, non-blank pages that differ, text, hashes,
//! caching headers — and every hostile input gets its defined JSON error while the server
//! stays up.

use std::io::Write;
use std::path::Path;

use lectern_system_tests::http::{self, Response};
use lectern_system_tests::{Server, TIMEOUT};
use lopdf::encryption::{EncryptionState, EncryptionVersion, Permissions};
use lopdf::{dictionary, Document, Object, Stream};
use serde_json::Value;
use sha2::{Digest, Sha256};

fn sha256(b: &[u8]) -> String {
    Sha256::digest(b)
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}

/// A deck of `pages` 800×450 pt slides, each with its own text (`marker-N`), vector shapes
/// (rectangles, a Bézier curve), semi-transparent overlapping fills, and an RGB image.
fn deck(pages: usize, title: &str) -> Document {
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

fn finish(
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

fn bytes(mut doc: Document) -> Vec<u8> {
    let mut out = Vec::new();
    doc.save_to(&mut out).unwrap();
    out
}

fn encrypted(user_password: &str) -> Vec<u8> {
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

fn json(r: &Response) -> Value {
    serde_json::from_slice(&r.body)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {} {}", r.status, r.text()))
}

/// Reads the event stream to its end (it ends after `done`); returns (event, data) pairs.
fn events(server: &Server, id: &str) -> Vec<(String, Value)> {
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

fn upload(server: &Server, name: &str, data: &[u8]) -> Response {
    http::post_file(server.http_addr(), "/api/documents", name, data)
}

fn assert_error(r: &Response, status: u16, code: &str) {
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

/// Only `.tmp` (empty) may be left in the store after refused or interrupted uploads.
fn assert_no_documents(data: &Path) {
    let root = data.join("documents");
    let names: Vec<String> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, vec![".tmp".to_string()], "documents left behind");
    let tmp = std::fs::read_dir(root.join(".tmp")).unwrap().count();
    assert_eq!(tmp, 0, "half-written uploads left in .tmp");
}

#[test]
fn a_deck_becomes_pages_with_text_hashes_and_cache_headers() {
    let server = Server::start();
    let addr = server.http_addr();
    let pdf = bytes(deck(12, "Quarterly review"));

    let r = upload(&server, "deck.pdf", &pdf);
    assert_eq!(r.status, 201, "{}", r.text());
    let id = json(&r)["id"].as_str().unwrap().to_string();
    assert_eq!(id, sha256(&pdf), "the id is the sha256 of the original");

    let evs = events(&server, &id);
    let ready: Vec<u64> = evs
        .iter()
        .filter(|(e, _)| e == "page")
        .map(|(_, d)| d["page"].as_u64().unwrap())
        .collect();
    assert_eq!(ready.len(), 12, "{evs:?}");
    assert!(!evs.iter().any(|(e, _)| e == "failed"), "{evs:?}");
    assert_eq!(evs.last().unwrap().0, "done");
    assert_eq!(evs.last().unwrap().1["page_count"], 12);

    let m = json(&http::get(addr, &format!("/api/documents/{id}")));
    assert_eq!(m["status"], "ready");
    assert_eq!(m["page_count"], 12);
    assert_eq!(m["title"], "Quarterly review");
    let pages = m["pages"].as_array().unwrap();
    let mut seen = std::collections::HashSet::new();
    for (i, p) in pages.iter().enumerate() {
        let n = i + 1;
        assert_eq!(p["number"], n);
        assert_eq!(
            (p["width_pt"].as_f64(), p["height_pt"].as_f64()),
            (Some(800.0), Some(450.0))
        );
        let text = p["text"].as_str().unwrap();
        assert!(
            text.contains(&format!("marker-{n}")),
            "page {n} text: {text:?}"
        );
        let img = http::get(addr, p["image"].as_str().unwrap());
        assert_eq!(img.status, 200);
        assert_eq!(img.header("content-type"), Some("image/png"));
        assert!(img.header("cache-control").unwrap().contains("immutable"));
        assert!(img.header("etag").is_some());
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

    // Range and conditional requests on an immutable page.
    let url = pages[0]["image"].as_str().unwrap();
    let part = http::request(addr, "GET", url, &[("Range", "bytes=0-99")], b"");
    assert_eq!(part.status, 206);
    assert_eq!(part.body.len(), 100);
    let etag = part.header("etag").unwrap().to_string();
    let again = http::request(addr, "GET", url, &[("If-None-Match", &etag)], b"");
    assert_eq!(again.status, 304);

    // The same bytes again: the same document, already converted.
    let r = upload(&server, "copy.pdf", &pdf);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(json(&r)["id"], id.as_str());
    assert_eq!(json(&r)["status"], "ready");
}

#[test]
fn an_image_is_a_one_page_document() {
    let server = Server::start();
    let img = image::RgbImage::from_fn(300, 200, |x, y| image::Rgb([x as u8, y as u8, 90]));
    let mut png = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    let r = upload(&server, "photo.png", &png);
    assert_eq!(r.status, 201, "{}", r.text());
    let id = json(&r)["id"].as_str().unwrap().to_string();
    assert_eq!(events(&server, &id).last().unwrap().0, "done");
    let m = json(&http::get(
        server.http_addr(),
        &format!("/api/documents/{id}"),
    ));
    assert_eq!(m["kind"], "png");
    assert_eq!(m["page_count"], 1);
    assert_eq!(
        (
            m["pages"][0]["width"].as_u64(),
            m["pages"][0]["height"].as_u64()
        ),
        (Some(300), Some(200))
    );
}

#[test]
fn hostile_inputs_get_defined_errors_and_the_server_stays_up() {
    let mut server = Server::builder()
        .arg("--max-upload-size")
        .arg("200000")
        .arg("--max-pages")
        .arg("20")
        .start();
    let addr = server.http_addr();

    assert_error(
        &upload(&server, "locked.pdf", &encrypted("user-secret")),
        422,
        "password_protected",
    );
    let full = bytes(deck(3, "Truncated"));
    assert_error(&upload(&server, "cut.pdf", &full[..40]), 422, "corrupt_pdf");
    assert_error(
        &upload(&server, "junk.pdf", b"%PDF-1.7\n\x00\x01 not a pdf at all"),
        422,
        "corrupt_pdf",
    );
    let mut empty = Document::with_version("1.5");
    let pages_id = empty.new_object_id();
    let res = empty.add_object(dictionary! {});
    finish(&mut empty, pages_id, vec![], res, [0, 0, 800, 450], "Empty");
    assert_error(
        &upload(&server, "empty.pdf", &bytes(empty)),
        422,
        "no_pages",
    );
    assert_error(
        &upload(&server, "long.pdf", &bytes(deck(21, "Long"))),
        422,
        "too_many_pages",
    );
    assert_error(
        &upload(&server, "x.bin", &[0u8, 159, 146, 150, 1, 2, 3, 255]),
        415,
        "unknown_type",
    );
    let pptx = b"PK\x03\x04\x14\0\0\0\x08\0[Content_Types].xml rest of a pptx";
    assert_error(
        &upload(&server, "slides.pptx", pptx),
        415,
        "office_conversion_unavailable",
    );
    assert_error(
        &upload(&server, "big.pdf", &vec![b'%'; 300_000]),
        413,
        "too_large",
    );
    assert_no_documents(server.data_dir());

    // A client that disconnects mid-upload leaves nothing behind.
    {
        let (ct, body) = http::multipart("half.pdf", &full);
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        let head = format!(
            "POST /api/documents HTTP/1.1\r\nHost: x\r\nContent-Type: {ct}\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        s.write_all(head.as_bytes()).unwrap();
        s.write_all(&body[..body.len() / 2]).unwrap();
        s.flush().unwrap();
    }
    // The server notices the closed socket on its own time; wait (bounded) for the cleanup.
    let deadline = std::time::Instant::now() + TIMEOUT;
    while std::fs::read_dir(server.data_dir().join("documents/.tmp"))
        .unwrap()
        .count()
        > 0
        && std::time::Instant::now() < deadline
    {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_no_documents(server.data_dir());

    // Owner password only: opens without a password, so it converts.
    let r = upload(&server, "owner-only.pdf", &encrypted(""));
    assert_eq!(r.status, 201, "{}", r.text());
    let id = json(&r)["id"].as_str().unwrap().to_string();
    let evs = events(&server, &id);
    assert_eq!(
        evs.iter().filter(|(e, _)| e == "page").count(),
        2,
        "{evs:?}"
    );

    // Absurd page size: scaled into the page box, never a giant allocation.
    let mut wide = deck(1, "Wide");
    let pages_id = wide
        .catalog()
        .unwrap()
        .get(b"Pages")
        .unwrap()
        .as_reference()
        .unwrap();
    wide.get_dictionary_mut(pages_id).unwrap().set(
        "MediaBox",
        vec![0.into(), 0.into(), Object::Real(1.0e7), 2.into()],
    );
    let r = upload(&server, "wide.pdf", &bytes(wide));
    assert_eq!(r.status, 201, "{}", r.text());
    let id = json(&r)["id"].as_str().unwrap().to_string();
    assert_eq!(events(&server, &id).last().unwrap().0, "done");
    let m = json(&http::get(addr, &format!("/api/documents/{id}")));
    assert!(m["pages"][0]["width"].as_u64().unwrap() <= 1600, "{m}");

    assert_error(
        &http::get(addr, "/api/documents/not-an-id"),
        404,
        "not_found",
    );
    assert_error(
        &http::get(addr, &format!("/api/documents/{}", "0".repeat(64))),
        404,
        "not_found",
    );
    assert_eq!(http::get(addr, "/").status, 200);
    assert!(server.is_running(), "the server died:\n{}", server.stderr());
}
