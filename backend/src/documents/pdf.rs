//! PDF specifics: opening (with the encryption cases), rendering one page with hayro, text
//! with lopdf, and the placeholder page.

use std::sync::Arc;

use hayro::hayro_interpret::InterpreterSettings;
use hayro::hayro_syntax::{DecryptionError, LoadPdfError, Pdf};
use hayro::vello_cpu::color::palette::css::WHITE;
use hayro::{PixmapSettings, RenderCache, RenderSettings};
use image::RgbImage;

use super::encode::{fit, PAGE_BOX};
use super::DocError;

/// What an upload's PDF is, found before it is accepted.
#[derive(Debug, Clone)]
pub struct Probe {
    pub title: Option<String>,
    /// Each page's size in points, after crop box and rotation.
    pub sizes: Vec<(f32, f32)>,
}

/// Opens `data` the way the renderer will. A PDF with only an owner password (empty user
/// password) opens; one that needs a password to view does not.
pub fn open(data: Arc<Vec<u8>>) -> Result<Pdf, DocError> {
    Pdf::new(data).map_err(|e| match e {
        LoadPdfError::Decryption(DecryptionError::PasswordProtected) => DocError::Encrypted,
        LoadPdfError::Decryption(_) => DocError::UnsupportedEncryption,
        LoadPdfError::Invalid => DocError::CorruptPdf,
    })
}

pub fn probe(data: Arc<Vec<u8>>, max_pages: usize) -> Result<Probe, DocError> {
    let pdf = open(data)?;
    let pages = pdf.pages();
    if pages.is_empty() {
        return Err(DocError::NoPages);
    }
    if pages.len() > max_pages {
        return Err(DocError::TooManyPages {
            pages: pages.len(),
            limit: max_pages,
        });
    }
    let sizes = pages.iter().map(|p| p.render_dimensions()).collect();
    let title = pdf
        .metadata()
        .title
        .as_deref()
        .map(decode_text_string)
        .filter(|t| !t.trim().is_empty());
    Ok(Probe { title, sizes })
}

/// A renderer for one thread: hayro's `Pdf` and caches are not `Send`, so each worker opens
/// its own (cheap: parsing is lazy, the bytes are shared).
pub struct Renderer {
    pdf: Pdf,
    settings: InterpreterSettings,
}

impl Renderer {
    pub fn new(data: Arc<Vec<u8>>) -> Result<Self, DocError> {
        Ok(Self {
            pdf: open(data)?,
            settings: InterpreterSettings::default(),
        })
    }

    /// Renders page `index` (0-based) to fit [`PAGE_BOX`], on white.
    pub fn render(&self, index: usize) -> Result<RgbImage, String> {
        let page = self
            .pdf
            .pages()
            .get(index)
            .ok_or_else(|| format!("page {} does not exist", index + 1))?;
        let (w, h) = page.render_dimensions();
        if !(w.is_finite() && h.is_finite() && w > 0.0 && h > 0.0) {
            return Err(format!("page size {w}×{h} pt is not drawable"));
        }
        // Scale to the box whatever the page claims to measure, so an absurd MediaBox can
        // neither allocate gigabytes nor overflow hayro's u16 canvas.
        let (pw, ph) = fit(w, h, PAGE_BOX);
        let cache = RenderCache::new();
        let pixmap = hayro::render(
            page,
            &cache,
            &self.settings,
            &RenderSettings::default(),
            &PixmapSettings {
                x_scale: pw as f32 / w,
                y_scale: ph as f32 / h,
                bg_color: WHITE,
            },
        );
        // Drawn on opaque white, so dropping the (premultiplied) alpha is exact. The conversion
        // runs inside `image` (optimised even in debug builds of this crate).
        let (w, h) = (pixmap.width() as u32, pixmap.height() as u32);
        image::RgbaImage::from_raw(w, h, pixmap.data_as_u8_slice().to_vec())
            .map(|rgba| image::DynamicImage::ImageRgba8(rgba).into_rgb8())
            .ok_or_else(|| "renderer returned a short pixmap".to_string())
    }
}

/// Per-page text (index 0 = page 1), at most `MAX_TEXT` bytes each. Best effort: a page whose
/// text cannot be extracted gets an empty string, never an error.
pub fn texts(data: &[u8], pages: usize) -> Vec<String> {
    const MAX_TEXT: usize = 64 * 1024;
    let Ok(doc) = lopdf::Document::load_mem(data) else {
        return vec![String::new(); pages];
    };
    (1..=pages as u32)
        .map(|n| {
            let mut t = doc.extract_text(&[n]).unwrap_or_default();
            if t.len() > MAX_TEXT {
                let mut cut = MAX_TEXT;
                while !t.is_char_boundary(cut) {
                    cut -= 1;
                }
                t.truncate(cut);
            }
            t
        })
        .collect()
}

/// PDF text strings are UTF-16BE with a BOM, UTF-8 with a BOM (PDF 2.0) or PDFDocEncoding
/// (close enough to Latin-1 for titles).
fn decode_text_string(b: &[u8]) -> String {
    if let Some(rest) = b.strip_prefix(&[0xFE, 0xFF]) {
        let units: Vec<u16> = rest
            .chunks_exact(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .collect();
        return String::from_utf16_lossy(&units);
    }
    if let Some(rest) = b.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        return String::from_utf8_lossy(rest).into_owned();
    }
    b.iter().map(|&c| c as char).collect()
}

/// The image shown instead of a page that could not be rendered: a grey page with a red
/// frame and a sentence saying so, at the page's aspect ratio — never a blank page that looks
/// fine. Drawn by hayro from a PDF made here, so it needs no font files or drawing code.
pub fn placeholder(number: usize, w_pt: f32, h_pt: f32, reason: &str) -> RgbImage {
    let aspect = if w_pt.is_finite() && h_pt.is_finite() && w_pt > 0.0 && h_pt > 0.0 {
        (w_pt / h_pt).clamp(0.25, 4.0)
    } else {
        16.0 / 9.0
    };
    let (w, h) = (800.0f32, 800.0 / aspect);
    let size = (w / 28.0).min(h / 6.0);
    let reason: String = reason
        .chars()
        .filter(|c| c.is_ascii_graphic() || *c == ' ')
        .filter(|c| !matches!(c, '(' | ')' | '\\'))
        .take(80)
        .collect();
    let content = format!(
        "0.93 g 0 0 {w} {h} re f 0.8 0 0 RG 8 w 4 4 {} {} re S \
         BT /F1 {size} Tf 0.6 0 0 rg {x} {y1} Td (Page {number} could not be rendered) Tj ET \
         BT /F1 {s2} Tf 0.3 g {x} {y2} Td ({reason}) Tj ET",
        w - 8.0,
        h - 8.0,
        x = w * 0.06,
        y1 = h / 2.0 + size * 0.3,
        y2 = h / 2.0 - size * 1.2,
        s2 = size * 0.6,
    );
    let pdf = minimal_pdf(w, h, &content);
    Renderer::new(Arc::new(pdf))
        .and_then(|r| r.render(0).map_err(|_| DocError::CorruptPdf))
        .unwrap_or_else(|_| {
            // Cannot happen with the PDF above; still, a red page beats a panic.
            let (pw, ph) = fit(w, h, PAGE_BOX);
            RgbImage::from_pixel(pw, ph, image::Rgb([200, 40, 40]))
        })
}

/// A one-page PDF with Helvetica as /F1 and `content` as its content stream.
pub fn minimal_pdf(w: f32, h: f32, content: &str) -> Vec<u8> {
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {w} {h}] \
             /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>"
        ),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_string(),
        format!(
            "<< /Length {} >>\nstream\n{content}\nendstream",
            content.len() + 1
        ),
    ];
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, obj) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{obj}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for o in offsets {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::documents::encode::is_blank;

    #[test]
    fn renders_probes_and_extracts_text() {
        let pdf = minimal_pdf(400.0, 300.0, "BT /F1 24 Tf 20 150 Td (Hello Lectern) Tj ET");
        let probe = probe(Arc::new(pdf.clone()), 10).unwrap();
        assert_eq!(probe.sizes, vec![(400.0, 300.0)]);
        let img = Renderer::new(Arc::new(pdf.clone()))
            .unwrap()
            .render(0)
            .unwrap();
        assert_eq!(img.dimensions(), (1600, 1200));
        assert!(!is_blank(&img));
        assert!(texts(&pdf, 1)[0].contains("Hello Lectern"));
    }

    #[test]
    fn placeholder_is_visibly_not_a_page() {
        let img = placeholder(3, 595.0, 842.0, "renderer panicked");
        assert!(!is_blank(&img));
        assert!(img.height() > img.width());
        let odd = placeholder(1, f32::NAN, 0.0, "");
        assert!(!is_blank(&odd));
    }

    #[test]
    fn bad_inputs_have_defined_errors() {
        let corrupt = Arc::new(b"%PDF-1.4\nthis is not a pdf".to_vec());
        assert!(matches!(
            probe(corrupt, 10),
            Err(DocError::CorruptPdf | DocError::NoPages)
        ));
        let pdf = minimal_pdf(400.0, 300.0, "");
        assert!(matches!(
            probe(Arc::new(pdf), 0),
            Err(DocError::TooManyPages { pages: 1, limit: 0 })
        ));
    }
}
