//! Page images: size, encoding, thumbnails and the placeholder for a page that failed.
//!
//! The format was chosen by measurement: `lectern convert FILE --measure 3` renders the first
//! three pages once and encodes each with every codec. On this project's 2-core machine, pages
//! at 1236×1600 px (dependencies at opt-level 2; mean per page):
//!
//! | file                              | PNG level 6      | PNG fast         | JPEG q85          | WebP lossless     |
//! |-----------------------------------|------------------|------------------|-------------------|-------------------|
//! | libtasn1.pdf (text manual)        | 15.6 ms,  90 KB  | 41.1 ms, 159 KB  | 311 ms, 124 KB    | 598 ms,  45 KB    |
//! | shared-mime-info-spec.pdf (dense) | 26.6 ms, 263 KB  | 55.0 ms, 460 KB  | 335 ms, 248 KB    | 638 ms, 143 KB    |
//!
//! (rendering the same pages with hayro took 230–270 ms each). PNG at the default level is
//! both the fastest and, apart from lossless WebP at 20–40× the time, the smallest; JPEG is
//! slower *and* blurs text. So pages are PNG. Lossy WebP (libwebp, a C build) was not tried.

use std::io::Cursor;
use std::time::{Duration, Instant};

use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::codecs::webp::WebPEncoder;
use image::{ExtendedColorType, ImageEncoder, RgbImage};

/// Longest side of a page image in pixels: a full-HD screen's width, or a ~800 CSS px slide at
/// 2× on a HiDPI laptop or phone.
pub const PAGE_BOX: u32 = 1600;
/// Longest side of a thumbnail.
pub const THUMB_BOX: u32 = 240;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    /// PNG with fdeflate's fast mode (image's `CompressionType::Fast`).
    PngFast,
    /// PNG at zlib level 6 (what most tools, including hayro's `into_png`, produce).
    PngDefault,
    /// Baseline JPEG, quality 85.
    Jpeg85,
    /// Lossless WebP (the only WebP encoder in the `image` crate).
    WebpLossless,
}

#[derive(Debug, Clone, Copy)]
pub struct Format {
    pub codec: Codec,
    pub ext: &'static str,
    pub mime: &'static str,
}

/// What pages and thumbnails are served as.
pub const FORMAT: Format = Format {
    codec: Codec::PngDefault,
    ext: "png",
    mime: "image/png",
};

pub const ALL: [Codec; 4] = [
    Codec::PngDefault,
    Codec::PngFast,
    Codec::Jpeg85,
    Codec::WebpLossless,
];

pub fn encode(img: &RgbImage, codec: Codec) -> Vec<u8> {
    let mut out = Cursor::new(Vec::with_capacity(img.as_raw().len() / 8));
    let (w, h) = img.dimensions();
    let raw = img.as_raw();
    let result = match codec {
        Codec::PngFast => {
            PngEncoder::new_with_quality(&mut out, CompressionType::Fast, FilterType::Adaptive)
                .write_image(raw, w, h, ExtendedColorType::Rgb8)
        }
        Codec::PngDefault => {
            PngEncoder::new_with_quality(&mut out, CompressionType::Default, FilterType::Adaptive)
                .write_image(raw, w, h, ExtendedColorType::Rgb8)
        }
        Codec::Jpeg85 => JpegEncoder::new_with_quality(&mut out, 85).write_image(
            raw,
            w,
            h,
            ExtendedColorType::Rgb8,
        ),
        Codec::WebpLossless => {
            WebPEncoder::new_lossless(&mut out).write_image(raw, w, h, ExtendedColorType::Rgb8)
        }
    };
    // Encoding into memory fails only for sizes we never produce (0 or > 65535 px).
    result.expect("encoding an in-memory page image");
    out.into_inner()
}

/// Pixel size of an image that fits `w`×`h` (any unit) into a `box_px` square, never 0.
pub fn fit(w: f32, h: f32, box_px: u32) -> (u32, u32) {
    let (w, h) = (w.max(f32::MIN_POSITIVE), h.max(f32::MIN_POSITIVE));
    let scale = box_px as f32 / w.max(h);
    (
        ((w * scale).round() as u32).clamp(1, box_px),
        ((h * scale).round() as u32).clamp(1, box_px),
    )
}

pub fn thumbnail(img: &RgbImage) -> RgbImage {
    let (w, h) = fit(img.width() as f32, img.height() as f32, THUMB_BOX);
    image::imageops::thumbnail(img, w, h)
}

/// A page's encoded image and thumbnail.
pub struct Encoded {
    pub width: u32,
    pub height: u32,
    pub image: Vec<u8>,
    pub thumbnail: Vec<u8>,
}

pub fn encode_page(img: &RgbImage) -> Encoded {
    Encoded {
        width: img.width(),
        height: img.height(),
        image: encode(img, FORMAT.codec),
        thumbnail: encode(&thumbnail(img), FORMAT.codec),
    }
}

/// One row of the format measurement.
#[derive(Debug, Clone)]
pub struct Measured {
    pub codec: Codec,
    pub time: Duration,
    pub bytes: usize,
}

/// Encodes `img` with every codec, for choosing [`FORMAT`].
pub fn measure(img: &RgbImage) -> Vec<Measured> {
    ALL.iter()
        .map(|&codec| {
            let start = Instant::now();
            let bytes = encode(img, codec).len();
            Measured {
                codec,
                time: start.elapsed(),
                bytes,
            }
        })
        .collect()
}

/// True when every pixel has the same colour (a blank page).
pub fn is_blank(img: &RgbImage) -> bool {
    let mut px = img.pixels();
    match px.next() {
        Some(first) => px.all(|p| p == first),
        None => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_keeps_aspect_and_never_returns_zero() {
        assert_eq!(fit(800.0, 450.0, 1600), (1600, 900));
        assert_eq!(fit(595.0, 842.0, 1600), (1131, 1600));
        assert_eq!(fit(1e9, 1.0, 1600), (1600, 1));
        assert_eq!(fit(0.0, 0.0, 1600), (1600, 1600));
        assert_eq!(fit(f32::MAX, f32::MAX, 240), (240, 240));
    }

    #[test]
    fn every_codec_produces_its_format() {
        let img = RgbImage::from_fn(64, 48, |x, y| image::Rgb([x as u8 * 4, y as u8 * 5, 128]));
        for m in measure(&img) {
            assert!(m.bytes > 0, "{:?}", m.codec);
        }
        let png = encode(&img, Codec::PngFast);
        let back = image::load_from_memory(&png).unwrap().to_rgb8();
        assert_eq!(back, img, "PNG is lossless");
        assert!(!is_blank(&img));
        assert!(is_blank(&RgbImage::new(3, 3)));
        assert_eq!(thumbnail(&img).dimensions(), (240, 180));
    }
}
