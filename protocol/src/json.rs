//! The canonical state form: compact JSON, keys in the spec's order, written by hand so that
//! every byte is decided here (and mirrored by `web/js/protocol/state.js`) rather than by a
//! serialiser's defaults. Decimals print through [`Fixed`]'s `Display`, integers plainly.

use std::fmt::Write;

use crate::fixed::{Fixed, Points};
use crate::items::{Action, Item};
use crate::page_ink::PageInk;
use crate::state::MeetingState;

/// Writes a JSON string exactly as JavaScript's `JSON.stringify` does.
fn string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn fixed(out: &mut String, key: &str, value: Fixed) {
    let _ = write!(out, "\"{key}\":{value},");
}

fn points(out: &mut String, points: &Points) {
    out.push_str("\"points\":[");
    for (i, p) in points.0.iter().enumerate() {
        let sep = if i == 0 { "" } else { "," };
        let _ = write!(out, "{sep}[{},{}]", p.x, p.y);
    }
    out.push_str("],");
}

fn item(out: &mut String, item: &Item) {
    out.push_str("{\"id\":");
    string(out, item.id());
    match item {
        Item::Stroke(s) => {
            let _ = write!(
                out,
                ",\"type\":\"stroke\",\"tool\":\"{}\",\"color\":\"{}\",",
                s.tool, s.color
            );
            fixed(out, "width", s.width);
            points(out, &s.points);
            let _ = write!(out, "\"done\":{},", s.done);
        }
        Item::Shape(s) => {
            let _ = write!(
                out,
                ",\"type\":\"shape\",\"kind\":\"{}\",\"color\":\"{}\",",
                s.kind, s.color
            );
            fixed(out, "width", s.width);
            for (key, v) in [("x1", s.x1), ("y1", s.y1), ("x2", s.x2), ("y2", s.y2)] {
                fixed(out, key, v);
            }
        }
        Item::Text(t) => {
            let _ = write!(out, ",\"type\":\"text\",\"color\":\"{}\",", t.color);
            fixed(out, "size", t.size);
            fixed(out, "x", t.x);
            fixed(out, "y", t.y);
            out.push_str("\"text\":");
            string(out, &t.text);
            out.push(',');
        }
    }
    let _ = write!(out, "\"visible\":{}}}", item.visible());
}

fn stack(out: &mut String, actions: &[Action]) {
    out.push('[');
    for (i, action) in actions.iter().enumerate() {
        let key = match action {
            Action::Add { .. } => "add",
            Action::Remove { .. } => "remove",
        };
        let _ = write!(out, "{}{{\"{key}\":[", if i == 0 { "" } else { "," });
        for (j, id) in action.ids().iter().enumerate() {
            if j > 0 {
                out.push(',');
            }
            string(out, id);
        }
        out.push_str("]}");
    }
    out.push(']');
}

fn page(out: &mut String, ink: &PageInk) {
    out.push_str("{\"items\":[");
    for (i, it) in ink.items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        item(out, it);
    }
    out.push_str("],\"undo\":");
    stack(out, &ink.undo);
    out.push_str(",\"redo\":");
    stack(out, &ink.redo);
    out.push('}');
}

impl MeetingState {
    /// The canonical state form (spec: "State form"), byte-identical to the JavaScript
    /// client's for the same events.
    pub fn state_json(&self) -> String {
        let mut out = String::with_capacity(256);
        let _ = write!(out, "{{\"seq\":{},\"presenter\":", self.seq);
        match &self.presenter {
            Some(nick) => string(&mut out, nick),
            None => out.push_str("null"),
        }
        out.push_str(",\"document\":");
        match &self.document {
            None => out.push_str("null"),
            Some(d) => {
                out.push_str("{\"id\":");
                string(&mut out, &d.id);
                let _ = write!(out, ",\"pages\":{},\"base\":", d.pages);
                string(&mut out, &d.base);
                out.push_str(",\"title\":");
                match &d.title {
                    Some(title) => string(&mut out, title),
                    None => out.push_str("null"),
                }
                out.push_str(",\"hashes\":[");
                for (i, p) in d.page_info.iter().enumerate() {
                    let _ = write!(out, "{}\"{}\"", if i == 0 { "" } else { "," }, p.hash);
                }
                out.push_str("],\"sizes\":[");
                for (i, p) in d.page_info.iter().enumerate() {
                    let _ = write!(out, "{}[{},{}]", if i == 0 { "" } else { "," }, p.w, p.h);
                }
                out.push_str("]}");
            }
        }
        let v = &self.viewport;
        let _ = write!(
            out,
            ",\"page\":{},\"viewport\":{{\"x\":{},\"y\":{},\"zoom\":{}}},\"pointer\":",
            self.page, v.x, v.y, v.zoom
        );
        match &self.pointer {
            None => out.push_str("null"),
            Some(p) => {
                let _ = write!(out, "{{\"page\":{},\"x\":{},\"y\":{}}}", p.page, p.x, p.y);
            }
        }
        let _ = write!(out, ",\"recording_paused\":{}", self.recording_paused);
        out.push_str(",\"ink\":{");
        for (i, (doc, pages)) in self.ink.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            string(&mut out, doc);
            out.push_str(":{");
            for (j, (n, ink)) in pages.iter().enumerate() {
                let _ = write!(out, "{}\"{n}\":", if j == 0 { "" } else { "," });
                page(&mut out, ink);
            }
            out.push('}');
        }
        out.push_str("}}");
        out
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn strings_escape_like_json_stringify() {
        let mut out = String::new();
        super::string(&mut out, "a\"b\\c\n\t\u{1}\u{7f}é\u{2028}");
        assert_eq!(out, "\"a\\\"b\\\\c\\n\\t\\u0001\u{7f}é\u{2028}\"");
    }
}
