//! Plain-text tables for terminals: columns as wide as their widest cell (CJK characters count
//! twice), and thousands separators.

/// `1234567` → `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// How a column's cells line up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

/// Columns as wide as they need to be, with a rule under the headers and another above row
/// `rule_before` (the total row, when there is one).
pub fn table(columns: &[(&str, Align)], rows: &[Vec<String>], rule_before: usize) -> String {
    let mut widths: Vec<usize> = columns.iter().map(|(h, _)| display_width(h)).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(display_width(cell));
        }
    }
    let render = |cells: &mut dyn Iterator<Item = &str>| {
        let mut line = String::new();
        for (i, (cell, (&w, (_, align)))) in cells.zip(widths.iter().zip(columns)).enumerate() {
            if i > 0 {
                line.push_str("  ");
            }
            let pad = " ".repeat(w.saturating_sub(display_width(cell)));
            match align {
                Align::Left => {
                    line.push_str(cell);
                    line.push_str(&pad);
                }
                Align::Right => {
                    line.push_str(&pad);
                    line.push_str(cell);
                }
            }
        }
        line.truncate(line.trim_end().len());
        line.push('\n');
        line
    };
    let rule = {
        let total: usize = widths.iter().sum::<usize>() + 2 * widths.len().saturating_sub(1);
        format!("{}\n", "-".repeat(total))
    };
    let mut out = render(&mut columns.iter().map(|(h, _)| *h));
    out.push_str(&rule);
    for (i, row) in rows.iter().enumerate() {
        if i == rule_before {
            out.push_str(&rule);
        }
        out.push_str(&render(&mut row.iter().map(String::as_str)));
    }
    out
}

/// Terminal columns a string takes: CJK and full-width characters take two.
pub fn display_width(s: &str) -> usize {
    s.chars()
        .map(|c| match c {
            '\u{1100}'..='\u{115F}'
            | '\u{2E80}'..='\u{A4CF}'
            | '\u{AC00}'..='\u{D7A3}'
            | '\u{F900}'..='\u{FAFF}'
            | '\u{FE30}'..='\u{FE4F}'
            | '\u{FF00}'..='\u{FF60}'
            | '\u{FFE0}'..='\u{FFE6}' => 2,
            _ => 1,
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_chinese_names() {
        let rows = vec![
            vec!["石家庄市".to_owned(), "1,234".to_owned()],
            vec!["130200000000".to_owned(), "5".to_owned()],
            vec!["河北省 total".to_owned(), "1,239".to_owned()],
        ];
        let text = table(
            &[("prefecture", Align::Left), ("units", Align::Right)],
            &rows,
            2,
        );
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("prefecture"));
        assert!(lines[1].starts_with("-----"));
        assert!(lines[2].starts_with("石家庄市"));
        assert!(lines[3].starts_with("130200000000"));
        assert_eq!(lines[4], lines[1], "a rule sets the total apart");
        assert!(lines[5].starts_with("河北省 total"));
        // Right-aligned columns end at the same terminal column.
        let widths: Vec<usize> = [lines[0], lines[2], lines[5]]
            .iter()
            .map(|l| display_width(l))
            .collect();
        assert_eq!(widths[0], widths[1]);
        assert_eq!(widths[1], widths[2]);
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(999), "999");
    }
}
