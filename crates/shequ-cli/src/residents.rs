//! Deterministic, plausible satisfaction-survey answers for the demo: the questionnaire of a
//! provincial round, and for every leaf unit whether it was surveyed and what its residents said.
//!
//! The shares are invented to look like a round part-way through collection, not to reproduce
//! any real survey: each prefecture reached a different share of its units, residents are a
//! little more satisfied where a facility is in service, and each prefecture has its own mood.

use shequ_domain::ServiceKind;
use shequ_proto::convert::service_to_pb;
use shequ_proto::survey::v1 as pb;

use crate::generate::SplitMix64;

/// Start of the demo round's collection window: 2025-04-01T00:00:00+08:00.
pub const WINDOW_START: i64 = 1_743_436_800;
/// End of the window (exclusive): 2025-07-01T00:00:00+08:00.
pub const WINDOW_END: i64 = 1_751_299_200;
/// Valid responses a leaf unit needs to count as covered.
pub const MIN_VALID_RESPONSES: i32 = 3;

/// Satisfaction questions: id, text, the service asked about.
const SATISFACTION: [(&str, &str, Option<ServiceKind>); 8] = [
    ("overall", "您对本社区(村)综合服务设施的总体满意度", None),
    (
        "elderly_care",
        "您对养老服务的满意度",
        Some(ServiceKind::ElderlyCare),
    ),
    (
        "childcare",
        "您对托育服务的满意度",
        Some(ServiceKind::Childcare),
    ),
    (
        "employment",
        "您对就业服务的满意度",
        Some(ServiceKind::Employment),
    ),
    (
        "health",
        "您对医疗卫生服务的满意度",
        Some(ServiceKind::Health),
    ),
    (
        "government",
        "您对政务服务(一站式办理)的满意度",
        Some(ServiceKind::GovernmentServices),
    ),
    ("hours", "您对开放时间的满意度", None),
    ("environment", "您对活动场所环境的满意度", None),
];
const HEARD: [(&str, &str); 4] = [
    ("notice", "社区公告栏"),
    ("wechat", "微信群或公众号"),
    ("neighbour", "邻里告知"),
    ("visit", "上门走访"),
];
const COMMENTS: [&str; 5] = [
    "希望周末也能延长开放时间。",
    "老年食堂很方便，希望增加菜品。",
    "办事大厅排队时间较长。",
    "希望增加儿童活动场地。",
    "服务人员态度很好。",
];

/// The round's questionnaire: eight five-point questions (six about a service), where residents
/// heard of the centre, and a comment.
pub fn questionnaire() -> pb::Questionnaire {
    let mut questions: Vec<pb::Question> = SATISFACTION
        .iter()
        .enumerate()
        .map(|(i, (id, text, dimension))| pb::Question {
            id: (*id).to_owned(),
            text: (*text).to_owned(),
            r#type: pb::QuestionType::Satisfaction as i32,
            required: i == 0,
            counts_towards_satisfaction: true,
            dimension: dimension.map_or(0, |d| service_to_pb(d) as i32),
            ..Default::default()
        })
        .collect();
    questions.push(pb::Question {
        id: "heard_from".to_owned(),
        text: "您从哪里了解到社区服务?".to_owned(),
        r#type: pb::QuestionType::SingleChoice as i32,
        options: HEARD
            .iter()
            .map(|(id, text)| pb::QuestionOption {
                id: (*id).to_owned(),
                text: (*text).to_owned(),
            })
            .collect(),
        ..Default::default()
    });
    questions.push(pb::Question {
        id: "comment".to_owned(),
        text: "您的意见和建议".to_owned(),
        r#type: pb::QuestionType::FreeText as i32,
        ..Default::default()
    });
    pb::Questionnaire {
        title: "2025年城乡社区服务居民满意度调查".to_owned(),
        questions,
        ..Default::default()
    }
}

/// Draws the responses of leaf units.
#[derive(Debug, Clone, Copy)]
pub struct ResidentGenerator {
    seed: u64,
}

/// Range of the per-prefecture share of leaf units surveyed so far.
const SURVEYED_SHARE: (f64, f64) = (0.08, 0.32);
/// Range of the per-prefecture shift of the mean rating.
const MOOD: (f64, f64) = (-0.7, 0.4);

impl ResidentGenerator {
    pub fn new(seed: u64) -> Self {
        Self { seed }
    }

    fn rng(&self, salt: u64, code: u64) -> SplitMix64 {
        SplitMix64::new(self.seed ^ salt ^ code.wrapping_mul(0x9E6C_63D0_676A_9A99))
    }

    /// The responses of one leaf unit: none, or three to six.
    pub fn responses_for(
        &self,
        code: u64,
        prefecture: u64,
        has_facility: bool,
    ) -> Vec<pb::Response> {
        let mut pref = self.rng(0x5355_5256_4559_0000, prefecture);
        let share = pref.between(SURVEYED_SHARE.0, SURVEYED_SHARE.1);
        let mood = pref.between(MOOD.0, MOOD.1);
        let mut rng = self.rng(0, code);
        if !rng.chance(share) {
            return Vec::new();
        }
        let n = 3 + rng.below(4);
        let centre = 3.7 + mood + if has_facility { 0.35 } else { -0.25 };
        (0..n)
            .map(|i| {
                let resident = centre + rng.between(-0.9, 0.9);
                let mut answers = Vec::with_capacity(SATISFACTION.len() + 2);
                for (q, (id, _, _)) in SATISFACTION.iter().enumerate() {
                    if q > 0 && !rng.chance(0.85) {
                        continue;
                    }
                    let rating = (resident + rng.between(-1.0, 1.0)).round().clamp(1.0, 5.0);
                    answers.push(pb::Answer {
                        question_id: (*id).to_owned(),
                        value: Some(pb::answer::Value::Rating(rating as i32)),
                    });
                }
                answers.push(pb::Answer {
                    question_id: "heard_from".to_owned(),
                    value: Some(pb::answer::Value::OptionId(
                        HEARD[rng.below(HEARD.len() as u64) as usize].0.to_owned(),
                    )),
                });
                if rng.chance(0.2) {
                    answers.push(pb::Answer {
                        question_id: "comment".to_owned(),
                        value: Some(pb::answer::Value::Text(
                            COMMENTS[rng.below(COMMENTS.len() as u64) as usize].to_owned(),
                        )),
                    });
                }
                let channel = match rng.below(10) {
                    0..=4 => pb::Channel::Online,
                    5..=7 => pb::Channel::Paper,
                    8 => pb::Channel::Phone,
                    _ => pb::Channel::Kiosk,
                };
                let span = (WINDOW_END - WINDOW_START) as u64;
                pb::Response {
                    response_id: format!("demo-{code}-{i}"),
                    leaf_unit: format!("divisions/{code}"),
                    channel: channel as i32,
                    collect_time: Some(prost_types::Timestamp {
                        seconds: WINDOW_START + rng.below(span) as i64,
                        nanos: 0,
                    }),
                    answers,
                    ..Default::default()
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responses_are_deterministic_and_inside_the_window() {
        let g = ResidentGenerator::new(7);
        let mut total = 0;
        for code in 0..2000u64 {
            let code = 130_102_001_000 + code;
            let a = g.responses_for(code, 130_100_000_000, code % 2 == 0);
            assert_eq!(a, g.responses_for(code, 130_100_000_000, code % 2 == 0));
            assert!(a.is_empty() || (3..=6).contains(&a.len()));
            for r in &a {
                let t = r.collect_time.as_ref().unwrap().seconds;
                assert!((WINDOW_START..WINDOW_END).contains(&t));
                assert_eq!(r.answers[0].question_id, "overall");
            }
            total += a.len();
        }
        // Between 8% and 32% of units, three to six responses each.
        assert!(
            (2000 * 3 * 8 / 100..=2000 * 6 * 32 / 100).contains(&total),
            "{total}"
        );
    }

    #[test]
    fn questionnaire_ids_are_valid() {
        for q in questionnaire().questions {
            assert!(
                q.id.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                "{}",
                q.id
            );
        }
    }
}
