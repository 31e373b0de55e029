//! Property tests of the survey's entry points: arbitrary bytes decoded as requests, arbitrary
//! questionnaires and answers validated, arbitrary text masked, arbitrary names parsed, and
//! arbitrary responses submitted to a real survey service. None may panic; bad input is an error
//! with its status and field, never a crash or a half-stored response. Case counts are in
//! FUZZING.md.

use std::cell::RefCell;
use std::collections::HashMap;

use proptest::prelude::*;
use prost::Message;
use prost_types::Timestamp;
use shequ_proto::codec::text_violations;
use shequ_proto::names::parse_division_name;
use shequ_proto::survey::v1 as pb;
use shequ_survey::grpc::convert::{answers_from_pb, questions_from_pb, questions_to_pb};
use shequ_survey::mask::{MASK, fold, mask_identity_numbers};
use shequ_survey::model::{
    MAX_OPTIONS, QuestionDef, QuestionKind, is_response_id, is_token, satisfaction_score,
};
use shequ_survey::names::{
    micros, parse_questionnaire_name, parse_response_name, parse_round_name, response_name,
    round_name, timestamp,
};
use tonic::Code;

use super::{
    COLLECTED, END, OUTSIDE, REGION, START, UNIT_A, UNIT_B, UNIT_C, env, field_violations,
    open_round, questions, results,
};

/// Cases per property; `PROPTEST_CASES` overrides it for longer runs.
fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(cases),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// The standard questionnaire as the service keeps it.
fn standard() -> Vec<QuestionDef> {
    questions_from_pb(&questions()).unwrap()
}

fn question() -> impl Strategy<Value = pb::Question> {
    (
        (
            prop_oneof!["[a-z0-9_]{1,6}", ".{0,40}"],
            prop_oneof![Just("问题".to_owned()), ".{0,20}", Just(" ".to_owned())],
            -1..8i32,
            any::<bool>(),
            any::<bool>(),
            -1..12i32,
        ),
        (
            proptest::collection::vec(
                (prop_oneof!["[a-z]{1,3}", ".{0,8}"], ".{0,8}")
                    .prop_map(|(id, text)| pb::QuestionOption { id, text }),
                0..6,
            ),
            prop_oneof![Just(0.0), any::<f64>(), -10.0..10.0f64],
            prop_oneof![Just(0.0), any::<f64>(), -10.0..400.0f64],
        ),
    )
        .prop_map(
            |((id, text, kind, required, counts, dimension), (options, min, max))| pb::Question {
                id,
                text,
                r#type: kind,
                required,
                counts_towards_satisfaction: counts,
                dimension,
                options,
                min_value: min,
                max_value: max,
            },
        )
}

/// Free text made of pieces that look like identity numbers and mobile numbers, glued to or
/// separated from letters, other digits and arbitrary characters.
fn identity_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        "[1-9][0-9]{16}[0-9Xx]",
        "[1-9][0-9]{14}",
        "1[3-9][0-9]{9}",
        "(\\+?86)?1[3-9][0-9]{9}",
        "1[3-9][0-9][ -][0-9]{4}[ -][0-9]{4}",
        "[0-9]{1,20}",
        "[0-9 -]{1,6}",
        "[a-zA-Z]{1,3}",
        "[ ,.，。：Xx+*-]",
        "\\+86[ -]1[3-9][0-9][ -][0-9]{4}[ -][0-9]{4}",
        ".{1,4}",
    ];
    // Half the pieces as a Chinese input method in full-width mode types them.
    let piece = (piece, any::<bool>()).prop_map(|(p, wide)| if wide { full_width(&p) } else { p });
    proptest::collection::vec(piece, 0..12).prop_map(|pieces| pieces.concat())
}

/// `text` with ASCII as full-width forms (`1` as `１`, `X` as `Ｘ`, space as U+3000).
fn full_width(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            ' ' => '\u{3000}',
            '!'..='~' => char::from_u32(c as u32 + 0xFEE0).unwrap_or(c),
            _ => c,
        })
        .collect()
}

fn answer_value() -> impl Strategy<Value = Option<pb::answer::Value>> {
    use pb::answer::Value;
    proptest::option::weighted(
        0.95,
        prop_oneof![
            prop_oneof![1..=5i32, any::<i32>()].prop_map(Value::Rating),
            prop_oneof![
                Just("online".to_owned()),
                Just("counter".to_owned()),
                ".{0,8}"
            ]
            .prop_map(Value::OptionId),
            proptest::collection::vec(
                prop_oneof![
                    Just("elderly".to_owned()),
                    Just("health".to_owned()),
                    Just("childcare".to_owned()),
                    ".{0,8}"
                ],
                0..4
            )
            .prop_map(|ids| Value::OptionIds(pb::OptionIds { ids })),
            any::<bool>().prop_map(Value::Yes),
            prop_oneof![0.0..=365.0f64, any::<f64>()].prop_map(Value::Number),
            prop_oneof![identity_text(), ".{0,40}"].prop_map(Value::Text),
        ],
    )
}

fn answers() -> impl Strategy<Value = Vec<pb::Answer>> {
    let id = prop_oneof![
        Just("q_overall".to_owned()),
        Just("q_elderly".to_owned()),
        Just("q_health".to_owned()),
        Just("q_channel".to_owned()),
        Just("q_services".to_owned()),
        Just("q_visited".to_owned()),
        Just("q_visits".to_owned()),
        Just("q_comment".to_owned()),
        ".{0,10}",
    ];
    proptest::collection::vec(
        (id, answer_value()).prop_map(|(question_id, value)| pb::Answer { question_id, value }),
        0..8,
    )
}

/// A response that is mostly valid: the required answers, some optional ones (free text with
/// identity numbers among them), in the round's window.
fn likely_valid_response() -> impl Strategy<Value = pb::Response> {
    use pb::answer::Value;
    (
        prop_oneof!["[a-c]", "[a-z0-9]{4,12}"],
        prop_oneof![
            Just(UNIT_A.to_owned()),
            Just(UNIT_B.to_owned()),
            Just(UNIT_C.to_owned()),
            Just(OUTSIDE.to_owned()),
        ],
        1..=4i32,
        START - 10..END + 10,
        (1..=5i32, any::<bool>()),
        proptest::option::of(identity_text()),
        proptest::option::of(prop_oneof![-1.0..=366.0f64, Just(365.0)]),
        proptest::option::of(0..=6i32),
    )
        .prop_map(
            |(
                response_id,
                leaf_unit,
                channel,
                seconds,
                (overall, visited),
                text,
                visits,
                elderly,
            )| {
                let mut answers = vec![
                    super::rating("q_overall", overall),
                    super::answer("q_visited", Value::Yes(visited)),
                ];
                if let Some(text) = text {
                    answers.push(super::answer("q_comment", Value::Text(text)));
                }
                if let Some(n) = visits {
                    answers.push(super::answer("q_visits", Value::Number(n)));
                }
                if let Some(r) = elderly {
                    answers.push(super::rating("q_elderly", r));
                }
                pb::Response {
                    response_id,
                    leaf_unit,
                    channel,
                    collect_time: Some(Timestamp { seconds, nanos: 0 }),
                    answers,
                    ..Default::default()
                }
            },
        )
}

fn response() -> impl Strategy<Value = pb::Response> {
    prop_oneof![2 => likely_valid_response(), 1 => arbitrary_response()]
}

fn arbitrary_response() -> impl Strategy<Value = pb::Response> {
    (
        // A small id space, so that some responses are sent again, the same or changed.
        prop_oneof![4 => "[a-c]{1,2}", 1 => ".{0,6}", 1 => "[A-Za-z0-9_-]{60,66}"],
        prop_oneof![
            Just(UNIT_A.to_owned()),
            Just(UNIT_B.to_owned()),
            Just(UNIT_C.to_owned()),
            Just(OUTSIDE.to_owned()),
            Just(REGION.to_owned()),
            "divisions/[0-9]{0,13}",
            ".{0,12}",
        ],
        -1..6i32,
        proptest::option::of(prop_oneof![
            Just((COLLECTED, 0)),
            Just((START - 1, 999_999_999)),
            Just((START, 0)),
            Just((END, 0)),
            (any::<i64>(), any::<i32>()),
            (START..END, -5..1_000_000_005i32),
        ]),
        answers(),
    )
        .prop_map(
            |(response_id, leaf_unit, channel, time, answers)| pb::Response {
                response_id,
                leaf_unit,
                channel,
                collect_time: time.map(|(seconds, nanos)| Timestamp { seconds, nanos }),
                answers,
                ..Default::default()
            },
        )
}

/// The identity and mobile numbers `mask.rs` promises to catch that are left in `text`, read with
/// full-width characters as their ASCII forms (`fold`): runs of ASCII letters and digits (each standing alone between other characters) that are 18 digits,
/// 17 digits and an `X`, 15 digits, a mobile number (11 digits from `13` to `19`) or `86` and a
/// mobile number, and mobile numbers written in groups of 3, 4 and 4 with one kind of separator.
fn unmasked_numbers(text: &str) -> Vec<String> {
    // Read as the masker reads it: each character's compatibility form, position for position.
    let chars: Vec<char> = text.chars().map(fold).collect();
    // (start, end) of each maximal run of ASCII letters and digits.
    let mut words = Vec::new();
    let mut start = None;
    for (i, c) in chars.iter().chain(std::iter::once(&'\u{0}')).enumerate() {
        match (c.is_ascii_alphanumeric(), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                words.push((s, i));
                start = None;
            }
            _ => {}
        }
    }
    let word = |(s, e): (usize, usize)| chars[s..e].iter().collect::<String>();
    let digits = |w: &str| w.bytes().all(|b| b.is_ascii_digit());
    let mobile = |w: &str| {
        w.len() == 11 && digits(w) && w.starts_with('1') && (b'3'..=b'9').contains(&w.as_bytes()[1])
    };
    let mut found = Vec::new();
    for (n, &(s, e)) in words.iter().enumerate() {
        let w = word((s, e));
        let id_card = (w.len() == 18 || w.len() == 15) && digits(&w)
            || w.len() == 18 && digits(&w[..17]) && w.ends_with(['X', 'x']);
        if id_card || mobile(&w) || w.len() == 13 && w.starts_with("86") && mobile(&w[2..]) {
            found.push(w.clone());
        }
        // Grouped: this word, a separator, the next word, the same separator, the word after.
        if let (Some(&b), Some(&c)) = (words.get(n + 1), words.get(n + 2))
            && b.0 == e + 1
            && c.0 == b.1 + 1
            && matches!(chars[e], ' ' | '-')
            && chars[b.1] == chars[e]
            && w.len() == 3
            && b.1 - b.0 == 4
            && c.1 - c.0 == 4
        {
            let joined = format!("{w}{}{}", word(b), word(c));
            if mobile(&joined) {
                found.push(chars[s..c.1].iter().collect());
            }
        }
    }
    found
}

/// The check of the masking property finds the numbers of `mask.rs`'s own examples, and none
/// once masked.
#[test]
fn the_unmasked_number_check_sees_what_the_masker_promises_to_mask() {
    let text = "电话13812345678，call 138-1234-5678 or 159 8765 4321, +8613812345678, \
                id 11010119900307123X; 老证 110101900307123 号; 12345678901 A13812345678; \
                电话１３９　８７６５　４３２１，证１１０１０１１９９００３０７１２３Ｘ";
    assert_eq!(
        unmasked_numbers(text),
        [
            "13812345678",
            "138-1234-5678",
            "159 8765 4321",
            "8613812345678",
            "11010119900307123X",
            "110101900307123",
            "139 8765 4321",
            "11010119900307123X",
        ]
    );
    assert!(unmasked_numbers(&mask_identity_numbers(text)).is_empty());
}

proptest! {
    #![proptest_config(config(2000))]

    #[test]
    fn request_bytes_decode_or_fail_cleanly(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let standard = standard();
        if let Ok(request) = pb::CreateQuestionnaireRequest::decode(bytes.as_slice())
            && let Some(q) = &request.questionnaire
        {
            let _ = questions_from_pb(&q.questions);
        }
        if let Ok(request) = pb::UpdateQuestionnaireRequest::decode(bytes.as_slice())
            && let Some(q) = &request.questionnaire
        {
            let _ = parse_questionnaire_name("questionnaire.name", &q.name);
            let _ = questions_from_pb(&q.questions);
        }
        if let Ok(request) = pb::CreateRoundRequest::decode(bytes.as_slice())
            && let Some(round) = &request.round
        {
            let _ = parse_questionnaire_name("round.questionnaire", &round.questionnaire);
            let _ = parse_division_name("round.region", &round.region);
            let _ = round.start_time.as_ref().map(micros);
            let _ = round.end_time.as_ref().map(micros);
        }
        let check = |r: &pb::Response| {
            let _ = is_response_id(&r.response_id);
            let _ = parse_division_name("leaf_unit", &r.leaf_unit);
            let _ = r.collect_time.as_ref().map(micros);
            if let Ok(answers) = answers_from_pb(&standard, &r.answers) {
                let _ = satisfaction_score(&standard, &answers);
            }
        };
        if let Ok(request) = pb::SubmitResponseRequest::decode(bytes.as_slice()) {
            let _ = parse_round_name("parent", &request.parent);
            request.response.iter().for_each(check);
        }
        if let Ok(request) = pb::BulkSubmitResponsesRequest::decode(bytes.as_slice()) {
            let _ = parse_round_name("parent", &request.parent);
            request.responses.iter().for_each(check);
        }
        if let Ok(request) = pb::GetResponseRequest::decode(bytes.as_slice()) {
            let _ = parse_response_name("name", &request.name);
        }
        if let Ok(request) = pb::InvalidateResponseRequest::decode(bytes.as_slice()) {
            let _ = parse_response_name("name", &request.name);
        }
        let _ = pb::PublishQuestionnaireRequest::decode(bytes.as_slice());
        let _ = pb::ListRoundsRequest::decode(bytes.as_slice());
        let _ = pb::GetRoundResultsRequest::decode(bytes.as_slice());
        let _ = pb::GetRoundCoverageRequest::decode(bytes.as_slice());
        let _ = pb::ExportResponsesRequest::decode(bytes.as_slice());
        let _ = pb::StreamRoundFactsRequest::decode(bytes.as_slice());
    }

    #[test]
    fn questionnaires_validate_without_panicking(questions in proptest::collection::vec(question(), 0..8)) {
        match questions_from_pb(&questions) {
            Ok(defs) => {
                prop_assert_eq!(defs.len(), questions.len());
                for q in &defs {
                    prop_assert!(is_token(&q.id));
                    let choice = matches!(q.kind, QuestionKind::SingleChoice | QuestionKind::MultipleChoice);
                    let options_fit = if choice {
                        (2..=MAX_OPTIONS).contains(&q.options.len())
                    } else {
                        q.options.is_empty()
                    };
                    prop_assert!(options_fit);
                    if q.kind == QuestionKind::Number {
                        prop_assert!(q.min_value.is_finite() && q.max_value.is_finite() && q.min_value <= q.max_value);
                    }
                }
                // What was accepted goes back to the wire and is accepted again unchanged.
                prop_assert_eq!(questions_from_pb(&questions_to_pb(&defs)).unwrap(), defs);
            }
            Err(violations) => {
                prop_assert!(!violations.is_empty());
                for v in violations.iter() {
                    prop_assert!(v.field.starts_with("questions"), "{}", v.field);
                }
            }
        }
    }

    #[test]
    fn answers_validate_against_a_questionnaire_version(answers in answers()) {
        let standard = standard();
        match answers_from_pb(&standard, &answers) {
            Ok(accepted) => {
                prop_assert_eq!(accepted.len(), answers.len());
                for q in standard.iter().filter(|q| q.required) {
                    prop_assert!(accepted.iter().any(|(id, _)| id == &q.id));
                }
                if let Some(score) = satisfaction_score(&standard, &accepted) {
                    prop_assert!((0.0..=100.0).contains(&score), "{}", score);
                }
            }
            Err(violations) => {
                prop_assert!(!violations.is_empty());
                for v in violations.iter() {
                    prop_assert!(v.field.starts_with("answers"), "{}", v.field);
                }
            }
        }
    }

    #[test]
    fn masking_never_panics_and_leaves_no_identity_number(text in prop_oneof![identity_text(), ".{0,200}"]) {
        let masked = mask_identity_numbers(&text);
        prop_assert_eq!(masked.chars().count(), text.chars().count());
        for (before, after) in text.chars().zip(masked.chars()) {
            // Only what reads as a digit, `X`, or a separator is masked (`fold`: NFKC).
            prop_assert!(
                before == after
                    || after == MASK && (fold(before).is_ascii_digit() || matches!(fold(before), 'X' | 'x' | ' ' | '-')),
                "`{}` became `{}`", before, after
            );
        }
        prop_assert!(unmasked_numbers(&masked).is_empty(), "{:?} left in {:?}", unmasked_numbers(&masked), masked);
        prop_assert_eq!(mask_identity_numbers(&masked), masked.clone());
    }

    #[test]
    fn names_and_ids_parse_or_fail(
        text in ".{0,80}",
        id in "[a-z0-9-]{1,64}",
        response_id in "[A-Za-z0-9_-]{1,64}",
        us in any::<i64>(),
        seconds in any::<i64>(),
        nanos in any::<i32>(),
    ) {
        let _ = parse_questionnaire_name("name", &text);
        let _ = parse_round_name("name", &text);
        let _ = parse_response_name("name", &text);
        let _ = is_response_id(&text);
        let _ = is_token(&text);
        // Names built from valid ids parse back to them.
        let round = round_name(&id);
        prop_assert_eq!(parse_round_name("name", &round).unwrap(), id.as_str());
        let response = response_name(&id, &response_id);
        prop_assert_eq!(
            parse_response_name("name", &response).unwrap(),
            (id.as_str(), response_id.as_str())
        );
        prop_assert_eq!(micros(&timestamp(us)), Some(us));
        let _ = micros(&Timestamp { seconds, nanos });
    }
}

fn outcome(code: Code) -> bool {
    matches!(code, Code::InvalidArgument | Code::AlreadyExists)
}

/// The answers of a stored response, for comparing what a submission reported with what is kept.
fn stored_answers(r: &pb::Response) -> Vec<pb::Answer> {
    r.answers.clone()
}

#[test]
fn arbitrary_responses_never_panic_the_survey() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut env = runtime.block_on(env());
    let round = runtime.block_on(open_round(&mut env, REGION, 1));
    let round_id = round.trim_start_matches("rounds/").to_owned();
    let client = env.responses.clone();
    // Response id → the response as stored.
    let stored: RefCell<HashMap<String, pb::Response>> = RefCell::new(HashMap::new());
    let mut runner = proptest::test_runner::TestRunner::new(config(200));
    runner
        .run(
            &(
                response(),
                proptest::collection::vec(response(), 0..5),
                any::<bool>(),
            ),
            |(single, mut batch, resend)| {
                // Sometimes the one sent alone again, at the end of the batch.
                if resend {
                    batch.push(single.clone());
                }
                let mut responses = client.clone();
                let mut stored = stored.borrow_mut();
                runtime.block_on(async {
                    // One alone.
                    let submitted = responses
                        .submit_response(pb::SubmitResponseRequest {
                            parent: round.clone(),
                            response: Some(single.clone()),
                        })
                        .await
                        .map(|r| r.into_inner());
                    match submitted {
                        Ok(reply) => {
                            let r = reply.response.unwrap();
                            prop_assert_eq!(
                                reply.duplicate,
                                stored.contains_key(&single.response_id)
                            );
                            for a in &r.answers {
                                if let Some(pb::answer::Value::Text(t)) = &a.value {
                                    prop_assert!(unmasked_numbers(t).is_empty(), "{}", t);
                                }
                            }
                            stored.insert(single.response_id.clone(), r);
                        }
                        Err(status) => {
                            prop_assert!(outcome(status.code()), "{:?}", status);
                            let fields = field_violations(&status);
                            prop_assert!(!fields.is_empty(), "{:?}", status);
                            for (f, _) in &fields {
                                prop_assert!(f.starts_with("response"), "{}", f);
                            }
                            if status.code() == Code::AlreadyExists {
                                prop_assert!(stored.contains_key(&single.response_id));
                            }
                        }
                    }
                    // The rest in one batch.
                    let request = pb::BulkSubmitResponsesRequest {
                        parent: round.clone(),
                        responses: batch.clone(),
                    };
                    let unstorable = text_violations(&request);
                    let mut acks = responses
                        .bulk_submit_responses(tokio_stream::iter(vec![request]))
                        .await
                        .unwrap()
                        .into_inner();
                    let mut accepted_now = Vec::new();
                    // Text no column can hold refuses the whole message, as invalid UTF-8 does.
                    let results = if unstorable.is_empty() {
                        let ack = acks.message().await.unwrap().unwrap();
                        prop_assert!(acks.message().await.unwrap().is_none());
                        prop_assert_eq!(ack.results.len(), batch.len());
                        ack.results
                    } else {
                        let status = acks.message().await.unwrap_err();
                        prop_assert_eq!(status.code(), Code::InvalidArgument, "{:?}", status);
                        let fields: Vec<String> = field_violations(&status)
                            .into_iter()
                            .map(|(f, _)| f)
                            .collect();
                        let expected: Vec<String> =
                            unstorable.iter().map(|v| v.field.clone()).collect();
                        prop_assert_eq!(fields, expected);
                        // Nothing of the batch was taken.
                        Vec::new()
                    };
                    for (r, result) in batch.iter().zip(&results) {
                        prop_assert_eq!(&result.response_id, &r.response_id);
                        match pb::SubmitOutcome::try_from(result.outcome) {
                            Ok(pb::SubmitOutcome::Accepted) => {
                                prop_assert!(!stored.contains_key(&r.response_id));
                                prop_assert!(!accepted_now.contains(&r.response_id));
                                accepted_now.push(r.response_id.clone());
                            }
                            Ok(pb::SubmitOutcome::Duplicate) => prop_assert!(
                                stored.contains_key(&r.response_id)
                                    || accepted_now.contains(&r.response_id)
                            ),
                            Ok(pb::SubmitOutcome::Rejected) => {
                                prop_assert!(outcome(Code::from(result.code)), "{:?}", result);
                                prop_assert!(!result.field_violations.is_empty(), "{:?}", result);
                            }
                            other => prop_assert!(false, "{:?}", other),
                        }
                    }
                    for id in accepted_now {
                        let r = responses
                            .get_response(pb::GetResponseRequest {
                                name: response_name(&round_id, &id),
                            })
                            .await
                            .unwrap()
                            .into_inner()
                            .response
                            .unwrap();
                        stored.insert(id, r);
                    }
                    // Nothing rejected was stored: every valid id tried is either kept, as it
                    // was reported, or unknown.
                    for r in std::iter::once(&single).chain(&batch) {
                        if !is_response_id(&r.response_id) {
                            continue;
                        }
                        let got = responses
                            .get_response(pb::GetResponseRequest {
                                name: response_name(&round_id, &r.response_id),
                            })
                            .await;
                        match (got, stored.get(&r.response_id)) {
                            (Ok(got), Some(kept)) => {
                                let got = got.into_inner().response.unwrap();
                                prop_assert_eq!(stored_answers(&got), stored_answers(kept));
                            }
                            (Err(status), None) => {
                                prop_assert_eq!(status.code(), Code::NotFound, "{:?}", status)
                            }
                            (got, kept) => {
                                prop_assert!(false, "stored {:?}, expected {:?}", got, kept)
                            }
                        }
                    }
                    Ok(())
                })
            },
        )
        .unwrap();
    // The round's results count exactly the responses reported as stored.
    let totals = runtime.block_on(results(&mut env, &round, REGION));
    assert_eq!(totals.valid_responses, stored.borrow().len() as i64);
}
