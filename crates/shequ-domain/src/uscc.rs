//! The 18-character Unified Social Credit Code (统一社会信用代码, GB 32100-2015) of an operator.

use std::fmt;

const ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
const WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// A code whose check character has been verified.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Uscc(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsccError {
    #[error("must be 18 characters, got {0}")]
    Length(usize),
    #[error("character `{character}` at position {position} is not in the code alphabet")]
    Character { position: usize, character: char },
    #[error("check character is `{found}`, expected `{expected}`")]
    Check { found: char, expected: char },
}

impl Uscc {
    /// Validates length, alphabet (upper case; I, O, S, V and Z never occur) and the check character.
    pub fn parse(text: &str) -> Result<Self, UsccError> {
        let chars: Vec<char> = text.chars().collect();
        if chars.len() != 18 {
            return Err(UsccError::Length(chars.len()));
        }
        let mut values = [0u32; 18];
        for (i, &c) in chars.iter().enumerate() {
            values[i] =
                ALPHABET
                    .iter()
                    .position(|&a| char::from(a) == c)
                    .ok_or(UsccError::Character {
                        position: i + 1,
                        character: c,
                    })? as u32;
        }
        let sum: u32 = WEIGHTS.iter().zip(values).map(|(w, v)| w * v).sum();
        let expected = char::from(ALPHABET[((31 - sum % 31) % 31) as usize]);
        if chars[17] != expected {
            return Err(UsccError::Check {
                found: chars[17],
                expected,
            });
        }
        Ok(Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Uscc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_valid_codes() {
        for code in ["91350100M000100Y43", "91440300708461136T"] {
            assert_eq!(Uscc::parse(code).unwrap().as_str(), code);
        }
    }

    #[test]
    fn rejects_a_wrong_check_character() {
        assert_eq!(
            Uscc::parse("91350100M000100Y44"),
            Err(UsccError::Check {
                found: '4',
                expected: '3'
            })
        );
    }

    #[test]
    fn rejects_length_and_alphabet() {
        assert_eq!(Uscc::parse("9135"), Err(UsccError::Length(4)));
        assert_eq!(
            Uscc::parse("91350100I000100Y43"),
            Err(UsccError::Character {
                position: 9,
                character: 'I'
            })
        );
        assert!(matches!(
            Uscc::parse("91350100m000100Y43"),
            Err(UsccError::Character { .. })
        ));
    }
}
