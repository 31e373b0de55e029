//! Questions and answers between the wire and the model: a questionnaire's questions checked as
//! they are read (every bad one named as `questions[i].…`), and a response's answers checked
//! against the questions they answer.

use std::collections::HashSet;

use shequ_domain::{TextRule, Violations, excerpt};
use shequ_proto::common::v1 as common;
use shequ_proto::convert::{service_from_pb, service_to_pb};
use shequ_proto::survey::v1 as pb;

use crate::model::{
    AnswerValue, Answers, MAX_LABEL_CHARS, MAX_OPTIONS, MAX_QUESTIONS, MAX_TEXT_CHARS, OptionDef,
    QuestionDef, QuestionKind, is_token,
};

fn kind_from_pb(value: i32) -> Option<QuestionKind> {
    match pb::QuestionType::try_from(value).ok()? {
        pb::QuestionType::Unspecified => None,
        pb::QuestionType::Satisfaction => Some(QuestionKind::Satisfaction),
        pb::QuestionType::SingleChoice => Some(QuestionKind::SingleChoice),
        pb::QuestionType::MultipleChoice => Some(QuestionKind::MultipleChoice),
        pb::QuestionType::YesNo => Some(QuestionKind::YesNo),
        pb::QuestionType::Number => Some(QuestionKind::Number),
        pb::QuestionType::FreeText => Some(QuestionKind::FreeText),
    }
}

fn kind_to_pb(kind: QuestionKind) -> pb::QuestionType {
    match kind {
        QuestionKind::Satisfaction => pb::QuestionType::Satisfaction,
        QuestionKind::SingleChoice => pb::QuestionType::SingleChoice,
        QuestionKind::MultipleChoice => pb::QuestionType::MultipleChoice,
        QuestionKind::YesNo => pb::QuestionType::YesNo,
        QuestionKind::Number => pb::QuestionType::Number,
        QuestionKind::FreeText => pb::QuestionType::FreeText,
    }
}

/// A question's or an option's text: trimmed text, required.
fn label(v: &mut Violations, field: String, text: &str) -> String {
    TextRule::required(MAX_LABEL_CHARS).apply(v, field, text)
}

/// Checks questions from the wire; fields are reported as `questions[i].…`.
pub fn questions_from_pb(questions: &[pb::Question]) -> Result<Vec<QuestionDef>, Violations> {
    let mut v = Violations::new();
    if questions.len() > MAX_QUESTIONS {
        v.push(
            "questions",
            format!("must hold at most {MAX_QUESTIONS} questions"),
        );
    }
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(questions.len());
    for (i, q) in questions.iter().enumerate() {
        let at = |f: &str| format!("questions[{i}].{f}");
        if !is_token(&q.id) {
            v.push(at("id"), "must be 1 to 32 of `a-z`, `0-9`, `_`");
        } else if !seen.insert(q.id.as_str()) {
            v.push(
                at("id"),
                format!("`{}` is used by an earlier question", q.id),
            );
        }
        let text = label(&mut v, at("text"), &q.text);
        let kind = kind_from_pb(q.r#type);
        if kind.is_none() {
            v.push(at("type"), "must be a question type");
        }
        let dimension = match common::ServiceKind::try_from(q.dimension) {
            Ok(d) => service_from_pb(d),
            Err(_) => {
                v.push(at("dimension"), "is not a service in the catalogue");
                None
            }
        };
        let choice = matches!(
            kind,
            Some(QuestionKind::SingleChoice | QuestionKind::MultipleChoice)
        );
        if q.counts_towards_satisfaction && kind.is_some_and(|k| k != QuestionKind::Satisfaction) {
            v.push(
                at("counts_towards_satisfaction"),
                "only satisfaction questions count towards satisfaction",
            );
        }
        let mut options = Vec::new();
        if choice {
            if q.options.len() < 2 || q.options.len() > MAX_OPTIONS {
                v.push(
                    at("options"),
                    format!("a choice question needs 2 to {MAX_OPTIONS} options"),
                );
            }
            let mut ids = HashSet::new();
            for (j, o) in q.options.iter().enumerate() {
                if !is_token(&o.id) {
                    v.push(
                        at(&format!("options[{j}].id")),
                        "must be 1 to 32 of `a-z`, `0-9`, `_`",
                    );
                } else if !ids.insert(o.id.as_str()) {
                    v.push(
                        at(&format!("options[{j}].id")),
                        format!("`{}` is used by an earlier option", o.id),
                    );
                }
                options.push(OptionDef {
                    id: o.id.clone(),
                    text: label(&mut v, at(&format!("options[{j}].text")), &o.text),
                });
            }
        } else if !q.options.is_empty() && kind.is_some() {
            v.push(at("options"), "only choice questions have options");
        }
        if kind == Some(QuestionKind::Number) {
            if !q.min_value.is_finite() || !q.max_value.is_finite() {
                v.push(at("min_value"), "bounds must be finite numbers");
            } else if q.min_value > q.max_value {
                v.push(at("max_value"), "must not be less than `min_value`");
            }
        } else if (q.min_value != 0.0 || q.max_value != 0.0) && kind.is_some() {
            v.push(at("min_value"), "only number questions have bounds");
        }
        if let Some(kind) = kind {
            out.push(QuestionDef {
                id: q.id.clone(),
                text,
                kind,
                required: q.required,
                counts_towards_satisfaction: q.counts_towards_satisfaction,
                dimension: dimension.map(|d| d.as_str().to_owned()),
                options,
                min_value: q.min_value,
                max_value: q.max_value,
            });
        }
    }
    v.into_result(out)
}

pub fn questions_to_pb(questions: &[QuestionDef]) -> Vec<pb::Question> {
    questions
        .iter()
        .map(|q| pb::Question {
            id: q.id.clone(),
            text: q.text.clone(),
            r#type: kind_to_pb(q.kind) as i32,
            required: q.required,
            counts_towards_satisfaction: q.counts_towards_satisfaction,
            dimension: q.dimension().map(service_to_pb).unwrap_or_default() as i32,
            options: q
                .options
                .iter()
                .map(|o| pb::QuestionOption {
                    id: o.id.clone(),
                    text: o.text.clone(),
                })
                .collect(),
            min_value: q.min_value,
            max_value: q.max_value,
        })
        .collect()
}

/// Checks answers against a questionnaire version; fields are reported as `answers[i].…`, and a
/// missing required answer as `answers`.
pub fn answers_from_pb(
    questions: &[QuestionDef],
    answers: &[pb::Answer],
) -> Result<Answers, Violations> {
    use pb::answer::Value;
    let mut v = Violations::new();
    let mut seen = vec![false; questions.len()];
    let mut out = Vec::with_capacity(answers.len());
    for (i, a) in answers.iter().enumerate() {
        let at = |f: &str| format!("answers[{i}].{f}");
        // Answers mostly come in the questionnaire's order; otherwise a scan of at most
        // `MAX_QUESTIONS` finds the question without building a map for every response.
        let found = questions
            .get(i)
            .filter(|q| q.id == a.question_id)
            .map(|_| i)
            .or_else(|| questions.iter().position(|q| q.id == a.question_id));
        let Some(at_question) = found else {
            v.push(
                at("question_id"),
                format!(
                    "`{}` is not a question of this questionnaire",
                    excerpt(&a.question_id)
                ),
            );
            continue;
        };
        let question = &questions[at_question];
        if std::mem::replace(&mut seen[at_question], true) {
            v.push(
                at("question_id"),
                format!("`{}` is answered more than once", excerpt(&a.question_id)),
            );
            continue;
        }
        let value = match (question.kind, &a.value) {
            (_, None) => {
                v.push(at("value"), "must hold an answer");
                continue;
            }
            (QuestionKind::Satisfaction, Some(Value::Rating(r))) => {
                if !(1..=5).contains(r) {
                    v.push(at("rating"), "must be 1 to 5");
                    continue;
                }
                AnswerValue::Rating(*r as u8)
            }
            (QuestionKind::SingleChoice, Some(Value::OptionId(id))) => {
                if !question.options.iter().any(|o| &o.id == id) {
                    v.push(
                        at("option_id"),
                        format!("`{}` is not an option of `{}`", excerpt(id), question.id),
                    );
                    continue;
                }
                AnswerValue::Option(id.clone())
            }
            (QuestionKind::MultipleChoice, Some(Value::OptionIds(ids))) => {
                let mut chosen = HashSet::new();
                let mut ok = !ids.ids.is_empty();
                if ids.ids.is_empty() {
                    v.push(at("option_ids"), "must choose at least one option");
                }
                for (j, id) in ids.ids.iter().enumerate() {
                    if !question.options.iter().any(|o| &o.id == id) {
                        v.push(
                            at(&format!("option_ids.ids[{j}]")),
                            format!("`{}` is not an option of `{}`", excerpt(id), question.id),
                        );
                        ok = false;
                    } else if !chosen.insert(id.as_str()) {
                        v.push(
                            at(&format!("option_ids.ids[{j}]")),
                            format!("`{}` is chosen more than once", excerpt(id)),
                        );
                        ok = false;
                    }
                }
                if !ok {
                    continue;
                }
                AnswerValue::Options(ids.ids.clone())
            }
            (QuestionKind::YesNo, Some(Value::Yes(yes))) => AnswerValue::Yes(*yes),
            (QuestionKind::Number, Some(Value::Number(n))) => {
                if !n.is_finite() || *n < question.min_value || *n > question.max_value {
                    v.push(
                        at("number"),
                        format!(
                            "must be between {} and {}",
                            question.min_value, question.max_value
                        ),
                    );
                    continue;
                }
                AnswerValue::Number(*n)
            }
            (QuestionKind::FreeText, Some(Value::Text(text))) => {
                if text.chars().count() > MAX_TEXT_CHARS {
                    v.push(
                        at("text"),
                        format!("must be at most {MAX_TEXT_CHARS} characters"),
                    );
                    continue;
                }
                AnswerValue::Text(text.clone())
            }
            (kind, Some(_)) => {
                v.push(
                    at("value"),
                    format!("`{}` is a {} question", question.id, kind_name(kind)),
                );
                continue;
            }
        };
        out.push((a.question_id.clone(), value));
    }
    for (q, seen) in questions.iter().zip(seen) {
        if q.required && !seen {
            v.push("answers", format!("question `{}` is required", q.id));
        }
    }
    v.into_result(out)
}

fn kind_name(kind: QuestionKind) -> &'static str {
    match kind {
        QuestionKind::Satisfaction => "satisfaction (`rating`)",
        QuestionKind::SingleChoice => "single-choice (`option_id`)",
        QuestionKind::MultipleChoice => "multiple-choice (`option_ids`)",
        QuestionKind::YesNo => "yes/no (`yes`)",
        QuestionKind::Number => "number (`number`)",
        QuestionKind::FreeText => "free-text (`text`)",
    }
}

pub fn answers_to_pb(answers: &Answers) -> Vec<pb::Answer> {
    use pb::answer::Value;
    answers
        .iter()
        .map(|(id, value)| pb::Answer {
            question_id: id.clone(),
            value: Some(match value {
                AnswerValue::Rating(r) => Value::Rating(i32::from(*r)),
                AnswerValue::Option(o) => Value::OptionId(o.clone()),
                AnswerValue::Options(o) => Value::OptionIds(pb::OptionIds { ids: o.clone() }),
                AnswerValue::Yes(y) => Value::Yes(*y),
                AnswerValue::Number(n) => Value::Number(*n),
                AnswerValue::Text(t) => Value::Text(t.clone()),
            }),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{is_response_id, satisfaction_score};

    fn question(id: &str, kind: pb::QuestionType) -> pb::Question {
        pb::Question {
            id: id.into(),
            text: "问题".into(),
            r#type: kind as i32,
            ..Default::default()
        }
    }

    #[test]
    fn tokens() {
        assert!(is_token("q_1"));
        assert!(!is_token(""));
        assert!(!is_token("Q1"));
        assert!(!is_token(&"a".repeat(33)));
        assert!(is_response_id("0190a-B_c"));
        assert!(!is_response_id("a/b"));
    }

    #[test]
    fn score_uses_only_counting_satisfaction_questions() {
        let mut a = question("a", pb::QuestionType::Satisfaction);
        a.counts_towards_satisfaction = true;
        let b = question("b", pb::QuestionType::Satisfaction);
        let qs = questions_from_pb(&[a, b]).unwrap();
        let answers = vec![
            ("a".to_owned(), AnswerValue::Rating(4)),
            ("b".to_owned(), AnswerValue::Rating(1)),
        ];
        assert_eq!(satisfaction_score(&qs, &answers), Some(75.0));
        assert_eq!(satisfaction_score(&qs, &answers[1..].to_vec()), None);
    }
}
