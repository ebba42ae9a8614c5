//! Ink on a page: strokes (begin/extend/end), shapes, texts, and the page-wide `erase`,
//! `clear`, `undo` and `redo`.

use xso::{AsXml, FromXml};

use crate::error::{checked, ProtocolError, Validate};
use crate::fixed::{Digits, Fixed, Points, MAX_POINTS_PER_ELEMENT};
use crate::values::{Color, IdList, ItemId, ShapeKind, Tool, MAX_IDS_PER_LIST, MAX_TEXT_CHARS};
use crate::NS;

/// Line widths and text sizes are fractions of the page width in 0.0001..0.5.
pub(crate) fn check_extent(attr: &'static str, value: Fixed) -> Result<(), ProtocolError> {
    if value.within(Fixed::from_units(1), Fixed::from_units(Fixed::SCALE / 2)) {
        Ok(())
    } else {
        Err(ProtocolError::invalid(attr, "not in 0.0001..0.5"))
    }
}

fn check_page(page: u32) -> Result<(), ProtocolError> {
    if page == 0 {
        return Err(ProtocolError::invalid("page", "pages are numbered from 1"));
    }
    Ok(())
}

pub(crate) fn check_coord(attr: &'static str, value: Fixed) -> Result<(), ProtocolError> {
    if value.is_coord() {
        Ok(())
    } else {
        Err(ProtocolError::invalid(attr, "not in -0.5..1.5"))
    }
}

fn check_points(points: &Points) -> Result<(), ProtocolError> {
    if points.0.len() > MAX_POINTS_PER_ELEMENT {
        return Err(ProtocolError::TooLarge("points"));
    }
    Ok(())
}

/// `<stroke-begin id page tool color width>points</stroke-begin>`.
#[derive(FromXml, AsXml, Debug, Clone, PartialEq, Eq)]
#[xml(
    namespace = NS,
    on_unknown_attribute = Discard,
    on_unknown_child = Discard,
    name = "stroke-begin",
    deserialize_callback = checked,
)]
pub struct StrokeBegin {
    #[xml(attribute)]
    pub id: ItemId,
    #[xml(attribute(codec = Digits))]
    pub page: u32,
    #[xml(attribute)]
    pub tool: Tool,
    #[xml(attribute)]
    pub color: Color,
    #[xml(attribute)]
    pub width: Fixed,
    #[xml(text)]
    pub points: Points,
}

impl Validate for StrokeBegin {
    fn validate(&self) -> Result<(), ProtocolError> {
        check_page(self.page)?;
        check_extent("width", self.width)?;
        check_points(&self.points)
    }
}

/// `<stroke-extend id>points</stroke-extend>`: appends points to an unfinished stroke.
#[derive(FromXml, AsXml, Debug, Clone, PartialEq, Eq)]
#[xml(
    namespace = NS,
    on_unknown_attribute = Discard,
    on_unknown_child = Discard,
    name = "stroke-extend",
    deserialize_callback = checked,
)]
pub struct StrokeExtend {
    #[xml(attribute)]
    pub id: ItemId,
    #[xml(text)]
    pub points: Points,
}

impl Validate for StrokeExtend {
    fn validate(&self) -> Result<(), ProtocolError> {
        check_points(&self.points)
    }
}

/// `<stroke-end id/>`: the stroke is finished.
#[derive(FromXml, AsXml, Debug, Clone, PartialEq, Eq)]
#[xml(
    namespace = NS,
    on_unknown_attribute = Discard,
    on_unknown_child = Discard,
    name = "stroke-end",
)]
pub struct StrokeEnd {
    #[xml(attribute)]
    pub id: ItemId,
}

/// `<shape id page kind color width x1 y1 x2 y2/>`.
#[derive(FromXml, AsXml, Debug, Clone, PartialEq, Eq)]
#[xml(
    namespace = NS,
    on_unknown_attribute = Discard,
    on_unknown_child = Discard,
    name = "shape",
    deserialize_callback = checked,
)]
pub struct Shape {
    #[xml(attribute)]
    pub id: ItemId,
    #[xml(attribute(codec = Digits))]
    pub page: u32,
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
}

impl Validate for Shape {
    fn validate(&self) -> Result<(), ProtocolError> {
        check_page(self.page)?;
        check_shape(self.width, [self.x1, self.y1, self.x2, self.y2])
    }
}

/// `<text id page color size x y>text</text>`; `x`,`y` is the top-left of the first line.
#[derive(FromXml, AsXml, Debug, Clone, PartialEq, Eq)]
#[xml(
    namespace = NS,
    on_unknown_attribute = Discard,
    on_unknown_child = Discard,
    name = "text",
    deserialize_callback = checked,
)]
pub struct Text {
    #[xml(attribute)]
    pub id: ItemId,
    #[xml(attribute(codec = Digits))]
    pub page: u32,
    #[xml(attribute)]
    pub color: Color,
    #[xml(attribute)]
    pub size: Fixed,
    #[xml(attribute)]
    pub x: Fixed,
    #[xml(attribute)]
    pub y: Fixed,
    #[xml(text)]
    pub text: String,
}

/// The text rule shared by the payload and the snapshot item: 1..1024 code points.
/// A shape's line width and the two points it spans (the payload and the state item alike).
pub(crate) fn check_shape(width: Fixed, [x1, y1, x2, y2]: [Fixed; 4]) -> Result<(), ProtocolError> {
    check_extent("width", width)?;
    check_coord("x1", x1)?;
    check_coord("y1", y1)?;
    check_coord("x2", x2)?;
    check_coord("y2", y2)
}

/// A text's size, top-left corner and content (the payload and the state item alike).
pub(crate) fn check_text_box(
    size: Fixed,
    x: Fixed,
    y: Fixed,
    text: &str,
) -> Result<(), ProtocolError> {
    check_extent("size", size)?;
    check_coord("x", x)?;
    check_coord("y", y)?;
    check_text(text)
}

fn check_text(text: &str) -> Result<(), ProtocolError> {
    if text.is_empty() {
        return Err(ProtocolError::invalid("text", "must not be empty"));
    }
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(ProtocolError::TooLarge("text"));
    }
    Ok(())
}

impl Validate for Text {
    fn validate(&self) -> Result<(), ProtocolError> {
        check_page(self.page)?;
        check_text_box(self.size, self.x, self.y, &self.text)
    }
}

/// `<erase page ids/>`: hides the listed visible items of the page.
#[derive(FromXml, AsXml, Debug, Clone, PartialEq, Eq)]
#[xml(
    namespace = NS,
    on_unknown_attribute = Discard,
    on_unknown_child = Discard,
    name = "erase",
    deserialize_callback = checked,
)]
pub struct Erase {
    #[xml(attribute(codec = Digits))]
    pub page: u32,
    #[xml(attribute)]
    pub ids: IdList,
}

impl Validate for Erase {
    fn validate(&self) -> Result<(), ProtocolError> {
        check_page(self.page)?;
        if self.ids.0.len() > MAX_IDS_PER_LIST {
            return Err(ProtocolError::TooLarge("ids"));
        }
        Ok(())
    }
}

/// The three page-wide actions with nothing but a page: `<clear/>`, `<undo/>`, `<redo/>`.
macro_rules! page_action {
    ($(#[$doc:meta])* $name:ident, $wire:literal) => {
        $(#[$doc])*
        #[derive(FromXml, AsXml, Debug, Clone, Copy, PartialEq, Eq)]
        #[xml(
            namespace = NS,
            on_unknown_attribute = Discard,
            on_unknown_child = Discard,
            name = $wire,
            deserialize_callback = checked,
        )]
        pub struct $name {
            #[xml(attribute(codec = Digits))]
            pub page: u32,
        }

        impl Validate for $name {
            fn validate(&self) -> Result<(), ProtocolError> {
                check_page(self.page)
            }
        }
    };
}

page_action!(
    /// `<clear page/>`: hides every visible item of the page (one undoable action).
    Clear, "clear"
);
page_action!(
    /// `<undo page/>`: reverts the page's most recent action.
    Undo, "undo"
);
page_action!(
    /// `<redo page/>`: re-applies the page's most recently undone action.
    Redo, "redo"
);

impl Validate for StrokeEnd {
    fn validate(&self) -> Result<(), ProtocolError> {
        Ok(())
    }
}
