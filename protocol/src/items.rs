//! Ink items and undo actions as the state holds them and as the snapshot carries them:
//! `<stroke id tool color width done visible>points</stroke>`, `<shape … visible/>`,
//! `<text … visible>…</text>`, `<add ids/>`, `<remove ids/>`.

use xso::{AsXml, FromXml};

use crate::error::{checked, ProtocolError, Validate};
use crate::fixed::{Fixed, Points};
use crate::ink::{check_extent, check_shape, check_text_box};
use crate::values::{Color, IdList, ItemId, ShapeKind, Tool, MAX_STROKE_POINTS};
use crate::NS;

/// A stroke on a page.
#[derive(FromXml, AsXml, Debug, Clone, PartialEq, Eq)]
#[xml(
    namespace = NS,
    on_unknown_attribute = Discard,
    on_unknown_child = Discard,
    name = "stroke",
    deserialize_callback = checked,
)]
pub struct StrokeItem {
    #[xml(attribute)]
    pub id: ItemId,
    #[xml(attribute)]
    pub tool: Tool,
    #[xml(attribute)]
    pub color: Color,
    #[xml(attribute)]
    pub width: Fixed,
    #[xml(attribute)]
    pub done: bool,
    #[xml(attribute)]
    pub visible: bool,
    #[xml(text)]
    pub points: Points,
}

impl Validate for StrokeItem {
    fn validate(&self) -> Result<(), ProtocolError> {
        check_extent("width", self.width)?;
        if self.points.0.len() > MAX_STROKE_POINTS {
            return Err(ProtocolError::TooLarge("points"));
        }
        Ok(())
    }
}

/// A line, arrow, rectangle or ellipse on a page.
#[derive(FromXml, AsXml, Debug, Clone, PartialEq, Eq)]
#[xml(
    namespace = NS,
    on_unknown_attribute = Discard,
    on_unknown_child = Discard,
    name = "shape",
    deserialize_callback = checked,
)]
pub struct ShapeItem {
    #[xml(attribute)]
    pub id: ItemId,
    #[xml(attribute)]
    pub kind: ShapeKind,
    #[xml(attribute)]
    pub color: Color,
    #[xml(attribute)]
    pub width: Fixed,
    #[xml(attribute)]
    pub x1: Fixed,
    #[xml(attribute)]
    pub y1: Fixed,
    #[xml(attribute)]
    pub x2: Fixed,
    #[xml(attribute)]
    pub y2: Fixed,
    #[xml(attribute)]
    pub visible: bool,
}

impl Validate for ShapeItem {
    fn validate(&self) -> Result<(), ProtocolError> {
        check_shape(self.width, [self.x1, self.y1, self.x2, self.y2])
    }
}

/// A text on a page.
#[derive(FromXml, AsXml, Debug, Clone, PartialEq, Eq)]
#[xml(
    namespace = NS,
    on_unknown_attribute = Discard,
    on_unknown_child = Discard,
    name = "text",
    deserialize_callback = checked,
)]
pub struct TextItem {
    #[xml(attribute)]
    pub id: ItemId,
    #[xml(attribute)]
    pub color: Color,
    #[xml(attribute)]
    pub size: Fixed,
    #[xml(attribute)]
    pub x: Fixed,
    #[xml(attribute)]
    pub y: Fixed,
    #[xml(attribute)]
    pub visible: bool,
    #[xml(text)]
    pub text: String,
}

impl Validate for TextItem {
    fn validate(&self) -> Result<(), ProtocolError> {
        check_text_box(self.size, self.x, self.y, &self.text)
    }
}

/// One item of a page, in creation order (later items draw on top).
#[derive(FromXml, AsXml, Debug, Clone, PartialEq, Eq)]
#[xml()]
pub enum Item {
    #[xml(transparent)]
    Stroke(StrokeItem),
    #[xml(transparent)]
    Shape(ShapeItem),
    #[xml(transparent)]
    Text(TextItem),
}

impl Item {
    pub fn id(&self) -> &ItemId {
        match self {
            Item::Stroke(s) => &s.id,
            Item::Shape(s) => &s.id,
            Item::Text(t) => &t.id,
        }
    }

    pub fn visible(&self) -> bool {
        match self {
            Item::Stroke(s) => s.visible,
            Item::Shape(s) => s.visible,
            Item::Text(t) => t.visible,
        }
    }

    pub fn set_visible(&mut self, visible: bool) {
        match self {
            Item::Stroke(s) => s.visible = visible,
            Item::Shape(s) => s.visible = visible,
            Item::Text(t) => t.visible = visible,
        }
    }

    /// A new stroke from its first points.
    pub(crate) fn stroke(b: &crate::ink::StrokeBegin) -> Self {
        Item::Stroke(StrokeItem {
            id: b.id.clone(),
            tool: b.tool,
            color: b.color,
            width: b.width,
            done: false,
            visible: true,
            points: b.points.clone(),
        })
    }

    pub(crate) fn shape(s: &crate::ink::Shape) -> Self {
        Item::Shape(ShapeItem {
            id: s.id.clone(),
            kind: s.kind,
            color: s.color,
            width: s.width,
            x1: s.x1,
            y1: s.y1,
            x2: s.x2,
            y2: s.y2,
            visible: true,
        })
    }

    pub(crate) fn text(t: &crate::ink::Text) -> Self {
        Item::Text(TextItem {
            id: t.id.clone(),
            color: t.color,
            size: t.size,
            x: t.x,
            y: t.y,
            visible: true,
            text: t.text.clone(),
        })
    }
}

impl Validate for Item {
    fn validate(&self) -> Result<(), ProtocolError> {
        match self {
            Item::Stroke(s) => s.validate(),
            Item::Shape(s) => s.validate(),
            Item::Text(t) => t.validate(),
        }
    }
}

/// An undoable action: items were added, or visible items were hidden (erase, clear).
#[derive(FromXml, AsXml, Debug, Clone, PartialEq, Eq)]
#[xml(namespace = NS)]
pub enum Action {
    #[xml(name = "add", on_unknown_attribute = Discard, on_unknown_child = Discard)]
    Add {
        #[xml(attribute)]
        ids: IdList,
    },
    #[xml(name = "remove", on_unknown_attribute = Discard, on_unknown_child = Discard)]
    Remove {
        #[xml(attribute)]
        ids: IdList,
    },
}

impl Action {
    pub fn ids(&self) -> &[ItemId] {
        match self {
            Action::Add { ids } | Action::Remove { ids } => &ids.0,
        }
    }
}

/// `<undo>` inside `<ink>`: the stack from its bottom (oldest) to its top.
#[derive(FromXml, AsXml, Debug, Clone, Default, PartialEq, Eq)]
#[xml(namespace = NS, on_unknown_attribute = Discard, on_unknown_child = Discard, name = "undo")]
pub struct UndoStack {
    #[xml(child(n = ..))]
    pub actions: Vec<Action>,
}

/// `<redo>` inside `<ink>`: the stack from its bottom to its top (the next redo).
#[derive(FromXml, AsXml, Debug, Clone, Default, PartialEq, Eq)]
#[xml(namespace = NS, on_unknown_attribute = Discard, on_unknown_child = Discard, name = "redo")]
pub struct RedoStack {
    #[xml(child(n = ..))]
    pub actions: Vec<Action>,
}
