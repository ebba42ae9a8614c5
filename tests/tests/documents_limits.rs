//! Render limits, black-box: a PDF built to make any renderer spin (form XObjects nested ten
//! deep, each drawing the next ten times: 10^9 fills from a few hundred bytes). Its page must
//! end as a "could not be rendered" placeholder while the other pages render, whether the
//! per-page or the whole-document limit strikes first, and the server must stay up.

use lectern_system_tests::documents::{
    assert_error, bytes, events, finish, get_json, json, upload,
};
use lectern_system_tests::{http, Server};
use lopdf::{dictionary, Document, Object, Stream};

/// Pages whose number is in `spin` draw the 10^9 fills; the others a line of text.
fn spinning(pages: usize, spin: &[usize]) -> Vec<u8> {
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let font = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica",
    });
    let mut form = doc.add_object(Stream::new(
        dictionary! { "Type" => "XObject", "Subtype" => "Form", "BBox" => vec![0.into(), 0.into(), 800.into(), 450.into()] },
        b"0.5 g 1 1 2 2 re f".to_vec(),
    ));
    for _ in 0..9 {
        form = doc.add_object(Stream::new(
            dictionary! {
                "Type" => "XObject", "Subtype" => "Form",
                "BBox" => vec![0.into(), 0.into(), 800.into(), 450.into()],
                "Resources" => dictionary! { "XObject" => dictionary! { "X" => form } },
            },
            b"q /X Do Q ".repeat(10),
        ));
    }
    let resources = doc.add_object(dictionary! {
        "Font" => dictionary! { "F1" => font },
        "XObject" => dictionary! { "X" => form },
    });
    let kids = (1..=pages)
        .map(|n| {
            let content = if spin.contains(&n) {
                b"/X Do".to_vec()
            } else {
                format!("BT /F1 28 Tf 40 200 Td (Calm page {n}) Tj ET").into_bytes()
            };
            let content = doc.add_object(Stream::new(dictionary! {}, content));
            Object::Reference(doc.add_object(dictionary! {
                "Type" => "Page", "Parent" => pages_id, "Contents" => content,
            }))
        })
        .collect();
    finish(
        &mut doc,
        pages_id,
        kids,
        resources,
        [0, 0, 800, 450],
        "Spin",
    );
    bytes(doc)
}

#[test]
fn a_page_that_spins_becomes_a_placeholder_at_the_page_limit() {
    let mut server = Server::builder().arg("--page-timeout").arg("1").start();
    let r = upload(&server, "spin.pdf", &spinning(3, &[2]));
    assert_eq!(r.status, 201, "{}", r.text());
    let id = json(&r)["id"].as_str().unwrap().to_string();
    let evs = events(&server, &id);
    assert_eq!(evs.last().unwrap().0, "done", "{evs:?}");
    assert_eq!(evs.last().unwrap().1["failed"], 1, "{evs:?}");
    let m = get_json(server.http_addr(), &format!("/api/documents/{id}"));
    let pages = m["pages"].as_array().unwrap();
    assert_eq!(pages[0]["status"], "ready");
    assert_eq!(pages[2]["status"], "ready");
    assert_eq!(pages[1]["status"], "failed", "{m}");
    let why = pages[1]["error"].as_str().unwrap();
    assert!(why.contains("longer than"), "{why}");
    // The placeholder is a real image, served like any page.
    let img = http::get(server.http_addr(), pages[1]["image"].as_str().unwrap());
    assert_eq!(img.status, 200);
    let pixels = image::load_from_memory(&img.body).unwrap().to_rgb8();
    let first = *pixels.get_pixel(0, 0);
    assert!(
        pixels.pixels().any(|p| *p != first),
        "the placeholder is not blank"
    );
    assert!(server.is_running(), "{}", server.stderr());
}

#[test]
fn the_document_limit_ends_a_conversion_and_the_package_waits_for_it() {
    let mut server = Server::builder()
        .arg("--page-timeout")
        .arg("600")
        .arg("--document-timeout")
        .arg("4")
        .start();
    let r = upload(&server, "spin2.pdf", &spinning(3, &[1, 3]));
    assert_eq!(r.status, 201, "{}", r.text());
    let id = json(&r)["id"].as_str().unwrap().to_string();
    // Pages 1 and 3 spin for far longer than the document limit, so it is still converting.
    assert_error(
        &http::get(server.http_addr(), &format!("/api/documents/{id}/package")),
        409,
        "not_ready",
    );
    let evs = events(&server, &id);
    assert_eq!(evs.last().unwrap().0, "done", "{evs:?}");
    let m = get_json(server.http_addr(), &format!("/api/documents/{id}"));
    let pages = m["pages"].as_array().unwrap();
    assert_eq!(pages[1]["status"], "ready", "{m}");
    for p in [&pages[0], &pages[2]] {
        assert_eq!(p["status"], "failed", "{m}");
        assert!(
            p["error"]
                .as_str()
                .unwrap()
                .contains("document took longer"),
            "{p}"
        );
    }
    let pkg = http::get(server.http_addr(), &format!("/api/documents/{id}/package"));
    assert_eq!(pkg.status, 200);
    assert!(server.is_running(), "{}", server.stderr());
}
