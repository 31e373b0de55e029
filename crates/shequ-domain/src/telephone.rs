//! Telephone numbers as a facility's contact states them: the form accepted, and the number as
//! shown to whoever may not read contacts.

/// What is wrong with a trimmed telephone number, if anything: it may hold digits, spaces,
/// hyphens, parentheses and one leading `+`, with 5 to 20 digits (`12345`, `010-6512 3456`,
/// `+86 138 0013 8000`, `(0755) 8888-1234`). Empty is no number.
pub fn problem(text: &str) -> Option<&'static str> {
    if text.is_empty() {
        return None;
    }
    let body = text.strip_prefix('+').unwrap_or(text);
    if !body
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '(' | ')'))
    {
        return Some("may hold only digits, spaces, hyphens, parentheses and a leading `+`");
    }
    let digits = body.chars().filter(char::is_ascii_digit).count();
    if !(5..=20).contains(&digits) {
        return Some("must have 5 to 20 digits");
    }
    None
}

/// A telephone number as shown to whoever may not read contacts: every digit but the last four
/// replaced by `*`, and all of them when there are fewer than 8; the rest of the text kept.
pub fn masked(text: &str) -> String {
    let digits = text.chars().filter(char::is_ascii_digit).count();
    let shown = if digits >= 8 { 4 } else { 0 };
    let mut seen = 0;
    text.chars()
        .map(|c| {
            if !c.is_ascii_digit() {
                return c;
            }
            seen += 1;
            if seen > digits - shown { c } else { '*' }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_in_common_forms_are_accepted() {
        for good in [
            "",
            "12345",
            "010-6512 3456",
            "+86 138 0013 8000",
            "(0755) 8888-1234",
        ] {
            assert_eq!(problem(good), None, "{good}");
        }
        for bad in [
            "1234",
            "010-6512 3456 转 801",
            "86+10",
            "１２３４５",
            &"1".repeat(21),
        ] {
            assert!(problem(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn numbers_are_masked_but_for_the_last_four_digits() {
        assert_eq!(masked("010-6512 3456"), "***-**** 3456");
        assert_eq!(masked("+86 138 0013 8000"), "+** *** **** 8000");
        assert_eq!(masked("12345"), "*****");
        assert_eq!(masked("1234567"), "*******");
        assert_eq!(masked("12345678"), "****5678");
        assert_eq!(masked(""), "");
    }
}
