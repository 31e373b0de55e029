//! Tallies as numbers: where each answer of a questionnaire version is counted (`Layout`), what
//! one response adds to the tallies (`Entry`), and what a division's responses add up to
//! (`Tally`, and a leaf unit's `LeafTally`). No I/O.

use std::collections::HashMap;

use crate::model::{AnswerValue, Answers, QuestionDef, QuestionKind};
use crate::region::Ancestors;

/// `level` of the row that tallies the whole round.
pub const ROUND_LEVEL: i64 = 0;

/// Where each answer of a round's questionnaire is counted in a tally's slots.
#[derive(Debug)]
pub struct Layout {
    /// First slot of each question, in questionnaire order, and the slot count after the last.
    bases: Vec<usize>,
    index: HashMap<String, usize>,
    len: usize,
    /// Slots that hold a sum of values (stored as 8-byte floats); every other slot is a count
    /// (stored as a 4-byte integer).
    sums: Vec<bool>,
}

impl Layout {
    /// Satisfaction: ratings 1 to 5; yes/no: yes, no; single choice: its options; multiple
    /// choice: answered, then its options; number: answered, value sum; free text: answered.
    pub fn new(questions: &[QuestionDef]) -> Self {
        let mut bases = Vec::with_capacity(questions.len() + 1);
        let mut index = HashMap::with_capacity(questions.len());
        let mut len = 0;
        let mut sums = Vec::new();
        for (i, q) in questions.iter().enumerate() {
            bases.push(len);
            index.insert(q.id.clone(), i);
            len += match q.kind {
                QuestionKind::Satisfaction => 5,
                QuestionKind::YesNo | QuestionKind::Number => 2,
                QuestionKind::SingleChoice => q.options.len(),
                QuestionKind::MultipleChoice => 1 + q.options.len(),
                QuestionKind::FreeText => 1,
            };
            sums.resize(len, false);
            if q.kind == QuestionKind::Number {
                sums[len - 1] = true;
            }
        }
        bases.push(len);
        Self {
            bases,
            index,
            len,
            sums,
        }
    }

    /// The stored form of a tally's slots: counts as 4-byte and sums as 8-byte little-endian.
    pub fn pack(&self, slots: &[f64]) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.len * 4 + 8);
        for (i, v) in slots.iter().enumerate().take(self.len) {
            if self.sums[i] {
                out.extend_from_slice(&v.to_le_bytes());
            } else {
                out.extend_from_slice(&(v.round() as i32).to_le_bytes());
            }
        }
        out
    }

    /// The slots of a stored tally; a shorter blob leaves the remaining slots 0.
    pub fn unpack(&self, blob: &[u8]) -> Vec<f64> {
        let mut out = vec![0.0; self.len];
        let mut rest = blob;
        for (i, slot) in out.iter_mut().enumerate() {
            let width = if self.sums[i] { 8 } else { 4 };
            let Some((head, tail)) = rest.split_at_checked(width) else {
                break;
            };
            *slot = if self.sums[i] {
                f64::from_le_bytes(head.try_into().expect("8 bytes"))
            } else {
                f64::from(i32::from_le_bytes(head.try_into().expect("4 bytes")))
            };
            rest = tail;
        }
        out
    }

    /// Slots a tally of this questionnaire holds.
    pub fn slot_count(&self) -> usize {
        self.len
    }

    /// The slots of question `i`.
    pub fn slots<'a>(&self, i: usize, slots: &'a [f64]) -> &'a [f64] {
        slots.get(self.bases[i]..self.bases[i + 1]).unwrap_or(&[])
    }

    /// The `(slot, amount)` pairs one response's answers add.
    pub fn hits(&self, questions: &[QuestionDef], answers: &Answers) -> Vec<(u16, f64)> {
        let mut out = Vec::with_capacity(answers.len() + 2);
        for (id, value) in answers {
            let Some(&i) = self.index.get(id) else {
                continue;
            };
            let q = &questions[i];
            let base = self.bases[i];
            let option = |o: &str| q.options.iter().position(|d| d.id == o);
            match value {
                AnswerValue::Rating(r) if (1..=5).contains(r) => {
                    out.push(((base + usize::from(*r) - 1) as u16, 1.0));
                }
                AnswerValue::Yes(y) => out.push(((base + usize::from(!*y)) as u16, 1.0)),
                AnswerValue::Option(o) => {
                    if let Some(p) = option(o) {
                        out.push(((base + p) as u16, 1.0));
                    }
                }
                AnswerValue::Options(os) => {
                    out.push((base as u16, 1.0));
                    for o in os {
                        if let Some(p) = option(o) {
                            out.push(((base + 1 + p) as u16, 1.0));
                        }
                    }
                }
                AnswerValue::Number(n) => {
                    out.push((base as u16, 1.0));
                    out.push(((base + 1) as u16, *n));
                }
                AnswerValue::Text(_) => out.push((base as u16, 1.0)),
                AnswerValue::Rating(_) => {}
            }
        }
        out
    }
}

/// One response's contribution to the tallies, added (`sign` 1) or taken away (`sign` -1).
#[derive(Debug, Clone)]
pub struct Entry {
    pub leaf: i64,
    pub ancestors: Ancestors,
    pub sign: i8,
    pub score: Option<f64>,
    pub hits: Vec<(u16, f64)>,
}

/// What a round's responses add up to for one division.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tally {
    pub valid: i64,
    pub scored: i64,
    pub score_sum: f64,
    /// Leaf units at or below the division with at least the round's minimum of valid responses.
    pub covered: i64,
    pub slots: Vec<f64>,
}

impl Tally {
    /// Adds (or takes away) one response's entry, for a tally of `len` slots.
    pub(crate) fn add_entry(&mut self, e: &Entry, len: usize) {
        let sign = f64::from(e.sign);
        self.valid += i64::from(e.sign);
        if let Some(s) = e.score {
            self.scored += i64::from(e.sign);
            self.score_sum += sign * s;
        }
        if self.slots.len() < len {
            self.slots.resize(len, 0.0);
        }
        for (slot, amount) in &e.hits {
            if let Some(v) = self.slots.get_mut(usize::from(*slot)) {
                *v += sign * amount;
            }
        }
    }

    /// Adds another tally of the same division.
    pub(crate) fn add(&mut self, other: &Tally) {
        self.valid += other.valid;
        self.scored += other.scored;
        self.score_sum += other.score_sum;
        self.covered += other.covered;
        if self.slots.len() < other.slots.len() {
            self.slots.resize(other.slots.len(), 0.0);
        }
        for (a, b) in self.slots.iter_mut().zip(&other.slots) {
            *a += b;
        }
    }
}

/// A leaf unit's tally, without its answer counts.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LeafTally {
    pub valid: i64,
    pub scored: i64,
    pub score_sum: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_slots_round_trip() {
        let q = |id: &str, kind| QuestionDef {
            id: id.into(),
            text: id.into(),
            kind,
            required: false,
            counts_towards_satisfaction: false,
            dimension: None,
            options: Vec::new(),
            min_value: 0.0,
            max_value: 100.0,
        };
        let layout = Layout::new(&[
            q("s", QuestionKind::Satisfaction),
            q("n", QuestionKind::Number),
            q("t", QuestionKind::FreeText),
        ]);
        assert_eq!(layout.slot_count(), 8);
        let slots = vec![0.0, 3.0, -1.0, 7.0, 2e9, 4.0, 12.75, 5.0];
        let blob = layout.pack(&slots);
        // Seven counts of 4 bytes and one sum of 8.
        assert_eq!(blob.len(), 7 * 4 + 8);
        assert_eq!(layout.unpack(&blob), slots);
        let mut short = slots[..5].to_vec();
        short.resize(8, 0.0);
        assert_eq!(layout.unpack(&blob[..20]), short);
    }
}
