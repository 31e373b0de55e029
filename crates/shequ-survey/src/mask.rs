//! Masks personal identity numbers in free text before it is stored: Chinese resident identity
//! card numbers (18 characters: 17 digits and a digit or `X`; and the old 15-digit form) and
//! mainland mobile numbers (11 digits starting `13`-`19`, also written `138 1234 5678` or
//! `138-1234-5678`, with or without `+86`/`86` in front). Each masked character becomes `*`.
//!
//! Numbers are matched on the text's compatibility form (NFKC, character by character), so the
//! full-width digits, `Ｘ`, `＋`, `－` and ideographic space that Chinese input methods type count
//! as `0`-`9`, `X`, `+`, `-` and a space; dashes (U+2010 to U+2015, U+2212) count as `-`. Every
//! other character, and every character not masked, is kept exactly as sent.

use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfkc_quick};

/// The mask character.
pub const MASK: char = '*';

/// `text` with every identity number and mobile number replaced by `*` of the same length.
pub fn mask_identity_numbers(text: &str) -> String {
    // Every number masked has at least 11 digits; most free text has far fewer.
    if digit_count(text) < 11 {
        return text.to_owned();
    }
    let sent: Vec<char> = text.chars().collect();
    let chars: Vec<char> = sent.iter().map(|&c| fold(c)).collect();
    let mut masked = vec![false; chars.len()];
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() || (i > 0 && is_digit_or_letter(chars[i - 1])) {
            i += 1;
            continue;
        }
        let run = digit_run(&chars, i);
        let len = match run {
            17 if matches!(chars.get(i + 17), Some('X' | 'x')) && !continues(&chars, i + 18) => 18,
            _ if continues(&chars, i + run) => 0,
            18 | 15 => run,
            11 if is_mobile(&chars[i..i + 11]) => 11,
            13 if chars[i] == '8' && chars[i + 1] == '6' && is_mobile(&chars[i + 2..i + 13]) => 13,
            _ => separated_mobile(&chars, i),
        };
        if len > 0 {
            masked[i..i + len].iter_mut().for_each(|m| *m = true);
            i += len;
        } else {
            i += run.max(1);
        }
    }
    sent.iter()
        .zip(masked)
        .map(|(c, m)| if m { MASK } else { *c })
        .collect()
}

/// The character `c` is matched as: its NFKC form when that is one character (`１` is `1`, `Ｘ`
/// is `X`, the ideographic space is a space), with dashes as `-`; otherwise `c` itself. One
/// character for one keeps every position of the text where it was.
pub fn fold(c: char) -> char {
    if c.is_ascii() {
        return c;
    }
    if matches!(c, '\u{2010}'..='\u{2015}' | '\u{2212}') {
        return '-';
    }
    if is_nfkc_quick(std::iter::once(c)) == IsNormalized::Yes {
        return c;
    }
    let mut nfkc = std::iter::once(c).nfkc();
    match (nfkc.next(), nfkc.next()) {
        (Some(folded), None) => folded,
        _ => c,
    }
}

/// Digits in `text`, full-width and other compatibility forms included.
fn digit_count(text: &str) -> usize {
    // Text already in NFKC (most Chinese text) has no digit but the ASCII ones.
    if is_nfkc_quick(text.chars()) == IsNormalized::Yes {
        text.bytes().filter(u8::is_ascii_digit).count()
    } else {
        text.chars().filter(|&c| fold(c).is_ascii_digit()).count()
    }
}

fn is_digit_or_letter(c: char) -> bool {
    c.is_ascii_alphanumeric()
}

/// Whether the character at `at` would extend a number (so the digits are part of something
/// longer, such as an order number).
fn continues(chars: &[char], at: usize) -> bool {
    chars.get(at).is_some_and(|c| is_digit_or_letter(*c))
}

fn digit_run(chars: &[char], start: usize) -> usize {
    chars[start..]
        .iter()
        .take_while(|c| c.is_ascii_digit())
        .count()
}

fn is_mobile(digits: &[char]) -> bool {
    digits.len() == 11 && digits[0] == '1' && ('3'..='9').contains(&digits[1])
}

/// `138 1234 5678` or `138-1234-5678` starting at `start`: the length masked, or 0.
fn separated_mobile(chars: &[char], start: usize) -> usize {
    let groups = [3, 4, 4];
    let mut at = start;
    let mut digits = Vec::with_capacity(11);
    let mut separator = None;
    for (n, size) in groups.iter().enumerate() {
        if n > 0 {
            let Some(&sep) = chars.get(at).filter(|c| matches!(c, ' ' | '-')) else {
                return 0;
            };
            if *separator.get_or_insert(sep) != sep {
                return 0;
            }
            at += 1;
        }
        if digit_run(chars, at.min(chars.len())) != *size {
            return 0;
        }
        digits.extend_from_slice(&chars[at..at + size]);
        at += size;
    }
    if is_mobile(&digits) && !continues(chars, at) {
        at - start
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_identity_card_numbers() {
        assert_eq!(
            mask_identity_numbers("身份证11010119900307123X，谢谢"),
            "身份证******************，谢谢"
        );
        assert_eq!(
            mask_identity_numbers("id 110101199003071234."),
            "id ******************."
        );
        assert_eq!(
            mask_identity_numbers("老证 110101900307123 号"),
            "老证 *************** 号"
        );
        assert_eq!(
            mask_identity_numbers("11010119900307123x"),
            "******************"
        );
    }

    #[test]
    fn masks_mobile_numbers() {
        assert_eq!(mask_identity_numbers("电话13812345678"), "电话***********");
        assert_eq!(
            mask_identity_numbers("call 138-1234-5678 or 159 8765 4321"),
            "call ************* or *************"
        );
        assert_eq!(mask_identity_numbers("+8613812345678"), "+*************");
    }

    /// Mobile numbers as residents type them: in groups, with a country code, and in the
    /// full-width forms of Chinese input methods (digits, `＋`, `－`, the ideographic space).
    #[test]
    fn masks_mobile_numbers_as_people_type_them() {
        for (text, masked) in [
            ("138 1234 5678", "*************"),
            ("138-1234-5678", "*************"),
            ("+86 138 1234 5678", "+86 *************"),
            ("+86 13812345678", "+86 ***********"),
            ("+86-138-1234-5678", "+86-*************"),
            ("(+86)13812345678", "(+86)***********"),
            ("8613812345678", "*************"),
            ("电话１３８１２３４５６７８", "电话***********"),
            (
                "电话：１３８　１２３４　５６７８。",
                "电话：*************。",
            ),
            ("１３８－１２３４－５６７８", "*************"),
            ("１３８ １２３４ ５６７８", "*************"),
            ("＋８６１３８１２３４５６７８", "＋*************"),
            ("＋８６　１３８１２３４５６７８", "＋８６　***********"),
            ("138１２３４5678", "***********"),
            (
                "联系人王女士１３９１２３４５６７８谢谢",
                "联系人王女士***********谢谢",
            ),
        ] {
            assert_eq!(mask_identity_numbers(text), masked, "{text}");
        }
    }

    /// An 18-character number ending in the check character X, however it is typed.
    #[test]
    fn masks_identity_card_numbers_ending_in_any_x() {
        for text in [
            "11010119900307123X",
            "11010119900307123x",
            "11010119900307123Ｘ",
            "11010119900307123ｘ",
            "１１０１０１１９９００３０７１２３Ｘ",
            "１１０１０１１９９００３０７１２３４",
            "１１０１０１９００３０７１２３",
        ] {
            let masked = mask_identity_numbers(&format!("身份证{text}。"));
            let stars = MASK.to_string().repeat(text.chars().count());
            assert_eq!(masked, format!("身份证{stars}。"), "{text}");
        }
    }

    /// What is not an identity or mobile number stays as typed, full-width or not.
    #[test]
    fn leaves_other_numbers_alone_in_full_width_too() {
        for text in [
            "订单号１２３４５６７８９０１", // 11 digits, not a mobile prefix
            "２１２３４５６７８９０",       // starts with 2
            "１３８１２３４５６７",         // 10 digits
            "订单１３８１２３４５６７８９", // 12 digits
            "１１０１０１１９９００３０７１２３４５", // 19 digits
            "Ａ１３８１２３４５６７８",     // glued to a letter
            "１３８１２３４５６７８Ｂ",
            "１３８－１２３４　５６７８", // mixed separators
            "11010119900307123Ｙ",
            "开放８小时，面积５００平方米，电话分机１２３",
        ] {
            assert_eq!(mask_identity_numbers(text), text, "{text}");
        }
    }

    #[test]
    fn leaves_other_numbers_alone() {
        for text in [
            "12345678901",         // 11 digits but not a mobile prefix
            "21234567890",         // starts with 2
            "1381234567",          // 10 digits
            "138123456789",        // 12 digits
            "1101011990030712345", // 19 digits
            "A13812345678",        // glued to a letter
            "13812345678B",
            "138-1234 5678", // mixed separators
            "开放8小时，面积500平方米",
            "",
        ] {
            assert_eq!(mask_identity_numbers(text), text, "{text}");
        }
    }
}
