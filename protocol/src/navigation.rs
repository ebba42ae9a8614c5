//! Where the presenter is: `<page/>`, `<viewport/>`, `<pointer/>` and who presents,
//! `<presenter/>`.

use xso::{AsXml, FromXml};

use crate::error::{checked, ProtocolError, Validate};
use crate::fixed::{Digits, Fixed};
use crate::values::is_nick;
use crate::NS;

/// `<page n/>`: a page turn (1-based).
#[derive(FromXml, AsXml, Debug, Clone, Copy, PartialEq, Eq)]
#[xml(
    namespace = NS,
    on_unknown_attribute = Discard,
    on_unknown_child = Discard,
    name = "page",
    deserialize_callback = checked,
)]
pub struct Page {
    #[xml(attribute(name = "n", codec = Digits))]
    pub number: u32,
}

impl Validate for Page {
    fn validate(&self) -> Result<(), ProtocolError> {
        if self.number == 0 {
            return Err(ProtocolError::invalid("n", "pages are numbered from 1"));
        }
        Ok(())
    }
}

/// `<viewport x y zoom/>`: the page point at the view's top-left (0..1) and the zoom (1..8).
#[derive(FromXml, AsXml, Debug, Clone, Copy, PartialEq, Eq)]
#[xml(
    namespace = NS,
    on_unknown_attribute = Discard,
    on_unknown_child = Discard,
    name = "viewport",
    deserialize_callback = checked,
)]
pub struct Viewport {
    #[xml(attribute)]
    pub x: Fixed,
    #[xml(attribute)]
    pub y: Fixed,
    #[xml(attribute)]
    pub zoom: Fixed,
}

impl Viewport {
    /// The whole page.
    pub const WHOLE_PAGE: Viewport = Viewport {
        x: Fixed::ZERO,
        y: Fixed::ZERO,
        zoom: Fixed::ONE,
    };
}

impl Default for Viewport {
    fn default() -> Self {
        Self::WHOLE_PAGE
    }
}

impl Validate for Viewport {
    fn validate(&self) -> Result<(), ProtocolError> {
        if !self.x.within(Fixed::ZERO, Fixed::ONE) {
            return Err(ProtocolError::invalid("x", "not in 0..1"));
        }
        if !self.y.within(Fixed::ZERO, Fixed::ONE) {
            return Err(ProtocolError::invalid("y", "not in 0..1"));
        }
        if !self
            .zoom
            .within(Fixed::ONE, Fixed::from_units(8 * Fixed::SCALE))
        {
            return Err(ProtocolError::invalid("zoom", "not in 1..8"));
        }
        Ok(())
    }
}

/// `<pointer page x y/>` shows the laser pointer, `<pointer hide='true'/>` hides it. Exactly
/// one of the two forms is valid; [`Pointer::target`] tells which.
#[derive(FromXml, AsXml, Debug, Clone, Copy, PartialEq, Eq)]
#[xml(
    namespace = NS,
    on_unknown_attribute = Discard,
    on_unknown_child = Discard,
    name = "pointer",
    deserialize_callback = checked,
)]
pub struct Pointer {
    #[xml(attribute(default, codec = Digits))]
    pub page: Option<u32>,
    #[xml(attribute(default))]
    pub x: Option<Fixed>,
    #[xml(attribute(default))]
    pub y: Option<Fixed>,
    #[xml(attribute(default))]
    pub hide: Option<bool>,
}

/// Where a visible pointer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PointerAt {
    pub page: u32,
    pub x: Fixed,
    pub y: Fixed,
}

impl Pointer {
    pub fn at(at: PointerAt) -> Self {
        Pointer {
            page: Some(at.page),
            x: Some(at.x),
            y: Some(at.y),
            hide: None,
        }
    }

    pub fn hidden() -> Self {
        Pointer {
            page: None,
            x: None,
            y: None,
            hide: Some(true),
        }
    }

    /// `Some` for the showing form, `None` for the hiding form (valid pointers only).
    pub fn target(&self) -> Option<PointerAt> {
        match (self.page, self.x, self.y) {
            (Some(page), Some(x), Some(y)) => Some(PointerAt { page, x, y }),
            _ => None,
        }
    }
}

impl Validate for Pointer {
    fn validate(&self) -> Result<(), ProtocolError> {
        match (self.hide, self.target()) {
            (Some(true), None) if self.page.is_none() && self.x.is_none() && self.y.is_none() => {
                Ok(())
            }
            (None, Some(at)) => {
                if at.page == 0 {
                    return Err(ProtocolError::invalid("page", "pages are numbered from 1"));
                }
                if !at.x.is_coord() {
                    return Err(ProtocolError::invalid("x", "not in -0.5..1.5"));
                }
                if !at.y.is_coord() {
                    return Err(ProtocolError::invalid("y", "not in -0.5..1.5"));
                }
                Ok(())
            }
            _ => Err(ProtocolError::invalid(
                "hide",
                "either page, x and y, or hide='true' alone",
            )),
        }
    }
}

/// `<presenter nick/>`: the occupant with this room nick presents from now on.
#[derive(FromXml, AsXml, Debug, Clone, PartialEq, Eq)]
#[xml(
    namespace = NS,
    on_unknown_attribute = Discard,
    on_unknown_child = Discard,
    name = "presenter",
    deserialize_callback = checked,
)]
pub struct Presenter {
    #[xml(attribute)]
    pub nick: String,
}

impl Validate for Presenter {
    fn validate(&self) -> Result<(), ProtocolError> {
        if !is_nick(&self.nick) {
            return Err(ProtocolError::invalid("nick", "not a room nick"));
        }
        Ok(())
    }
}
