//! Documents, black-box: PDFs and images built here are uploaded to the real binary over HTTP,
//! and what comes back is checked — page count, non-blank pages that differ, text, hashes,
//! caching headers — and every hostile input gets its defined JSON error while the server
//! stays up.

use std::io::Write;
use std::path::Path;

use lectern_system_tests::documents::{
    assert_document, assert_error, bytes, deck, encrypted, events, finish, json, ooxml, sha256,
    upload,
};
use lectern_system_tests::http;
use lectern_system_tests::{Server, TIMEOUT};
use lopdf::{dictionary, Document, Object};

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
    // 50 slides, each with its own text, vector shapes, transparency and an image.
    let pdf = bytes(deck(50, "Quarterly review"));

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
    assert_eq!(ready.len(), 50, "{evs:?}");
    assert!(!evs.iter().any(|(e, _)| e == "failed"), "{evs:?}");
    assert_eq!(evs.last().unwrap().0, "done");
    assert_eq!(evs.last().unwrap().1["page_count"], 50);

    let m = assert_document(&server, &id, 50, |n| format!("marker-{n}"));
    assert_eq!(m["title"], "Quarterly review");
    let pages = m["pages"].as_array().unwrap();
    for p in pages {
        assert_eq!(
            (p["width_pt"].as_f64(), p["height_pt"].as_f64()),
            (Some(800.0), Some(450.0))
        );
        assert_eq!(p["renderer"], "hayro");
    }
    let img = http::get(addr, pages[0]["image"].as_str().unwrap());
    assert!(img.header("cache-control").unwrap().contains("immutable"));
    assert!(img.header("etag").is_some());

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
        .arg("2000000")
        .arg("--office-workers")
        .arg("1")
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
    // Office zips that must never reach LibreOffice: no directory at all; one member that
    // inflates 1,000×; a directory that lies about a member's size; too many members.
    let pptx = b"PK\x03\x04\x14\0\0\0\x08\0[Content_Types].xml rest of a pptx";
    assert_error(&upload(&server, "cut.pptx", pptx), 422, "hostile_archive");
    let zeros = vec![0u8; 40 << 20];
    let bomb = ooxml(&[("ppt/slides/slide1.xml", &zeros)], None);
    assert!(bomb.len() < 200_000, "the bomb fits under the upload limit");
    assert_error(&upload(&server, "bomb.pptx", &bomb), 422, "hostile_archive");
    let liar = ooxml(&[("ppt/slides/slide1.xml", &zeros[..4 << 20])], Some(1000));
    assert_error(&upload(&server, "liar.pptx", &liar), 422, "hostile_archive");
    let names: Vec<String> = (0..10_001).map(|i| format!("ppt/m{i}")).collect();
    let many: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b""[..])).collect();
    let crowd = ooxml(&many, None);
    assert_error(
        &upload(&server, "crowd.pptx", &crowd),
        422,
        "hostile_archive",
    );
    assert_error(
        &upload(&server, "big.pdf", &vec![b'%'; 2_100_000]),
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
