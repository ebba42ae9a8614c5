//! The picture attendees saw, over time: the timeline's events replayed through the same
//! reducer attendees run ([`MeetingState`]), reduced to a [`Scene`] (page, viewport, pointer,
//! visible ink) that changes only when the picture does, and composed into video frames.

use std::collections::HashMap;

use lectern_protocol::{Event, Fixed, Item, MeetingState, Viewport};
use tiny_skia::{FilterQuality, Pixmap, PixmapPaint, Transform};

use super::render::{self, Pt, View};
use super::timeline::Timeline;

/// What one frame shows.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Scene {
    /// The shared document and page, with the page image's size in pixels.
    pub page: Option<(String, u32, (u32, u32))>,
    pub viewport: Option<Viewport>,
    pub pointer: Option<(Fixed, Fixed)>,
    /// Visible ink of the page, in creation order.
    pub items: Vec<Item>,
}

impl Scene {
    fn of(state: &MeetingState) -> Scene {
        let Some(doc) = state.document.as_ref() else {
            return Scene::default();
        };
        let n = state.page;
        let size = doc
            .page_info
            .iter()
            .find(|p| p.number == n)
            .map_or((0, 0), |p| (p.w, p.h));
        let items = state
            .page_ink(&doc.id, n)
            .map(|ink| {
                ink.items
                    .iter()
                    .filter(|i| i.visible())
                    .map(as_drawn)
                    .collect()
            })
            .unwrap_or_default();
        Scene {
            page: Some((doc.id.clone(), n, size)),
            viewport: Some(state.viewport),
            pointer: state.pointer.filter(|p| p.page == n).map(|p| (p.x, p.y)),
            items,
        }
    }
}

/// An item as far as the picture goes: whether a stroke is finished does not show.
fn as_drawn(item: &Item) -> Item {
    let mut item = item.clone();
    if let Item::Stroke(s) = &mut item {
        s.done = true;
    }
    item
}

/// Replays the events: the scene at recording time 0 (the timeline's start), then one
/// `(t, scene)` per change, at most one per `slot_ms` (a change is shown from the start of its
/// slot; later changes in the same slot replace it), so a stroke drawn at 60 points a second
/// costs a frame per slot, not per point.
pub fn scenes(timeline: &Timeline, slot_ms: u64) -> Vec<(u64, Scene)> {
    let slot_ms = slot_ms.max(1);
    let mut state = timeline.start.clone();
    let mut out: Vec<(u64, Scene)> = vec![(0, Scene::of(&state))];
    for entry in &timeline.events {
        // The timeline keeps only events every receiver applied, in order: their payloads
        // take effect here exactly as they did for attendees.
        let Some(event) = entry
            .xml
            .parse::<minidom::Element>()
            .ok()
            .and_then(|el| Event::from_element(&el).ok())
        else {
            continue;
        };
        if state.apply_payload(&event.payload).is_err() {
            continue;
        }
        let scene = Scene::of(&state);
        let t = entry.t / slot_ms * slot_ms;
        let last = out.len() - 1;
        if out[last].1 == scene {
            continue;
        }
        if out[last].0 == t && last > 0 {
            out[last].1 = scene;
            // The replacement may bring the picture back to the one before it.
            if out[last].1 == out[last - 1].1 {
                out.pop();
            }
        } else {
            out.push((t.max(out[last].0), scene));
        }
    }
    out
}

/// Composes scenes into `width`×`height` frames: the page fitted (letterboxed) in the frame,
/// the viewport applied, the ink and pointer on top.
pub struct Composer<F> {
    width: u32,
    height: u32,
    /// Decoded page images, and the same scaled to their box (whole-page views, the usual case).
    pages: HashMap<(String, u32), Option<(Pixmap, Pixmap)>>,
    load: F,
}

const BACKGROUND: [u8; 3] = [0x1b, 0x1b, 0x1f];

impl<F: FnMut(&str, u32) -> Option<Vec<u8>>> Composer<F> {
    /// `load` returns a page's image file (PNG, JPEG or WebP), `None` when it is gone.
    pub fn new(width: u32, height: u32, load: F) -> Self {
        Composer {
            width,
            height,
            pages: HashMap::new(),
            load,
        }
    }

    pub fn compose(&mut self, scene: &Scene) -> Pixmap {
        let mut frame = Pixmap::new(self.width, self.height).expect("non-zero frame size");
        let [r, g, b] = BACKGROUND;
        frame.fill(tiny_skia::Color::from_rgba8(r, g, b, 255));
        let Some((doc, n, size)) = &scene.page else {
            return frame;
        };
        let key = (doc.clone(), *n);
        if !self.pages.contains_key(&key) {
            let decoded = (self.load)(doc, *n).and_then(|bytes| decode(&bytes));
            let fitted = decoded.map(|page| {
                let (w, h) = fit(page.width(), page.height(), self.width, self.height);
                let boxed = scaled(&page, w, h, 1.0, (0.0, 0.0));
                (page, boxed)
            });
            self.pages.insert(key.clone(), fitted);
        }
        let vp = scene.viewport.unwrap_or(Viewport::WHOLE_PAGE);
        let page = self.pages.get(&key).and_then(Option::as_ref);
        let (iw, ih) = page.map_or(*size, |(p, _)| (p.width(), p.height()));
        let (bw, bh) = fit(iw.max(1), ih.max(1), self.width, self.height);
        let mut boxed = match page {
            Some((_, whole)) if vp == Viewport::WHOLE_PAGE => whole.clone(),
            Some((original, _)) => {
                let zoom = vp.zoom.to_f64() as f32;
                let pan = (vp.x.to_f64() as f32, vp.y.to_f64() as f32);
                scaled(original, bw, bh, zoom, pan)
            }
            None => {
                let mut blank = Pixmap::new(bw, bh).expect("non-zero box");
                blank.fill(tiny_skia::Color::WHITE);
                blank
            }
        };
        let view = View {
            vp,
            ..View::whole(bw as f32, bh as f32)
        };
        let mut marks = render::ink_marks(&scene.items, &view);
        if let Some((x, y)) = scene.pointer {
            marks.extend(render::pointer_marks(view.pt(x, y), self.width as f32));
        }
        render::draw(&mut boxed.as_mut(), &marks);
        let (ox, oy) = ((self.width - bw) / 2, (self.height - bh) / 2);
        frame.draw_pixmap(
            ox as i32,
            oy as i32,
            boxed.as_ref(),
            &PixmapPaint::default(),
            Transform::identity(),
            None,
        );
        frame
    }
}

/// The largest `w`×`h` with the page's aspect that fits the frame (at least 1×1).
fn fit(iw: u32, ih: u32, fw: u32, fh: u32) -> (u32, u32) {
    let s = (fw as f32 / iw as f32).min(fh as f32 / ih as f32);
    let w = ((iw as f32 * s).round() as u32).clamp(1, fw);
    let h = ((ih as f32 * s).round() as u32).clamp(1, fh);
    (w, h)
}

/// The page drawn into a `w`×`h` box at `zoom`, with page point `pan` at the box's top-left.
fn scaled(page: &Pixmap, w: u32, h: u32, zoom: f32, pan: (f32, f32)) -> Pixmap {
    let mut out = Pixmap::new(w, h).expect("non-zero box");
    out.fill(tiny_skia::Color::WHITE);
    let sx = w as f32 * zoom / page.width() as f32;
    let sy = h as f32 * zoom / page.height() as f32;
    let tx = -pan.0 * zoom * w as f32;
    let ty = -pan.1 * zoom * h as f32;
    let paint = PixmapPaint {
        quality: FilterQuality::Bicubic,
        ..Default::default()
    };
    out.draw_pixmap(
        0,
        0,
        page.as_ref(),
        &paint,
        Transform::from_row(sx, 0.0, 0.0, sy, tx, ty),
        None,
    );
    out
}

/// A page image → an opaque pixmap (transparent parts on white, as the browser's stage shows).
pub fn decode(bytes: &[u8]) -> Option<Pixmap> {
    let img = image::load_from_memory(bytes).ok()?.to_rgba8();
    let (w, h) = img.dimensions();
    let mut data = img.into_raw();
    for px in data.chunks_exact_mut(4) {
        let a = u32::from(px[3]);
        for c in &mut px[..3] {
            *c = ((u32::from(*c) * a + 255 * (255 - a) + 127) / 255) as u8;
        }
        px[3] = 255;
    }
    Pixmap::from_vec(data, tiny_skia::IntSize::from_wh(w, h)?)
}

/// An opaque frame → planar YUV 4:2:0, BT.709 limited range (what the MP4 is tagged with).
pub fn yuv420(frame: &Pixmap) -> Vec<u8> {
    let (w, h) = (frame.width() as usize, frame.height() as usize);
    let px = frame.data();
    let rgb = |x: usize, y: usize| {
        let i = (y * w + x) * 4;
        [px[i] as i32, px[i + 1] as i32, px[i + 2] as i32]
    };
    let mut out = vec![0u8; w * h + 2 * (w / 2) * (h / 2)];
    let (luma, chroma) = out.split_at_mut(w * h);
    let (u_plane, v_plane) = chroma.split_at_mut((w / 2) * (h / 2));
    // Fixed-point BT.709 coefficients (×1024), studio swing.
    for y in 0..h {
        for x in 0..w {
            let [r, g, b] = rgb(x, y);
            luma[y * w + x] = (16 + (((218 * r + 732 * g + 74 * b) * 219 / 255 + 512) >> 10)) as u8;
        }
    }
    for y in 0..h / 2 {
        for x in 0..w / 2 {
            let mut sum = [0i32; 3];
            for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                let c = rgb(2 * x + dx, 2 * y + dy);
                sum.iter_mut().zip(c).for_each(|(s, v)| *s += v);
            }
            let [r, g, b] = sum.map(|s| s / 4);
            let u = 128 + (((-117 * r - 395 * g + 512 * b) * 224 / 255 + 512) >> 10);
            let v = 128 + (((512 * r - 465 * g - 47 * b) * 224 / 255 + 512) >> 10);
            u_plane[y * (w / 2) + x] = u.clamp(16, 240) as u8;
            v_plane[y * (w / 2) + x] = v.clamp(16, 240) as u8;
        }
    }
    out
}

/// A page point → frame pixels, for tests that look at a frame.
pub fn frame_point(width: u32, height: u32, page: (u32, u32), x: f32, y: f32) -> Pt {
    let (bw, bh) = fit(page.0.max(1), page.1.max(1), width, height);
    Pt {
        x: (width - bw) as f32 / 2.0 + x * bw as f32,
        y: (height - bh) as f32 / 2.0 + y * bh as f32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1";

    fn timeline(bodies: &[(u64, &str)]) -> Timeline {
        Timeline::from_records(&super::super::timeline::archived(bodies.iter().copied())).unwrap()
    }

    fn share() -> String {
        let pages: String = (1..=2)
            .map(|n| format!("<p n='{n}' hash='{}' w='160' h='90'/>", "0".repeat(64)))
            .collect();
        format!("<document id='{DOC}' pages='2' base='/x/'>{pages}</document>")
    }

    #[test]
    fn a_frame_per_change_of_picture_at_most_one_per_slot() {
        let doc = share();
        let tl = timeline(&[
            (100, &doc),
            (1000, "<page n='2'/>"),
            (1010, "<stroke-begin id='a' page='2' tool='pen' color='#ff0000' width='0.01'>0.1,0.1</stroke-begin>"),
            (1050, "<stroke-extend id='a'>0.2,0.2</stroke-extend>"),
            (1150, "<stroke-end id='a'/>"),
            (1300, "<stroke-begin id='b' page='1' tool='pen' color='#ff0000' width='0.01'>0.1,0.1</stroke-begin>"),
            (2000, "<page n='1'/>"),
        ]);
        let scenes = scenes(&tl, 100);
        let times: Vec<u64> = scenes.iter().map(|(t, _)| *t).collect();
        // The stroke's begin and extend share the 1000 ms slot with the turn; its end changes
        // nothing visible; ink on another page is no change of picture.
        assert_eq!(times, [0, 100, 1000, 2000]);
        assert_eq!(scenes[2].1.items.len(), 1);
        assert_eq!(scenes[3].1.items.len(), 1, "page 1 shows its own stroke");
        assert!(tl.end.page_ink(DOC, 2).is_some());
    }

    #[test]
    fn the_frame_shows_the_page_with_its_ink_and_pointer() {
        let doc = share();
        let tl = timeline(&[
            (0, &doc),
            (10, "<stroke-begin id='a' page='1' tool='pen' color='#ffd600' width='0.05'>0.1,0.5 0.9,0.5</stroke-begin>"),
            (20, "<pointer page='1' x='0.5' y='0.2'/>"),
        ]);
        let scenes = scenes(&tl, 1);
        let mut png = Vec::new();
        image::RgbImage::from_pixel(160, 90, image::Rgb([0, 0, 200]))
            .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        let mut composer = Composer::new(320, 240, |_: &str, _| Some(png.clone()));
        let frame = composer.compose(&scenes.last().unwrap().1);
        let at = |x: f32, y: f32| {
            let p = frame_point(320, 240, (160, 90), x, y);
            let c = frame.pixel(p.x as u32, p.y as u32).unwrap();
            [c.red(), c.green(), c.blue()]
        };
        assert_eq!(at(0.5, 0.8), [0, 0, 200], "the page");
        assert_eq!(at(0.5, 0.5), [0xff, 0xd6, 0x00], "the stroke");
        assert_eq!(at(0.5, 0.2), [0xff, 0x17, 0x44], "the pointer");
        let top = frame.pixel(160, 5).unwrap();
        assert_eq!(
            [top.red(), top.green(), top.blue()],
            BACKGROUND,
            "letterbox"
        );
    }

    #[test]
    fn yuv_is_bt709_studio_swing() {
        let mut white = Pixmap::new(4, 4).unwrap();
        white.fill(tiny_skia::Color::WHITE);
        let yuv = yuv420(&white);
        assert_eq!(yuv.len(), 16 + 4 + 4);
        assert!(yuv[..16].iter().all(|&y| y == 235));
        assert!(yuv[16..].iter().all(|&c| c == 128));
        let mut red = Pixmap::new(2, 2).unwrap();
        red.fill(tiny_skia::Color::from_rgba8(255, 0, 0, 255));
        // BT.709: Y' 63, Cb 102, Cr 240 for full red.
        assert_eq!(yuv420(&red), [63, 63, 63, 63, 102, 240]);
    }
}
