//! Statistical division codes (统计用区划代码), the five administrative levels and the leaf-unit kind.

use std::fmt;
use std::str::FromStr;

/// A 12-digit statistical division code `PP CC DD TTT VVV`.
///
/// Shorter published forms (2, 4, 6 or 9 digits) are padded with zeros, so county `110101` is
/// `110101000000`. The code says nothing reliable about the parent: some county-level units hang
/// directly under a province, so parent links always come from the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DivisionCode(u64);

/// What was wrong with a code; each variant holds an [`excerpt`](crate::excerpt) of the text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DivisionCodeError {
    #[error("division code `{0}` must be 2, 4, 6, 9 or 12 digits")]
    Length(String),
    #[error("division code `{0}` must contain only digits")]
    NotDigits(String),
    #[error("division code `{0}` has no province part")]
    Zero(String),
}

impl DivisionCode {
    /// The largest valid code plus one.
    const LIMIT: u64 = 1_000_000_000_000;

    /// Parses a code in any of its published lengths.
    pub fn parse(text: &str) -> Result<Self, DivisionCodeError> {
        let t = text.trim();
        if !t.bytes().all(|b| b.is_ascii_digit()) || t.is_empty() {
            return Err(DivisionCodeError::NotDigits(quoted(text)));
        }
        let pad = match t.len() {
            2 => 10,
            4 => 8,
            6 => 6,
            9 => 3,
            12 => 0,
            _ => return Err(DivisionCodeError::Length(quoted(text))),
        };
        let value: u64 = t
            .parse()
            .map_err(|_| DivisionCodeError::NotDigits(quoted(text)))?;
        let code = value * 10u64.pow(pad);
        if code < 10_000_000_000 {
            return Err(DivisionCodeError::Zero(quoted(text)));
        }
        Ok(Self(code))
    }

    /// Accepts a stored 12-digit value.
    pub fn from_u64(value: u64) -> Result<Self, DivisionCodeError> {
        if !(10_000_000_000..Self::LIMIT).contains(&value) {
            return Err(DivisionCodeError::Length(value.to_string()));
        }
        Ok(Self(value))
    }

    pub fn as_u64(self) -> u64 {
        self.0
    }

    pub fn as_i64(self) -> i64 {
        // Always below 10^12, so it fits.
        self.0 as i64
    }

    /// The province this code's digits name; a hint for sharding and display, not a parent link.
    pub fn province_part(self) -> u8 {
        (self.0 / 10_000_000_000) as u8
    }

    /// The shortest published form (`11`, `1101`, `110101`, `110101001`, `110101001001`).
    pub fn short_form(self) -> String {
        let s = self.to_string();
        for len in [2usize, 4, 6, 9] {
            if s[len..].bytes().all(|b| b == b'0') {
                return s[..len].to_owned();
            }
        }
        s
    }
}

impl fmt::Display for DivisionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:012}", self.0)
    }
}

impl FromStr for DivisionCode {
    type Err = DivisionCodeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// The five administrative levels, province (1) down to village-level unit (5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DivisionLevel {
    Province = 1,
    Prefecture = 2,
    County = 3,
    Township = 4,
    Village = 5,
}

impl DivisionLevel {
    pub const ALL: [DivisionLevel; 5] = [
        Self::Province,
        Self::Prefecture,
        Self::County,
        Self::Township,
        Self::Village,
    ];

    pub fn from_number(n: i64) -> Option<Self> {
        match n {
            1 => Some(Self::Province),
            2 => Some(Self::Prefecture),
            3 => Some(Self::County),
            4 => Some(Self::Township),
            5 => Some(Self::Village),
            _ => None,
        }
    }

    pub fn number(self) -> u8 {
        self as u8
    }

    /// The level directly above, `None` for a province.
    pub fn parent(self) -> Option<Self> {
        Self::from_number(i64::from(self.number()) - 1)
    }

    pub fn is_leaf(self) -> bool {
        self == Self::Village
    }
}

/// Whether a leaf unit is an urban community (居委会, 社区) or a rural village (村委会, 嘎查, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeafUnitKind {
    Community,
    Village,
}

impl LeafUnitKind {
    /// The bundled data has no explicit kind: a name that contains 居委会 (or its long form
    /// 居民委员会, residents' committee) or ends in 社区 is a community, everything else a village.
    /// Imports and edits may override it.
    pub fn infer_from_name(name: &str) -> Self {
        let name = name.trim();
        if name.contains("居委会") || name.contains("居民委员会") || name.ends_with("社区")
        {
            Self::Community
        } else {
            Self::Village
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Community => "community",
            Self::Village => "village",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "community" => Some(Self::Community),
            "village" => Some(Self::Village),
            _ => None,
        }
    }
}

/// The caller's text as an error quotes it.
fn quoted(text: &str) -> String {
    crate::excerpt(text).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_quote_an_excerpt_of_long_codes() {
        let long = "1".repeat(1 << 20);
        let message = DivisionCode::parse(&long).unwrap_err().to_string();
        assert!(message.len() < 200, "{} bytes", message.len());
        assert!(
            message.contains(&format!("({} bytes)", long.len())),
            "{message}"
        );
    }

    #[test]
    fn pads_short_forms() {
        assert_eq!(
            DivisionCode::parse("11").unwrap().to_string(),
            "110000000000"
        );
        assert_eq!(
            DivisionCode::parse("1101").unwrap().to_string(),
            "110100000000"
        );
        assert_eq!(
            DivisionCode::parse("110101").unwrap().to_string(),
            "110101000000"
        );
        assert_eq!(
            DivisionCode::parse("110101001").unwrap().to_string(),
            "110101001000"
        );
        assert_eq!(
            DivisionCode::parse("110101001001").unwrap().as_u64(),
            110_101_001_001
        );
    }

    #[test]
    fn rejects_malformed_codes() {
        assert!(matches!(
            DivisionCode::parse("1101011"),
            Err(DivisionCodeError::Length(_))
        ));
        assert!(matches!(
            DivisionCode::parse("11a1"),
            Err(DivisionCodeError::NotDigits(_))
        ));
        assert!(matches!(
            DivisionCode::parse(""),
            Err(DivisionCodeError::NotDigits(_))
        ));
        assert!(matches!(
            DivisionCode::parse("-1"),
            Err(DivisionCodeError::NotDigits(_))
        ));
        assert!(matches!(
            DivisionCode::parse("000000"),
            Err(DivisionCodeError::Zero(_))
        ));
        assert!(DivisionCode::from_u64(99).is_err());
        assert!(DivisionCode::from_u64(1_000_000_000_000).is_err());
    }

    #[test]
    fn short_form_round_trips() {
        for s in ["42", "4290", "429004", "429004001", "429004001001"] {
            assert_eq!(DivisionCode::parse(s).unwrap().short_form(), s);
        }
        assert_eq!(DivisionCode::parse("429004").unwrap().province_part(), 42);
    }

    #[test]
    fn infers_leaf_kind_from_name() {
        assert_eq!(
            LeafUnitKind::infer_from_name("多福巷社区居委会"),
            LeafUnitKind::Community
        );
        assert_eq!(
            LeafUnitKind::infer_from_name("银闸社区"),
            LeafUnitKind::Community
        );
        assert_eq!(
            LeafUnitKind::infer_from_name("杨岗社区居民委员会"),
            LeafUnitKind::Community
        );
        assert_eq!(
            LeafUnitKind::infer_from_name("杨岗村民委员会"),
            LeafUnitKind::Village
        );
        assert_eq!(
            LeafUnitKind::infer_from_name("东坝村委会"),
            LeafUnitKind::Village
        );
        assert_eq!(
            LeafUnitKind::infer_from_name("巴彦嘎查"),
            LeafUnitKind::Village
        );
        // 社区 inside a name that ends otherwise is not enough.
        assert_eq!(
            LeafUnitKind::infer_from_name("社区村村委会"),
            LeafUnitKind::Village
        );
    }

    #[test]
    fn levels_know_their_parent() {
        assert_eq!(
            DivisionLevel::Village.parent(),
            Some(DivisionLevel::Township)
        );
        assert_eq!(DivisionLevel::Province.parent(), None);
        assert_eq!(DivisionLevel::from_number(6), None);
        assert!(DivisionLevel::Village.is_leaf());
    }
}
