//! Quoting what a caller sent back to them: a short excerpt, never the whole text, so an error
//! about a megabyte-long name stays a few dozen bytes.

use std::fmt;

/// How many characters of the caller's text a message quotes.
pub const EXCERPT_CHARS: usize = 48;

/// The text as a message quotes it: at most [`EXCERPT_CHARS`] characters, cut with `…` and the
/// text's length in bytes when longer, control characters escaped (`\u{0}`).
pub fn excerpt(text: &str) -> Excerpt<'_> {
    Excerpt(text)
}

/// See [`excerpt`].
#[derive(Debug, Clone, Copy)]
pub struct Excerpt<'a>(&'a str);

impl fmt::Display for Excerpt<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, c) in self.0.chars().enumerate() {
            if i == EXCERPT_CHARS {
                return write!(f, "… ({} bytes)", self.0.len());
            }
            if c.is_control() {
                write!(f, "{}", c.escape_unicode())?;
            } else {
                write!(f, "{c}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_is_quoted_whole() {
        assert_eq!(excerpt("divisions/11").to_string(), "divisions/11");
        assert_eq!(excerpt("").to_string(), "");
        let exact = "区".repeat(EXCERPT_CHARS);
        assert_eq!(excerpt(&exact).to_string(), exact);
    }

    #[test]
    fn long_text_is_cut_on_a_character_boundary() {
        let long = format!("facilities/{}", "路".repeat(1 << 20));
        let quoted = excerpt(&long).to_string();
        assert!(quoted.starts_with("facilities/路路"), "{quoted}");
        assert!(
            quoted.ends_with(&format!("… ({} bytes)", long.len())),
            "{quoted}"
        );
        assert_eq!(
            quoted.chars().filter(|c| *c == '路').count(),
            EXCERPT_CHARS - 11
        );
        assert!(quoted.len() < 200);
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(excerpt("a\0b\u{85}").to_string(), "a\\u{0}b\\u{85}");
    }
}
