//! The rules a response meets before it is stored: its id, channel, collection time, answers
//! (against the round's questionnaire version) and leaf unit (inside the round's region), then
//! free text masked, and the hash that tells a retry from another body under the same id.

use std::sync::Arc;

use sha2::{Digest, Sha256};
use shequ_domain::Violations;

use super::Channel;
use crate::error::{Result, SurveyError};
use crate::mask::mask_identity_numbers;
use crate::model::{AnswerValue, Answers, QuestionDef, is_response_id, satisfaction_score};
use crate::names::parse_division_name;
use crate::region::Ancestors;
use crate::service::{RoundContext, Survey};
use crate::store::responses::NewResponse;

/// A response as a client sent it, before any check: what the service reads of it, whatever
/// its wire form (`grpc/convert.rs` reads the protobuf message in place, copying nothing).
pub trait Submission {
    /// The client's id of the response, as sent.
    fn response_id(&self) -> &str;
    /// The leaf unit's resource name, as sent.
    fn leaf_unit(&self) -> &str;
    /// `None` when unset or not a channel.
    fn channel(&self) -> Option<Channel>;
    /// Microseconds since the epoch; `None` when unset or out of range.
    fn collect_time(&self) -> Option<i64>;
    /// The answers, checked against the round's `questions`; fields as `answers[i].…`, and a
    /// missing required answer as `answers`.
    fn answers(&self, questions: &[QuestionDef]) -> Result<Answers, Violations>;
}

/// A response that passed every rule, ready to store.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The row to store.
    pub row: NewResponse,
    pub ancestors: Ancestors,
    /// The tally slots the answers add to.
    pub hits: Vec<(u16, f64)>,
}

impl Survey {
    /// Checks one response against its round; fields are relative to the response. A leaf unit
    /// whose place cannot be learnt from the registry is a dependency failure of the registry.
    pub async fn prepare(&self, ctx: &Arc<RoundContext>, r: &impl Submission) -> Result<Prepared> {
        let mut v = Violations::new();
        if !is_response_id(r.response_id()) {
            v.push(
                "response_id",
                "must be 1 to 64 of `A-Z`, `a-z`, `0-9`, `-`, `_`",
            );
        }
        let channel = r.channel().map(Channel::as_str);
        if channel.is_none() {
            v.push("channel", "must be online, paper, phone or kiosk");
        }
        let collect_time = r.collect_time();
        match collect_time {
            None => v.push("collect_time", "is required"),
            Some(t) if t < ctx.start_time || t >= ctx.end_time => v.push(
                "collect_time",
                "must lie inside the round's collection window",
            ),
            Some(_) => {}
        }
        let answers = match r.answers(&ctx.questions) {
            Ok(a) => a,
            Err(e) => {
                v.extend(e);
                Vec::new()
            }
        };
        let mut ancestors = None;
        let unit = match parse_division_name("leaf_unit", r.leaf_unit()) {
            Ok(unit) => {
                match self.locate_unit(ctx, unit).await? {
                    Ok(a) => ancestors = Some(a),
                    Err(description) => v.push("leaf_unit", description),
                }
                Some(unit)
            }
            Err(e) => {
                v.push(e.field, e.description);
                None
            }
        };
        let (Some(unit), Some(ancestors), Some(channel), Some(collect_time), true) =
            (unit, ancestors, channel, collect_time, v.is_empty())
        else {
            return Err(SurveyError::Invalid(v));
        };
        let to_json = |a: &Answers| {
            serde_json::to_string(a).map_err(|e| SurveyError::Internal(e.to_string()))
        };
        let sent = to_json(&answers)?;
        let hash = body_hash(unit.as_i64(), channel, collect_time, &sent);
        let score = satisfaction_score(&ctx.questions, &answers);
        let hits = ctx.layout.hits(&ctx.questions, &answers);
        let mut masked = false;
        let answers: Answers = answers
            .into_iter()
            .map(|(q, value)| match value {
                AnswerValue::Text(t) => {
                    let m = mask_identity_numbers(&t);
                    masked |= m != t;
                    (q, AnswerValue::Text(m))
                }
                other => (q, other),
            })
            .collect();
        let answers = if masked { to_json(&answers)? } else { sent };
        Ok(Prepared {
            row: NewResponse {
                response_id: r.response_id().to_owned(),
                leaf_code: unit.as_i64(),
                channel,
                collect_time,
                answers,
                hash,
                score,
            },
            ancestors,
            hits,
        })
    }
}

/// The hash that tells a retry from another body under the same id: SHA-256, in hexadecimal, of
/// the JSON array `[leaf code, channel, collect time, answers]` with the answers as sent (before
/// masking). Built from the answers' JSON, which is also what is stored when masking changes
/// nothing.
fn body_hash(leaf: i64, channel: &str, collect_time: i64, answers_json: &str) -> String {
    let mut h = Sha256::new();
    h.update(format!("[{leaf},\"{channel}\",{collect_time},").as_bytes());
    h.update(answers_json.as_bytes());
    h.update(b"]");
    hex(&h.finalize())
}

/// Lower-case hexadecimal of `bytes`.
fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hash is computed from the answers' JSON; it must stay the hash of the whole body
    /// serialized at once, as stored by earlier versions, or a retry across an upgrade would be
    /// refused as a conflict.
    #[test]
    fn the_body_hash_is_the_hash_of_the_serialized_body() {
        let answers: Answers = vec![
            ("s0".into(), AnswerValue::Rating(5)),
            ("choice".into(), AnswerValue::Option("phone".into())),
            (
                "many".into(),
                AnswerValue::Options(vec!["a".into(), "b".into()]),
            ),
            ("yes".into(), AnswerValue::Yes(false)),
            ("n".into(), AnswerValue::Number(-2.5)),
            (
                "comment".into(),
                AnswerValue::Text("引号\"、反斜杠\\ 和换行\n".into()),
            ),
        ];
        for (leaf, channel, time) in [
            (110_101_001_001_i64, "online", 1_735_689_600_000_000_i64),
            (650_000_000_000, "kiosk", -1),
        ] {
            let whole = serde_json::to_vec(&(leaf, channel, time, &answers)).unwrap();
            let json = serde_json::to_string(&answers).unwrap();
            assert_eq!(
                body_hash(leaf, channel, time, &json),
                hex(&Sha256::digest(&whole))
            );
        }
    }
}
