//! What the meeting benchmark's presenter sends, and when: page turns and strokes on a fixed
//! schedule, plus the 2-page PDF it shares.

use crate::Cli;

#[derive(Clone, Copy, PartialEq)]
pub enum Kind {
    Share,
    Turn,
    Extend,
    Other,
}

pub struct Planned {
    pub at: f64,
    pub kind: Kind,
    pub payload: String,
}

/// Shortest decimal form with at most 4 decimals (protocol "Numbers").
fn dec(units: i64) -> String {
    let s = format!("{:.4}", units as f64 / 10000.0);
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".into()
    } else {
        s.to_string()
    }
}

pub fn plan(cli: &Cli) -> Vec<Planned> {
    let mut ev = Vec::new();
    let duration = cli.turns as f64 / cli.turn_rate;
    for i in 0..cli.turns {
        ev.push(Planned {
            at: i as f64 / cli.turn_rate + 0.013,
            kind: Kind::Turn,
            payload: format!("<page n='{}'/>", if i % 2 == 0 { 2 } else { 1 }),
        });
    }
    let extends = (duration * cli.extend_rate).round() as usize;
    const PER_STROKE: usize = 30;
    for e in 0..extends {
        let at = e as f64 / cli.extend_rate + 0.03;
        let (stroke, i) = (e / PER_STROKE, e % PER_STROKE);
        let x = 1000 + (stroke as i64 % 40) * 200 + i as i64 * 5;
        let y = 1000 + (stroke as i64 % 7) * 1000 + i as i64 * 3;
        if i == 0 {
            ev.push(Planned {
                at: at - 0.004,
                kind: Kind::Other,
                payload: format!(
                    "<stroke-begin id='s{stroke}' page='1' tool='pen' color='#e53935' width='0.004'>{},{}</stroke-begin>",
                    dec(x),
                    dec(y)
                ),
            });
        }
        ev.push(Planned {
            at,
            kind: Kind::Extend,
            payload: format!(
                "<stroke-extend id='s{stroke}'>{},{} {},{}</stroke-extend>",
                dec(x + 2),
                dec(y + 1),
                dec(x + 4),
                dec(y + 3)
            ),
        });
        if i == PER_STROKE - 1 || e == extends - 1 {
            ev.push(Planned {
                at: at + 0.004,
                kind: Kind::Other,
                payload: format!("<stroke-end id='s{stroke}'/>"),
            });
        }
    }
    ev.sort_by(|a, b| a.at.total_cmp(&b.at));
    ev
}

/// A 2-page PDF (800×450 pt slides with a rectangle and a line of text each).
pub fn two_page_pdf() -> Vec<u8> {
    use lopdf::{dictionary, Document, Object, Stream};
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let font = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica",
    });
    let resources = doc.add_object(dictionary! { "Font" => dictionary! { "F1" => font } });
    let mut kids = Vec::new();
    for i in 1..=2 {
        let content = format!(
            "0.2 0.3 0.8 rg {} 60 200 120 re f BT /F1 36 Tf 60 360 Td (Benchmark slide {i}) Tj ET",
            100 * i
        );
        let c = doc.add_object(Stream::new(dictionary! {}, content.into_bytes()));
        kids.push(Object::Reference(doc.add_object(dictionary! {
            "Type" => "Page", "Parent" => pages_id, "Contents" => c,
        })));
    }
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages", "Kids" => kids, "Count" => 2, "Resources" => resources,
            "MediaBox" => vec![0.into(), 0.into(), 800.into(), 450.into()],
        }),
    );
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog);
    let mut out = Vec::new();
    doc.save_to(&mut out).expect("PDF written");
    out
}
