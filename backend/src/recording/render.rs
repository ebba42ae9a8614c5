//! Ink as attendees see it (the rules of protocol/README.md, drawn as `web/js/ui/ink.js` draws
//! them), turned into geometry once — [`Mark`]s in page pixels — so the video frames (tiny-skia
//! here) and the PDF (vector operators in `pdf.rs`) show the same strokes, shapes and text.

use std::sync::OnceLock;

use ab_glyph::{Font as _, FontVec, OutlineCurve};
use lectern_protocol::{Fixed, Item, ShapeItem, ShapeKind, StrokeItem, TextItem, Tool, Viewport};
use tiny_skia::{FillRule, LineCap, LineJoin, PathBuilder, PixmapMut, Shader, Transform};

/// Highlighter ink is drawn at this opacity, under pens.
pub const HIGHLIGHTER_ALPHA: f32 = 0.4;
/// Text lines are this many font sizes apart (as in the browser).
const LINE_HEIGHT: f32 = 1.2;
/// The laser pointer's colour (static CSS `.laser`).
const LASER: [u8; 3] = [0xff, 0x17, 0x44];
/// Where the text font is looked for; Debian's `fonts-dejavu-core` puts it at the first.
const FONT_PATHS: [&str; 2] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
];

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pt {
    pub x: f32,
    pub y: f32,
}

/// One piece of a path, in pixels with y down.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Seg {
    Move(Pt),
    Line(Pt),
    Quad(Pt, Pt),
    Cubic(Pt, Pt, Pt),
    Close,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Paint {
    /// Round caps and joins, `width` pixels.
    Stroke { width: f32 },
    /// Non-zero winding (glyph outlines need it).
    Fill,
}

/// One thing to draw: a path, how, and in which colour.
#[derive(Debug, Clone, PartialEq)]
pub struct Mark {
    pub path: Vec<Seg>,
    pub rgb: [u8; 3],
    pub alpha: f32,
    pub paint: Paint,
}

/// Where a page lands: its box in pixels (`w`×`h`, top-left at `ox`,`oy`) and the viewport.
#[derive(Debug, Clone, Copy)]
pub struct View {
    pub ox: f32,
    pub oy: f32,
    pub w: f32,
    pub h: f32,
    pub vp: Viewport,
}

impl View {
    /// The whole page in a `w`×`h` box at the origin.
    pub fn whole(w: f32, h: f32) -> Self {
        View {
            ox: 0.0,
            oy: 0.0,
            w,
            h,
            vp: Viewport::WHOLE_PAGE,
        }
    }

    fn zoom(&self) -> f32 {
        f(self.vp.zoom).max(0.01)
    }

    /// A page point (0..1 each way) → pixels.
    pub fn pt(&self, x: Fixed, y: Fixed) -> Pt {
        Pt {
            x: self.ox + (f(x) - f(self.vp.x)) * self.zoom() * self.w,
            y: self.oy + (f(y) - f(self.vp.y)) * self.zoom() * self.h,
        }
    }

    /// A fraction of the page width → pixels.
    pub fn len(&self, fraction: Fixed) -> f32 {
        f(fraction) * self.zoom() * self.w
    }
}

fn f(v: Fixed) -> f32 {
    v.to_f64() as f32
}

/// `#rrggbb` → bytes (the protocol keeps colours normalised, so this cannot fail on state).
pub fn rgb(color: &impl std::fmt::Display) -> [u8; 3] {
    let hex = color.to_string();
    let byte = |i: usize| u8::from_str_radix(hex.get(i..i + 2).unwrap_or("00"), 16).unwrap_or(0);
    [byte(1), byte(3), byte(5)]
}

/// The visible items as marks: highlighters first (under pens), then the rest in order.
pub fn ink_marks(items: &[Item], view: &View) -> Vec<Mark> {
    let visible = || items.iter().filter(|i| i.visible());
    let highlighter = |i: &&Item| matches!(i, Item::Stroke(s) if s.tool == Tool::Highlighter);
    let mut marks = Vec::new();
    for item in visible().filter(highlighter) {
        item_marks(item, view, &mut marks);
    }
    for item in visible().filter(|i| !highlighter(i)) {
        item_marks(item, view, &mut marks);
    }
    marks
}

fn item_marks(item: &Item, view: &View, out: &mut Vec<Mark>) {
    match item {
        Item::Stroke(s) => stroke_marks(s, view, out),
        Item::Shape(s) => shape_marks(s, view, out),
        Item::Text(t) => text_marks(t, view, out),
    }
}

fn stroke_marks(s: &StrokeItem, view: &View, out: &mut Vec<Mark>) {
    let points: Vec<Pt> = s.points.0.iter().map(|p| view.pt(p.x, p.y)).collect();
    let Some(&first) = points.first() else {
        return;
    };
    let width = view.len(s.width).max(1.0);
    let alpha = match s.tool {
        Tool::Highlighter => HIGHLIGHTER_ALPHA,
        Tool::Pen => 1.0,
    };
    let rgb = rgb(&s.color);
    if points.len() == 1 {
        out.push(Mark {
            path: circle(first, width / 2.0),
            rgb,
            alpha,
            paint: Paint::Fill,
        });
        return;
    }
    // Quadratic smoothing through the midpoints, as the browser does.
    let mut path = vec![Seg::Move(first)];
    for pair in points[1..].windows(2) {
        let (a, b) = (pair[0], pair[1]);
        let mid = Pt {
            x: (a.x + b.x) / 2.0,
            y: (a.y + b.y) / 2.0,
        };
        path.push(Seg::Quad(a, mid));
    }
    path.push(Seg::Line(points[points.len() - 1]));
    out.push(Mark {
        path,
        rgb,
        alpha,
        paint: Paint::Stroke { width },
    });
}

fn shape_marks(s: &ShapeItem, view: &View, out: &mut Vec<Mark>) {
    let width = view.len(s.width).max(1.0);
    let rgb = rgb(&s.color);
    let (a, b) = (view.pt(s.x1, s.y1), view.pt(s.x2, s.y2));
    let path = match s.kind {
        ShapeKind::Rect => {
            let (l, t, r, btm) = (a.x.min(b.x), a.y.min(b.y), a.x.max(b.x), a.y.max(b.y));
            let p = |x, y| Pt { x, y };
            vec![
                Seg::Move(p(l, t)),
                Seg::Line(p(r, t)),
                Seg::Line(p(r, btm)),
                Seg::Line(p(l, btm)),
                Seg::Close,
            ]
        }
        ShapeKind::Ellipse => {
            let c = Pt {
                x: (a.x + b.x) / 2.0,
                y: (a.y + b.y) / 2.0,
            };
            ellipse(c, (b.x - a.x).abs() / 2.0, (b.y - a.y).abs() / 2.0)
        }
        ShapeKind::Line | ShapeKind::Arrow => vec![Seg::Move(a), Seg::Line(b)],
    };
    out.push(Mark {
        path,
        rgb,
        alpha: 1.0,
        paint: Paint::Stroke { width },
    });
    let len = (b.x - a.x).hypot(b.y - a.y);
    if s.kind == ShapeKind::Arrow && len >= 1.0 {
        let head = (len * 0.5).min((width * 4.0).max(10.0));
        let angle = (b.y - a.y).atan2(b.x - a.x);
        let wing = |da: f32| Pt {
            x: b.x - head * (angle + da).cos(),
            y: b.y - head * (angle + da).sin(),
        };
        let spread = std::f32::consts::PI / 7.0;
        out.push(Mark {
            path: vec![
                Seg::Move(b),
                Seg::Line(wing(-spread)),
                Seg::Line(wing(spread)),
                Seg::Close,
            ],
            rgb,
            alpha: 1.0,
            paint: Paint::Fill,
        });
    }
}

/// A full ellipse as four cubic arcs.
fn ellipse(c: Pt, rx: f32, ry: f32) -> Vec<Seg> {
    const K: f32 = 0.552_284_8;
    let p = |x: f32, y: f32| Pt {
        x: c.x + x,
        y: c.y + y,
    };
    let (kx, ky) = (rx * K, ry * K);
    vec![
        Seg::Move(p(rx, 0.0)),
        Seg::Cubic(p(rx, ky), p(kx, ry), p(0.0, ry)),
        Seg::Cubic(p(-kx, ry), p(-rx, ky), p(-rx, 0.0)),
        Seg::Cubic(p(-rx, -ky), p(-kx, -ry), p(0.0, -ry)),
        Seg::Cubic(p(kx, -ry), p(rx, -ky), p(rx, 0.0)),
        Seg::Close,
    ]
}

pub fn circle(c: Pt, r: f32) -> Vec<Seg> {
    ellipse(c, r, r)
}

/// The laser pointer: a dot with a soft halo, sized to the frame rather than the page so it
/// reads the same at any zoom.
pub fn pointer_marks(at: Pt, frame_width: f32) -> Vec<Mark> {
    let r = (frame_width * 0.006).max(4.0);
    let mark = |r, alpha| Mark {
        path: circle(at, r),
        rgb: LASER,
        alpha,
        paint: Paint::Fill,
    };
    vec![mark(r * 2.0, 0.25), mark(r * 1.4, 0.4), mark(r, 1.0)]
}

/// The text font (DejaVu Sans from the system), loaded once; `None` when it is not installed,
/// in which case text items are left out of exports rather than failing them.
pub fn font() -> Option<&'static FontVec> {
    static FONT: OnceLock<Option<FontVec>> = OnceLock::new();
    FONT.get_or_init(|| {
        FONT_PATHS.iter().find_map(|path| {
            let bytes = std::fs::read(path).ok()?;
            FontVec::try_from_vec(bytes).ok()
        })
    })
    .as_ref()
}

fn text_marks(t: &TextItem, view: &View, out: &mut Vec<Mark>) {
    let Some(font) = font() else {
        tracing::debug!(
            id = t.id.as_str(),
            "no font installed; text left out of the export"
        );
        return;
    };
    let size = view.len(t.size).max(1.0);
    let scale = size / font.units_per_em().unwrap_or(1000.0);
    let origin = view.pt(t.x, t.y);
    let mut path = Vec::new();
    for (line_no, line) in t.text.split('\n').enumerate() {
        // The browser's `textBaseline = 'top'` puts the em box's top at y: the baseline sits
        // one ascent below it.
        let baseline =
            origin.y + line_no as f32 * size * LINE_HEIGHT + font.ascent_unscaled() * scale;
        let mut x = origin.x;
        for ch in line.chars() {
            let id = font.glyph_id(ch);
            if let Some(outline) = font.outline(id) {
                glyph_path(&outline.curves, x, baseline, scale, &mut path);
            }
            x += font.h_advance_unscaled(id) * scale;
        }
    }
    if !path.is_empty() {
        out.push(Mark {
            path,
            rgb: rgb(&t.color),
            alpha: 1.0,
            paint: Paint::Fill,
        });
    }
}

/// Glyph outline curves (font units, y up) → path segments, starting a contour wherever a
/// curve does not continue the last one.
fn glyph_path(curves: &[OutlineCurve], x: f32, baseline: f32, scale: f32, path: &mut Vec<Seg>) {
    let p = |q: ab_glyph::Point| Pt {
        x: x + q.x * scale,
        y: baseline - q.y * scale,
    };
    let mut last: Option<Pt> = None;
    for curve in curves {
        let (start, seg) = match *curve {
            OutlineCurve::Line(a, b) => (p(a), Seg::Line(p(b))),
            OutlineCurve::Quad(a, c, b) => (p(a), Seg::Quad(p(c), p(b))),
            OutlineCurve::Cubic(a, c1, c2, b) => (p(a), Seg::Cubic(p(c1), p(c2), p(b))),
        };
        if last != Some(start) {
            if last.is_some() {
                path.push(Seg::Close);
            }
            path.push(Seg::Move(start));
        }
        last = Some(match seg {
            Seg::Line(e) | Seg::Quad(_, e) | Seg::Cubic(_, _, e) => e,
            _ => start,
        });
        path.push(seg);
    }
    if last.is_some() {
        path.push(Seg::Close);
    }
}

/// Draws marks onto a pixmap (page pixels = pixmap pixels).
pub fn draw(pixmap: &mut PixmapMut<'_>, marks: &[Mark]) {
    for mark in marks {
        let Some(path) = skia_path(&mark.path) else {
            continue;
        };
        let [r, g, b] = mark.rgb;
        let mut paint = tiny_skia::Paint {
            shader: Shader::SolidColor(tiny_skia::Color::from_rgba8(r, g, b, 255)),
            anti_alias: true,
            ..Default::default()
        };
        paint.shader.apply_opacity(mark.alpha);
        match mark.paint {
            Paint::Fill => pixmap.fill_path(
                &path,
                &paint,
                FillRule::Winding,
                Transform::identity(),
                None,
            ),
            Paint::Stroke { width } => {
                let stroke = tiny_skia::Stroke {
                    width,
                    line_cap: LineCap::Round,
                    line_join: LineJoin::Round,
                    ..Default::default()
                };
                pixmap.stroke_path(&path, &paint, &stroke, Transform::identity(), None);
            }
        }
    }
}

fn skia_path(segs: &[Seg]) -> Option<tiny_skia::Path> {
    let mut pb = PathBuilder::new();
    for seg in segs {
        match *seg {
            Seg::Move(p) => pb.move_to(p.x, p.y),
            Seg::Line(p) => pb.line_to(p.x, p.y),
            Seg::Quad(c, p) => pb.quad_to(c.x, c.y, p.x, p.y),
            Seg::Cubic(c1, c2, p) => pb.cubic_to(c1.x, c1.y, c2.x, c2.y, p.x, p.y),
            Seg::Close => pb.close(),
        }
    }
    pb.finish()
}
