//! Numbers on the wire. Coordinates and sizes are decimals with at most 4 decimals, held as
//! integer ten-thousandths so that parsing and printing are exact: Rust and JavaScript then
//! agree byte for byte on every number in the state form (see "Numbers" in the spec).

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use xso::error::Error as XsoError;
use xso::text::TextCodec;

use crate::error::ProtocolError;

/// A decimal with at most 4 decimals, e.g. a normalised coordinate (`0.1234`) or a zoom (`2`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Fixed(i32);

impl Fixed {
    /// Units per 1.0.
    pub const SCALE: i32 = 10_000;
    pub const ZERO: Fixed = Fixed(0);
    pub const ONE: Fixed = Fixed(Self::SCALE);
    /// The coordinate range, -0.5..1.5 (points may be dragged half a page off the page).
    pub const COORD_MIN: Fixed = Fixed(-Self::SCALE / 2);
    pub const COORD_MAX: Fixed = Fixed(Self::SCALE * 3 / 2);

    /// From ten-thousandths (`Fixed::from_units(1234)` is `0.1234`).
    pub const fn from_units(units: i32) -> Self {
        Fixed(units)
    }

    pub const fn units(self) -> i32 {
        self.0
    }

    /// Rounds to the nearest ten-thousandth; `None` for values beyond ±99999.
    pub fn from_f64(value: f64) -> Option<Self> {
        let units = (value * f64::from(Self::SCALE)).round();
        (units.abs() < 1e9).then_some(Fixed(units as i32))
    }

    pub fn to_f64(self) -> f64 {
        f64::from(self.0) / f64::from(Self::SCALE)
    }

    /// Whether `min <= self <= max`.
    pub fn within(self, min: Fixed, max: Fixed) -> bool {
        (min..=max).contains(&self)
    }

    /// Whether the value lies in the coordinate range -0.5..1.5.
    pub fn is_coord(self) -> bool {
        self.within(Self::COORD_MIN, Self::COORD_MAX)
    }
}

/// Grammar: `-?[0-9]{0,5}(\.[0-9]{1,4})?` with at least one digit; no `+`, no exponent.
impl FromStr for Fixed {
    type Err = ProtocolError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        const BAD: ProtocolError = ProtocolError::Invalid {
            attr: "number",
            reason: "not a decimal with at most 4 decimals",
        };
        let (negative, rest) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let (int, frac) = rest.split_once('.').unwrap_or((rest, ""));
        let digits = |d: &str| d.bytes().all(|b| b.is_ascii_digit());
        if int.len() > 5 || frac.len() > 4 || !digits(int) || !digits(frac) {
            return Err(BAD);
        }
        if int.is_empty() && frac.is_empty() || rest.ends_with('.') {
            return Err(BAD);
        }
        let mut units: i32 = 0;
        for b in int.bytes() {
            units = units * 10 + i32::from(b - b'0');
        }
        for i in 0..4 {
            let d = frac.as_bytes().get(i).map_or(0, |b| i32::from(b - b'0'));
            units = units * 10 + d;
        }
        Ok(Fixed(if negative { -units } else { units }))
    }
}

/// The shortest decimal of the value: `0.1`, `1`, `-0.0005`, never `-0`, always a leading
/// `0` (JSON needs it) — what JavaScript's `String(units / 10000)` prints too.
impl fmt::Display for Fixed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let (int, frac) = (abs / 10_000, abs % 10_000);
        if frac == 0 {
            return write!(f, "{sign}{int}");
        }
        let frac = format!("{frac:04}");
        write!(f, "{sign}{int}.{}", frac.trim_end_matches('0'))
    }
}

xso::convert_via_fromstr_and_display!(Fixed);

/// A point on the page, `x` from the left edge, `y` from the top.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Point {
    pub x: Fixed,
    pub y: Fixed,
}

/// The compact point list `x,y x,y`: pairs separated by whitespace (one space when written),
/// at least one point, every coordinate in -0.5..1.5.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Points(pub Vec<Point>);

/// Points per `stroke-begin`/`stroke-extend` element.
pub const MAX_POINTS_PER_ELEMENT: usize = 512;

impl FromStr for Points {
    type Err = ProtocolError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        const BAD: ProtocolError = ProtocolError::Invalid {
            attr: "points",
            reason: "not a list of x,y pairs in -0.5..1.5",
        };
        let mut points = Vec::new();
        for pair in s.split_ascii_whitespace() {
            let (x, y) = pair.split_once(',').ok_or(BAD)?;
            let point = Point {
                x: x.parse().map_err(|_| BAD)?,
                y: y.parse().map_err(|_| BAD)?,
            };
            if !point.x.is_coord() || !point.y.is_coord() {
                return Err(BAD);
            }
            points.push(point);
        }
        if points.is_empty() {
            return Err(ProtocolError::invalid(
                "points",
                "at least one point is needed",
            ));
        }
        Ok(Points(points))
    }
}

impl fmt::Display for Points {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.0.iter().enumerate() {
            let sep = if i == 0 { "" } else { " " };
            write!(f, "{sep}{},{}", p.x, p.y)?;
        }
        Ok(())
    }
}

xso::convert_via_fromstr_and_display!(Points);

/// The largest integer JavaScript holds exactly; `seq` and `t` stay below it.
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// Text codec for unsigned integers: ASCII digits only (Rust's own parser would take `+5`,
/// which the JavaScript side refuses), at most 2^53-1.
pub struct Digits;

pub(crate) fn parse_digits(s: &str) -> Result<u64, XsoError> {
    let bad = || XsoError::text_parse_error(ProtocolError::invalid("integer", "not digits"));
    if s.is_empty() || s.len() > 16 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let n: u64 = s.parse().map_err(|_| bad())?;
    if n > MAX_SAFE_INTEGER {
        return Err(bad());
    }
    Ok(n)
}

macro_rules! digits_codec {
    ($($t:ty),*) => {$(
        impl TextCodec<$t> for Digits {
            fn decode(&self, s: String) -> Result<$t, XsoError> {
                let n = parse_digits(&s)?;
                <$t>::try_from(n).map_err(XsoError::text_parse_error)
            }
            fn encode<'x>(&self, value: &'x $t) -> Result<Option<Cow<'x, str>>, XsoError> {
                Ok(Some(Cow::Owned(value.to_string())))
            }
        }
        impl TextCodec<Option<$t>> for Digits {
            fn decode(&self, s: String) -> Result<Option<$t>, XsoError> {
                TextCodec::<$t>::decode(self, s).map(Some)
            }
            fn encode<'x>(&self, value: &'x Option<$t>) -> Result<Option<Cow<'x, str>>, XsoError> {
                Ok(value.map(|v| Cow::Owned(v.to_string())))
            }
        }
    )*};
}

digits_codec!(u32, u64);

#[cfg(test)]
mod tests {
    use super::*;

    fn fx(s: &str) -> Result<Fixed, ProtocolError> {
        s.parse()
    }

    #[test]
    fn decimals_parse_exactly_and_print_shortest() {
        for (input, units, printed) in [
            ("0.1234", 1234, "0.1234"),
            (".1234", 1234, "0.1234"),
            ("1", 10_000, "1"),
            ("1.5000", 15_000, "1.5"),
            ("-0.5", -5_000, "-0.5"),
            ("-.0005", -5, "-0.0005"),
            ("-0", 0, "0"),
            ("99999.9999", 999_999_999, "99999.9999"),
        ] {
            let f = fx(input).unwrap();
            assert_eq!(f.units(), units, "{input}");
            assert_eq!(f.to_string(), printed, "{input}");
        }
    }

    #[test]
    fn malformed_decimals_are_refused() {
        for input in [
            "", ".", "-", "1.", "+1", "1e3", "0.12345", "100000", " 1", "1,5", "--1",
        ] {
            assert!(fx(input).is_err(), "{input:?} accepted");
        }
    }

    #[test]
    fn point_lists_round_trip_and_check_range() {
        let p: Points = "0.1,0.2  .1012,0.2030\n1.5,-0.5".parse().unwrap();
        assert_eq!(p.to_string(), "0.1,0.2 0.1012,0.203 1.5,-0.5");
        for bad in [
            "",
            "0.1",
            "0.1,0.2,0.3",
            "1.5001,0",
            "0,-0.5001",
            "0.1, 0.2",
        ] {
            assert!(bad.parse::<Points>().is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn digits_refuse_signs_and_huge_values() {
        assert_eq!(TextCodec::<u32>::decode(&Digits, "007".into()).unwrap(), 7);
        for bad in ["+5", "-1", "", "1.0", "9007199254740992"] {
            assert!(
                TextCodec::<u64>::decode(&Digits, bad.into()).is_err(),
                "{bad}"
            );
        }
        assert!(TextCodec::<u32>::decode(&Digits, "4294967296".into()).is_err());
    }
}
