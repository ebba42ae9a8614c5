//! The shared documents with their final ink, as one PDF: each page is the page image the
//! meeting showed (raster, as attendees saw it) with the ink on top as vector paths (the same
//! geometry as the video's, `render.rs`), so strokes stay sharp at any zoom and can be
//! selected apart from the slide in an editor.

use std::io::Write;

use flate2::write::ZlibEncoder;
use flate2::Compression;
use lopdf::{dictionary, Document, Object, ObjectId, Stream, StringFormat};

use super::render::{self, Mark, Paint, Pt, Seg, View};
use super::timeline::Timeline;
use super::RecordingError;

/// A page as the documents store has it.
pub struct PageSource {
    /// The page image (PNG, JPEG or WebP); `None` when the document was deleted since.
    pub image: Option<Vec<u8>>,
    /// The page's size in PDF points, when known (else the image's pixels at 96 dpi).
    pub size_pt: Option<(f32, f32)>,
}

/// Builds the PDF: every page of every shared document, in order of first share, with the ink
/// the meeting ended with (`timeline.end`).
pub fn build(
    title: &str,
    timeline: &Timeline,
    mut page: impl FnMut(&str, u32) -> PageSource,
) -> Result<Vec<u8>, RecordingError> {
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let highlighter = doc.add_object(dictionary! {
        "Type" => "ExtGState",
        "ca" => render::HIGHLIGHTER_ALPHA,
        "CA" => render::HIGHLIGHTER_ALPHA,
    });
    let mut kids = Vec::new();
    for shared in &timeline.documents {
        for info in &shared.page_info {
            let source = page(&shared.id, info.number);
            let image = source.image.as_deref().and_then(image_xobject);
            let (w, h) = source.size_pt.unwrap_or_else(|| {
                let (pw, ph) = image.as_ref().map_or((info.w, info.h), |i| (i.1, i.2));
                (pw.max(1) as f32 * 0.75, ph.max(1) as f32 * 0.75)
            });
            let items = timeline
                .end
                .page_ink(&shared.id, info.number)
                .map(|ink| ink.items.as_slice())
                .unwrap_or_default();
            let marks = render::ink_marks(items, &View::whole(w, h));
            let mut resources = dictionary! {
                "ExtGState" => dictionary! { "Hl" => highlighter },
            };
            let mut content = String::new();
            match image {
                Some((stream, _, _)) => {
                    let id = doc.add_object(stream);
                    resources.set("XObject", dictionary! { "Page" => id });
                    content.push_str(&format!("q {w} 0 0 {h} 0 0 cm /Page Do Q\n"));
                }
                None => content.push_str(&format!("q 1 g 0 0 {w} {h} re f Q\n")),
            }
            // Ink geometry is in page units with y down, as on screen.
            content.push_str(&format!("1 0 0 -1 0 {h} cm\n"));
            for mark in &marks {
                write_mark(&mut content, mark);
            }
            let contents = doc.add_object(Stream::new(dictionary! {}, content.into_bytes()));
            kids.push(Object::Reference(doc.add_object(dictionary! {
                "Type" => "Page",
                "Parent" => pages_id,
                "MediaBox" => vec![Object::Integer(0), Object::Integer(0), Object::Real(w), Object::Real(h)],
                "Resources" => resources,
                "Contents" => contents,
            })));
        }
    }
    finish(&mut doc, pages_id, kids, title)?;
    let mut out = Vec::new();
    doc.save_to(&mut out)
        .map_err(|e| RecordingError::Pdf(e.to_string()))?;
    Ok(out)
}

fn finish(
    doc: &mut Document,
    pages_id: ObjectId,
    kids: Vec<Object>,
    title: &str,
) -> Result<(), RecordingError> {
    if kids.is_empty() {
        return Err(RecordingError::Pdf("no document was shared".into()));
    }
    let count = kids.len() as i64;
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! { "Type" => "Pages", "Kids" => kids, "Count" => count }),
    );
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    // A text string in UTF-16BE with its byte order mark reads right whatever the script.
    let utf16: Vec<u8> = [0xFE, 0xFF]
        .into_iter()
        .chain(title.encode_utf16().flat_map(u16::to_be_bytes))
        .collect();
    let info = doc.add_object(dictionary! {
        "Title" => Object::String(utf16, StringFormat::Hexadecimal),
        "Producer" => Object::string_literal("Lectern"),
    });
    doc.trailer.set("Root", catalog);
    doc.trailer.set("Info", info);
    Ok(())
}

/// A page image as an RGB image XObject (Flate), with its size in pixels.
fn image_xobject(bytes: &[u8]) -> Option<(Stream, u32, u32)> {
    let pixmap = super::frames::decode(bytes)?;
    let (w, h) = (pixmap.width(), pixmap.height());
    let mut z = ZlibEncoder::new(Vec::new(), Compression::fast());
    for px in pixmap.data().chunks_exact(4) {
        z.write_all(&px[..3]).ok()?;
    }
    let data = z.finish().ok()?;
    let dict = dictionary! {
        "Type" => "XObject", "Subtype" => "Image", "Width" => w, "Height" => h,
        "ColorSpace" => "DeviceRGB", "BitsPerComponent" => 8, "Filter" => "FlateDecode",
    };
    Some((Stream::new(dict, data).with_compression(false), w, h))
}

/// One mark as PDF path operators in its own graphics state.
fn write_mark(out: &mut String, mark: &Mark) {
    let [r, g, b] = mark.rgb.map(|c| f32::from(c) / 255.0);
    out.push_str("q ");
    if mark.alpha < 1.0 {
        out.push_str("/Hl gs ");
    }
    match mark.paint {
        Paint::Stroke { width } => {
            out.push_str(&format!("{r:.4} {g:.4} {b:.4} RG {width:.3} w 1 J 1 j "))
        }
        Paint::Fill => out.push_str(&format!("{r:.4} {g:.4} {b:.4} rg ")),
    }
    let mut at = Pt { x: 0.0, y: 0.0 };
    let mut start = at;
    for seg in &mark.path {
        match *seg {
            Seg::Move(p) => {
                out.push_str(&format!("{:.3} {:.3} m ", p.x, p.y));
                (at, start) = (p, p);
            }
            Seg::Line(p) => {
                out.push_str(&format!("{:.3} {:.3} l ", p.x, p.y));
                at = p;
            }
            // PDF has only cubic Béziers; a quadratic is the cubic with controls 2/3 of the
            // way to its control point.
            Seg::Quad(c, p) => {
                let c1 = lerp(at, c, 2.0 / 3.0);
                let c2 = lerp(p, c, 2.0 / 3.0);
                cubic(out, c1, c2, p);
                at = p;
            }
            Seg::Cubic(c1, c2, p) => {
                cubic(out, c1, c2, p);
                at = p;
            }
            Seg::Close => {
                out.push_str("h ");
                at = start;
            }
        }
    }
    out.push_str(match mark.paint {
        Paint::Stroke { .. } => "S Q\n",
        Paint::Fill => "f Q\n",
    });
}

fn lerp(a: Pt, b: Pt, k: f32) -> Pt {
    Pt {
        x: a.x + (b.x - a.x) * k,
        y: a.y + (b.y - a.y) * k,
    }
}

fn cubic(out: &mut String, c1: Pt, c2: Pt, p: Pt) {
    out.push_str(&format!(
        "{:.3} {:.3} {:.3} {:.3} {:.3} {:.3} c ",
        c1.x, c1.y, c2.x, c2.y, p.x, p.y
    ));
}
