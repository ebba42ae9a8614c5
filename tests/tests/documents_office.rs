//! Office documents, black-box: a 20-slide PPTX and a 10-page DOCX generated here (python-pptx
//! and python-docx, installed with unoserver by `tests/documents/setup.sh`) go through the
//! real binary's resident LibreOffice, and come back as pages with their text; without
//! LibreOffice the same uploads get a clear 415 while PDFs still work.

use std::path::PathBuf;
use std::process::Command;

use lectern_system_tests::documents::{
    assert_document, assert_error, bytes, deck, events, json, upload,
};
use lectern_system_tests::{Server, TempDir};

/// The venv `tests/documents/setup.sh` made (`$LECTERN_UNOSERVER_VENV` or the default).
fn venv() -> PathBuf {
    let dir = std::env::var_os("LECTERN_UNOSERVER_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/opt/lectern-unoserver"));
    assert!(
        dir.join("bin/unoserver").is_file(),
        "no unoserver venv at {} — run `bash tests/documents/setup.sh` first",
        dir.display()
    );
    dir
}

/// Generates a `kind` ("pptx" or "docx") document of `count` slides or pages.
fn office(kind: &str, count: usize) -> Vec<u8> {
    let dir = TempDir::new("office");
    let out = dir.path().join(format!("input.{kind}"));
    let script =
        lectern_system_tests::server::workspace_root().join("tests/documents/make_office.py");
    let status = Command::new(venv().join("bin/python"))
        .arg(script)
        .arg(kind)
        .arg(&out)
        .arg(count.to_string())
        .status()
        .expect("run make_office.py");
    assert!(status.success(), "make_office.py {kind} failed");
    std::fs::read(out).unwrap()
}

fn office_server() -> Server {
    Server::builder()
        .arg("--office-workers")
        .arg("1")
        .arg("--unoserver")
        .arg(venv().join("bin/unoserver").to_string_lossy())
        .start()
}

#[test]
fn a_pptx_and_a_docx_become_pages_with_their_text() {
    let mut server = office_server();

    let pptx = office("pptx", 20);
    let r = upload(&server, "deck.pptx", &pptx);
    assert_eq!(r.status, 201, "{}\n{}", r.text(), server.stderr());
    let m = json(&r);
    assert_eq!(m["kind"], "officezip");
    assert_eq!(m["page_count"], 20, "known when the upload is answered");
    let id = m["id"].as_str().unwrap().to_string();
    let evs = events(&server, &id);
    assert_eq!(evs.last().unwrap().0, "done", "{evs:?}");
    let m = assert_document(&server, &id, 20, |n| format!("slide-marker-{n}"));
    let (w, h) = (
        m["pages"][0]["width"].as_u64().unwrap(),
        m["pages"][0]["height"].as_u64().unwrap(),
    );
    assert_eq!((w, h), (1600, 900), "a 16:9 slide fills the page box");

    let docx = office("docx", 10);
    let r = upload(&server, "report.docx", &docx);
    assert_eq!(r.status, 201, "{}\n{}", r.text(), server.stderr());
    let id = json(&r)["id"].as_str().unwrap().to_string();
    assert_eq!(events(&server, &id).last().unwrap().0, "done");
    let m = assert_document(&server, &id, 10, |n| format!("docx-marker-{n}"));
    assert!(
        m["pages"][0]["height"].as_u64() > m["pages"][0]["width"].as_u64(),
        "a portrait page"
    );

    // The same deck again is the same document, answered without converting.
    let r = upload(&server, "copy.pptx", &pptx);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(json(&r)["status"], "ready");
    assert!(server.is_running());
}

#[test]
fn without_libreoffice_office_uploads_are_refused_and_pdfs_still_work() {
    let server = Server::builder()
        .arg("--office-workers")
        .arg("1")
        .arg("--unoserver")
        .arg("/nonexistent/unoserver")
        .start();
    let r = upload(&server, "deck.pptx", &office("pptx", 2));
    assert_error(&r, 415, "office_conversion_unavailable");
    let message = json(&r)["message"].as_str().unwrap().to_string();
    assert!(
        message.contains("unoserver") && message.contains("libreoffice-impress"),
        "the message names what to install: {message}"
    );

    let r = upload(&server, "deck.pdf", &bytes(deck(2, "Still fine")));
    assert_eq!(r.status, 201, "{}", r.text());
    let id = json(&r)["id"].as_str().unwrap().to_string();
    assert_eq!(events(&server, &id).last().unwrap().0, "done");
}
