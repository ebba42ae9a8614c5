//! One page's ink and its deterministic undo/redo (spec: "Undo and redo are per page").
//! Every receiver runs exactly these steps, so every receiver reaches the same stacks.

use std::collections::HashSet;

use crate::items::{Action, Item};
use crate::values::{IdList, ItemId, UNDO_DEPTH};

/// The items of one page of one document, with its undo and redo stacks (bottom first).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageInk {
    pub items: Vec<Item>,
    pub undo: Vec<Action>,
    pub redo: Vec<Action>,
}

impl PageInk {
    /// Nothing to show or to undo: the state form leaves such pages out.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty() && self.undo.is_empty() && self.redo.is_empty()
    }

    pub fn item(&self, id: &str) -> Option<&Item> {
        self.items.iter().find(|i| i.id().as_str() == id)
    }

    pub(crate) fn item_mut(&mut self, id: &str) -> Option<&mut Item> {
        self.items.iter_mut().find(|i| i.id().as_str() == id)
    }

    /// Appends a new visible item and records `add [id]`.
    pub(crate) fn add(&mut self, item: Item) -> Vec<ItemId> {
        let id = item.id().clone();
        self.items.push(item);
        self.push(Action::Add {
            ids: IdList(vec![id]),
        })
    }

    /// Hides the listed items that are visible (a repeated id is no longer visible) and
    /// records `remove [those]`; nothing at all happens when none are visible.
    pub(crate) fn erase<'a>(&mut self, ids: impl IntoIterator<Item = &'a ItemId>) -> Vec<ItemId> {
        let mut hidden: Vec<ItemId> = Vec::new();
        for id in ids {
            if let Some(item) = self.item_mut(id) {
                if item.visible() {
                    item.set_visible(false);
                    hidden.push(id.clone());
                }
            }
        }
        if hidden.is_empty() {
            return Vec::new();
        }
        self.push(Action::Remove {
            ids: IdList(hidden),
        })
    }

    /// Hides every visible item, in creation order, as one action.
    pub(crate) fn clear(&mut self) -> Vec<ItemId> {
        let visible: Vec<ItemId> = self
            .items
            .iter()
            .filter(|i| i.visible())
            .map(|i| i.id().clone())
            .collect();
        self.erase(visible.iter())
    }

    pub(crate) fn undo(&mut self) -> Vec<ItemId> {
        let Some(action) = self.undo.pop() else {
            return Vec::new();
        };
        self.show(&action, true);
        self.redo.push(action);
        self.prune()
    }

    pub(crate) fn redo(&mut self) -> Vec<ItemId> {
        let Some(action) = self.redo.pop() else {
            return Vec::new();
        };
        self.show(&action, false);
        self.undo.push(action);
        self.trim_undo();
        self.prune()
    }

    /// Applies an action (`inverted` undoes it): `add` shows, `remove` hides.
    fn show(&mut self, action: &Action, inverted: bool) {
        let visible = matches!(action, Action::Add { .. }) != inverted;
        for id in action.ids() {
            if let Some(item) = self.item_mut(id) {
                item.set_visible(visible);
            }
        }
    }

    fn push(&mut self, action: Action) -> Vec<ItemId> {
        self.undo.push(action);
        self.trim_undo();
        self.redo.clear();
        self.prune()
    }

    fn trim_undo(&mut self) {
        if self.undo.len() > UNDO_DEPTH {
            let excess = self.undo.len() - UNDO_DEPTH;
            self.undo.drain(..excess);
        }
    }

    /// Drops hidden items that no action refers to any more; returns their ids so the
    /// meeting's id index forgets them too (the ids become free again).
    pub(crate) fn prune(&mut self) -> Vec<ItemId> {
        let referenced: HashSet<&ItemId> = self
            .undo
            .iter()
            .chain(&self.redo)
            .flat_map(Action::ids)
            .collect();
        let mut dropped = Vec::new();
        self.items.retain(|item| {
            let keep = item.visible() || referenced.contains(item.id());
            if !keep {
                dropped.push(item.id().clone());
            }
            keep
        });
        dropped
    }
}
