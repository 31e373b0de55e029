//! Trimmed text: the one rule for the names, titles, labels and addresses clients write.
//!
//! Leading and trailing white space (Unicode `White_Space`, so also the ideographic space U+3000
//! that Chinese input methods type and the no-break space) is removed before the value is checked
//! and stored, and what is stored is what every response returns. A value that holds only white
//! space is refused, required or not: an optional field is left empty by sending nothing. A
//! required field must not be empty, and limits count the characters left after trimming.

use crate::violation::Violations;

/// How one text field is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextRule {
    pub required: bool,
    /// Most characters after trimming; `None`: no limit.
    pub max_chars: Option<usize>,
}

impl TextRule {
    pub const fn required(max_chars: usize) -> Self {
        Self {
            required: true,
            max_chars: Some(max_chars),
        }
    }

    pub const fn optional(max_chars: usize) -> Self {
        Self {
            required: false,
            max_chars: Some(max_chars),
        }
    }

    /// Required, without a length limit.
    pub const fn required_unbounded() -> Self {
        Self {
            required: true,
            max_chars: None,
        }
    }

    /// Checks `raw` as sent, reporting at most one violation on `field`; true when it is valid.
    pub fn check(&self, v: &mut Violations, field: impl Into<String>, raw: &str) -> bool {
        let text = trim(raw);
        let problem = if text.is_empty() && !raw.is_empty() {
            Some("must not be only white space".to_owned())
        } else if text.is_empty() && self.required {
            Some("must not be empty".to_owned())
        } else {
            self.max_chars
                .filter(|max| text.chars().count() > *max)
                .map(|max| format!("must be at most {max} characters"))
        };
        match problem {
            Some(description) => {
                v.push(field, description);
                false
            }
            None => true,
        }
    }

    /// Checks `raw` as [`TextRule::check`] does and returns it trimmed, the value to store.
    pub fn apply(&self, v: &mut Violations, field: impl Into<String>, raw: &str) -> String {
        self.check(v, field, raw);
        trim(raw).to_owned()
    }
}

/// `raw` without leading and trailing white space.
pub fn trim(raw: &str) -> &str {
    raw.trim()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(rule: TextRule, raw: &str) -> Vec<String> {
        let mut v = Violations::new();
        rule.check(&mut v, "f", raw);
        v.iter().map(|x| x.description.clone()).collect()
    }

    #[test]
    fn white_space_is_trimmed_on_both_ends_including_the_ideographic_space() {
        let mut v = Violations::new();
        let rule = TextRule::optional(10);
        assert_eq!(rule.apply(&mut v, "f", "\u{3000} 东四 \t\n"), "东四");
        assert_eq!(
            rule.apply(&mut v, "f", "\u{a0}多福巷 1 号\u{a0}"),
            "多福巷 1 号"
        );
        assert!(v.is_empty());
    }

    #[test]
    fn only_white_space_is_refused_required_or_not() {
        for rule in [TextRule::optional(10), TextRule::required(10)] {
            for raw in [" ", "\u{3000}", " \t\r\n "] {
                assert_eq!(
                    problems(rule, raw),
                    ["must not be only white space"],
                    "{raw:?}"
                );
            }
        }
    }

    #[test]
    fn empty_is_refused_only_when_required() {
        assert!(problems(TextRule::optional(10), "").is_empty());
        assert_eq!(problems(TextRule::required(10), ""), ["must not be empty"]);
        assert_eq!(
            problems(TextRule::required_unbounded(), ""),
            ["must not be empty"]
        );
    }

    #[test]
    fn limits_count_characters_after_trimming() {
        let rule = TextRule::required(3);
        assert!(problems(rule, "  社区站  ").is_empty());
        assert_eq!(problems(rule, "社区站点"), ["must be at most 3 characters"]);
        assert!(problems(TextRule::required_unbounded(), &"长".repeat(10_000)).is_empty());
    }
}
