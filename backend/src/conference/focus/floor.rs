//! Who besides the presenter may speak. The presenter gives an attendee the floor; that
//! attendee's voice then travels exactly like the presenter's (same sequencing, same clock),
//! tagged with their nick so receivers decode and mix each speaker separately. The floor is
//! the focus's own bookkeeping, not meeting state: it ends with a presenter change, when the
//! speaker leaves, or when the focus restarts.

use std::collections::BTreeSet;

#[derive(Default)]
pub struct Floor {
    speakers: BTreeSet<String>,
}

impl Floor {
    pub fn may_speak(&self, nick: &str) -> bool {
        self.speakers.contains(nick)
    }

    /// Gives or takes the floor; whether anything changed.
    pub fn set(&mut self, nick: &str, speak: bool) -> bool {
        if speak {
            self.speakers.insert(nick.to_string())
        } else {
            self.speakers.remove(nick)
        }
    }

    /// Everyone loses the floor (a new presenter decides afresh); returns who had it.
    pub fn clear(&mut self) -> Vec<String> {
        std::mem::take(&mut self.speakers).into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_floor_is_given_taken_and_cleared() {
        let mut floor = Floor::default();
        assert!(!floor.may_speak("Bob"));
        assert!(floor.set("Bob", true));
        assert!(!floor.set("Bob", true), "no change the second time");
        assert!(floor.may_speak("Bob"));
        floor.set("Cem", true);
        assert!(floor.set("Bob", false));
        assert_eq!(floor.clear(), vec!["Cem".to_string()]);
        assert!(!floor.may_speak("Cem"));
    }
}
