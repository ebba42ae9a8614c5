//! What a room remembers: history for joiners (XEP-0045 §7.2.14) and the MAM archive
//! (XEP-0313) that reconnecting clients page through. Kept in memory, bounded.

use std::collections::VecDeque;
use std::time::{Duration, SystemTime};

use minidom::Element;

use super::types::{NS_DELAY, NS_FORWARD, NS_MAM, NS_MUC};
use crate::xmpp::xml::{attr, element, set_attr};

/// Messages kept per room for MAM; the oldest are dropped first.
pub const ARCHIVE_CAPACITY: usize = 10_000;

pub struct Archived {
    pub id: String,
    pub stamp: SystemTime,
    /// The groupchat message as broadcast, without `to`.
    pub stanza: Element,
    pub chars: usize,
}

#[derive(Default)]
pub struct Archive {
    items: VecDeque<Archived>,
}

/// Limits a joiner asked for in `<history/>`.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct HistoryRequest {
    pub max_stanzas: Option<usize>,
    pub max_chars: Option<usize>,
    pub seconds: Option<u64>,
    pub since: Option<SystemTime>,
}

impl HistoryRequest {
    /// Reads `<x xmlns='…muc'><history …/></x>` from a join presence.
    pub fn from_join(presence: &Element) -> Self {
        let Some(h) = presence
            .get_child("x", NS_MUC)
            .and_then(|x| x.get_child("history", NS_MUC))
        else {
            return Self::default();
        };
        let num = |name: &str| attr(h, name).and_then(|v| v.trim().parse().ok());
        Self {
            max_stanzas: num("maxstanzas"),
            max_chars: num("maxchars"),
            seconds: num("seconds").map(|s: usize| s as u64),
            since: attr(h, "since").and_then(|s| humantime::parse_rfc3339_weak(s).ok()),
        }
    }
}

/// A MAM query after its form and RSM set are read.
#[derive(Debug, Default)]
pub struct MamQuery {
    pub start: Option<SystemTime>,
    pub end: Option<SystemTime>,
    pub after: Option<String>,
    pub before: Option<String>,
    pub max: Option<usize>,
}

pub fn stamp(t: SystemTime) -> String {
    humantime::format_rfc3339_millis(t).to_string()
}

impl Archive {
    pub fn push(&mut self, item: Archived) {
        if self.items.len() == ARCHIVE_CAPACITY {
            self.items.pop_front();
        }
        self.items.push_back(item);
    }

    /// History for a joiner, oldest first, within the room's and the joiner's limits.
    pub fn history(
        &self,
        room_limit: usize,
        req: &HistoryRequest,
        now: SystemTime,
    ) -> Vec<&Archived> {
        let limit = req.max_stanzas.unwrap_or(room_limit).min(room_limit);
        let since = match (req.since, req.seconds) {
            (Some(a), Some(s)) => Some(a.max(now - Duration::from_secs(s))),
            (a, s) => a.or(s.map(|s| now - Duration::from_secs(s))),
        };
        let mut chars = 0;
        let mut out: Vec<&Archived> = Vec::new();
        for item in self.items.iter().rev() {
            if out.len() >= limit || since.is_some_and(|t| item.stamp < t) {
                break;
            }
            chars += item.chars;
            if req.max_chars.is_some_and(|m| chars > m) {
                break;
            }
            out.push(item);
        }
        out.reverse();
        out
    }

    /// Runs a MAM query: matching items (oldest first) and whether the result is complete.
    pub fn query(&self, q: &MamQuery) -> Result<(Vec<&Archived>, bool), &'static str> {
        let position = |id: &String| self.items.iter().position(|i| &i.id == id);
        let lo = match &q.after {
            Some(id) => position(id).ok_or("item-not-found")? + 1,
            None => 0,
        };
        let hi = match &q.before {
            Some(id) if !id.is_empty() => position(id).ok_or("item-not-found")?,
            _ => self.items.len(),
        };
        let matching: Vec<&Archived> = self
            .items
            .range(lo..hi.max(lo))
            .filter(|i| q.start.is_none_or(|s| i.stamp >= s) && q.end.is_none_or(|e| i.stamp <= e))
            .collect();
        let max = q.max.unwrap_or(50).min(250);
        // `<before/>` asks for the last page; otherwise pages run forward.
        let page: Vec<&Archived> = if q.before.is_some() {
            matching[matching.len().saturating_sub(max)..].to_vec()
        } else {
            matching.iter().take(max).copied().collect()
        };
        let complete = page.len() == matching.len();
        Ok((page, complete))
    }
}

/// The `<delay/>` a history message carries.
pub fn delayed(item: &Archived, room: &str) -> Element {
    let mut m = item.stanza.clone();
    let when = stamp(item.stamp);
    m.append_child(element(
        "delay",
        NS_DELAY,
        &[("from", room), ("stamp", &when)],
    ));
    m
}

/// One MAM result message wrapping an archived stanza.
pub fn mam_result(item: &Archived, query_id: Option<&str>, from: &str, to: &str) -> Element {
    let mut result = element("result", NS_MAM, &[("id", &item.id)]);
    if let Some(q) = query_id {
        set_attr(&mut result, "queryid", q);
    }
    let mut forwarded = Element::bare("forwarded", NS_FORWARD);
    let when = stamp(item.stamp);
    forwarded.append_child(element("delay", NS_DELAY, &[("stamp", &when)]));
    forwarded.append_child(item.stanza.clone());
    result.append_child(forwarded);
    let mut m = element("message", "jabber:client", &[("from", from), ("to", to)]);
    m.append_child(result);
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    fn archive(n: usize, t0: SystemTime) -> Archive {
        let mut a = Archive::default();
        for i in 0..n {
            a.push(Archived {
                id: format!("id{i}"),
                stamp: t0 + Duration::from_secs(i as u64),
                stanza: Element::bare("message", "jabber:client"),
                chars: 100,
            });
        }
        a
    }

    #[test]
    fn history_honours_every_limit() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let a = archive(10, t0);
        let now = t0 + Duration::from_secs(10);
        let ids = |v: Vec<&Archived>| v.iter().map(|i| i.id.clone()).collect::<Vec<_>>();
        assert_eq!(a.history(20, &HistoryRequest::default(), now).len(), 10);
        assert_eq!(a.history(3, &HistoryRequest::default(), now).len(), 3);
        let req = HistoryRequest {
            max_stanzas: Some(2),
            ..Default::default()
        };
        assert_eq!(ids(a.history(20, &req, now)), ["id8", "id9"]);
        let req = HistoryRequest {
            max_chars: Some(250),
            ..Default::default()
        };
        assert_eq!(a.history(20, &req, now).len(), 2);
        let req = HistoryRequest {
            seconds: Some(3),
            ..Default::default()
        };
        assert_eq!(ids(a.history(20, &req, now)), ["id7", "id8", "id9"]);
        let req = HistoryRequest {
            since: Some(t0 + Duration::from_secs(8)),
            ..Default::default()
        };
        assert_eq!(a.history(20, &req, now).len(), 2);
        let req = HistoryRequest {
            max_stanzas: Some(0),
            ..Default::default()
        };
        assert!(a.history(20, &req, now).is_empty());
    }

    #[test]
    fn mam_pages_forward_and_backward() {
        let t0 = SystemTime::UNIX_EPOCH;
        let a = archive(10, t0);
        let q = MamQuery {
            max: Some(4),
            ..Default::default()
        };
        let (page, complete) = a.query(&q).unwrap();
        assert_eq!(
            (page[0].id.as_str(), page.len(), complete),
            ("id0", 4, false)
        );
        let q = MamQuery {
            max: Some(4),
            after: Some("id7".into()),
            ..Default::default()
        };
        let (page, complete) = a.query(&q).unwrap();
        assert_eq!((page.len(), complete), (2, true));
        let q = MamQuery {
            max: Some(3),
            before: Some(String::new()),
            ..Default::default()
        };
        assert_eq!(a.query(&q).unwrap().0[0].id, "id7");
        let q = MamQuery {
            start: Some(t0 + Duration::from_secs(5)),
            end: Some(t0 + Duration::from_secs(6)),
            ..Default::default()
        };
        assert_eq!(a.query(&q).unwrap().0.len(), 2);
        let q = MamQuery {
            after: Some("nope".into()),
            ..Default::default()
        };
        assert!(a.query(&q).is_err());
    }
}
