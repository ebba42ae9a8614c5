//! `chapters.vtt`: a WebVTT chapter per page shown, so any player lists the slides.

use std::fmt::Write as _;

use super::timeline::Chapter;

/// WebVTT with one cue per chapter, each lasting until the next (the last until `end_ms`).
pub fn webvtt(chapters: &[Chapter], end_ms: u64) -> String {
    let mut out = String::from("WEBVTT\n");
    for (i, chapter) in chapters.iter().enumerate() {
        let until = chapters.get(i + 1).map_or(end_ms, |next| next.t);
        let until = until.max(chapter.t + 1);
        // A cue's text must not contain an empty line or "-->".
        let title = chapter.title.replace("-->", "→").replace('\n', " ");
        let _ = write!(
            out,
            "\n{}\n{} --> {}\n{}\n",
            i + 1,
            stamp(chapter.t),
            stamp(until),
            title
        );
    }
    out
}

fn stamp(ms: u64) -> String {
    let (h, rest) = (ms / 3_600_000, ms % 3_600_000);
    format!(
        "{h:02}:{:02}:{:02}.{:03}",
        rest / 60_000,
        rest / 1000 % 60,
        ms % 1000
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chapter(t: u64, page: u32, title: &str) -> Chapter {
        Chapter {
            t,
            document: "d".into(),
            page,
            title: title.into(),
        }
    }

    #[test]
    fn one_cue_per_page_until_the_next() {
        let vtt = webvtt(
            &[
                chapter(100, 1, "Talk — page 1"),
                chapter(3_723_456, 2, "a --> b"),
            ],
            3_800_000,
        );
        assert_eq!(
            vtt,
            "WEBVTT\n\n1\n00:00:00.100 --> 01:02:03.456\nTalk — page 1\n\n2\n01:02:03.456 --> 01:03:20.000\na → b\n"
        );
    }
}
