//! Authorization of every RPC against the one table of rules in
//! `shequ_platform::auth::policy` (roles and regional rule per method, rendered in
//! docs/authorization.md). The services run once, in `jwt` mode trusting a test
//! issuer, holding resources seeded in 北京市 (东城区); each method is called with the request of
//! its row below:
//!
//! - (a) by each of its roles inside the scope (北京市, or the whole country where the rule is
//!   national): allowed, and the first call succeeds;
//! - (b) by each of its roles outside the scope (湖北省, or 北京市 where the rule is national):
//!   PERMISSION_DENIED where the rule is regional or national; a listing of everything answers
//!   without what it keeps for others, and an unscoped method answers;
//! - (c) by a national principal holding every other role: PERMISSION_DENIED;
//! - (d) anonymously: UNAUTHENTICATED.
//!
//! Adding an RPC: give it a rule in `policy.rs` and a row here.

use prost::Message;
use shequ_platform::auth::Role;
use shequ_platform::auth::policy::{self, Access, Region};
use shequ_proto::audit::v1 as audit;
use shequ_proto::monitoring::v1 as plan;
use shequ_proto::registry::v1 as registry;
use shequ_proto::survey::v1 as survey;
use shequ_system_tests::rpc::{self, Messages, Server, code_of};
use shequ_system_tests::suite::*;
use shequ_testkit::fixtures::{self, SAMPLE};
use tonic::Code;

/// The scope every seeded resource lies in, and one beside it, as token claims.
const BEIJING_SCOPE: &str = "110000000000";
const HUBEI_SCOPE: &str = "420000000000";

/// A method's short name (`Service/Method`) and the function giving its request.
type Row = (&'static str, fn(&Seed) -> Probe);

/// Every RPC and the request it is called with. The first test below fails naming any described
/// method without a row here or without a rule in `policy.rs`.
const ROWS: &[Row] = &[
    ("DivisionService/ImportDivisions", |_| {
        Probe::stream(&fixtures::import_requests(&SAMPLE, "2023", 64 * 1024))
    }),
    ("DivisionService/GetDivision", |_| {
        Probe::one(&registry::GetDivisionRequest {
            name: COMMUNITY.into(),
        })
    }),
    ("DivisionService/ListDivisions", |_| {
        Probe::one(&registry::ListDivisionsRequest {
            parent: DONGCHENG.into(),
            ..Default::default()
        })
    }),
    ("DivisionService/ListDivisionAncestors", |_| {
        Probe::one(&registry::ListDivisionAncestorsRequest {
            name: COMMUNITY.into(),
        })
    }),
    ("DivisionService/SearchDivisions", |_| {
        Probe::one(&registry::SearchDivisionsRequest {
            query: "社区".into(),
            parent: DONGCHENG.into(),
            ..Default::default()
        })
    }),
    ("DivisionService/CountLeafUnits", |_| {
        Probe::one(&registry::CountLeafUnitsRequest {
            name: DONGCHENG.into(),
        })
    }),
    ("DivisionService/UpdateDivision", |_| {
        Probe::one(&registry::UpdateDivisionRequest {
            division: Some(registry::Division {
                name: COMMUNITY.into(),
                leaf_unit_kind: shequ_proto::common::v1::LeafUnitKind::Community as i32,
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["leaf_unit_kind".into()],
            }),
        })
    }),
    ("FacilityService/CreateFacility", |_| {
        Probe::one(&registry::CreateFacilityRequest {
            facility: Some(fixtures::facility(COMMUNITY)),
            ..Default::default()
        })
    }),
    ("FacilityService/BatchCreateFacilities", |_| {
        Probe::one(&registry::BatchCreateFacilitiesRequest {
            parent: DONGCHENG.into(),
            requests: vec![registry::CreateFacilityRequest {
                facility: Some(fixtures::facility(COMMUNITY)),
                ..Default::default()
            }],
        })
    }),
    ("FacilityService/GetFacility", |w| {
        Probe::one(&registry::GetFacilityRequest {
            name: w.facility.name.clone(),
            show_deleted: false,
        })
    }),
    ("FacilityService/UpdateFacility", |w| {
        Probe::one(&registry::UpdateFacilityRequest {
            facility: Some(registry::Facility {
                name: w.facility.name.clone(),
                display_name: "新名称".into(),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["display_name".into()],
            }),
            reason: String::new(),
        })
    }),
    ("FacilityService/DeleteFacility", |w| {
        Probe::one(&registry::DeleteFacilityRequest {
            name: w.facility_to_delete.clone(),
            ..Default::default()
        })
    }),
    ("FacilityService/UndeleteFacility", |w| {
        Probe::one(&registry::UndeleteFacilityRequest {
            name: w.deleted_facility.clone(),
            ..Default::default()
        })
    }),
    ("FacilityService/ListFacilities", |_| {
        Probe::one(&registry::ListFacilitiesRequest {
            parent: DONGCHENG.into(),
            ..Default::default()
        })
    }),
    ("FacilityService/ListFacilityRevisions", |w| {
        Probe::one(&registry::ListFacilityRevisionsRequest {
            name: w.facility.name.clone(),
            ..Default::default()
        })
    }),
    ("FacilityService/StreamLeafUnitFacts", |_| {
        Probe::one(&registry::StreamLeafUnitFactsRequest {
            parent: DONGCHENG.into(),
        })
    }),
    ("FacilityService/WatchFacilityChanges", |_| {
        Probe::one(&registry::WatchFacilityChangesRequest {
            after_cursor: String::new(),
            follow: false,
            parent: DONGCHENG.into(),
        })
    }),
    ("QuestionnaireService/CreateQuestionnaire", |_| {
        Probe::one(&survey::CreateQuestionnaireRequest {
            questionnaire: Some(questionnaire()),
        })
    }),
    ("QuestionnaireService/GetQuestionnaire", |w| {
        Probe::one(&survey::GetQuestionnaireRequest {
            name: w.questionnaire.clone(),
            version: 1,
        })
    }),
    ("QuestionnaireService/ListQuestionnaires", |w| {
        Probe::one(&survey::ListQuestionnairesRequest::default()).showing(&w.questionnaire)
    }),
    ("QuestionnaireService/UpdateQuestionnaire", |w| {
        Probe::one(&survey::UpdateQuestionnaireRequest {
            questionnaire: Some(survey::Questionnaire {
                name: w.draft_questionnaire.clone(),
                ..questionnaire()
            }),
        })
    }),
    ("QuestionnaireService/PublishQuestionnaire", |w| {
        Probe::one(&survey::PublishQuestionnaireRequest {
            name: w.draft_questionnaire.clone(),
        })
    }),
    ("RoundService/CreateRound", |w| {
        Probe::one(&survey::CreateRoundRequest {
            round: Some(round(&w.questionnaire)),
        })
    }),
    ("RoundService/GetRound", |w| {
        Probe::one(&survey::GetRoundRequest {
            name: w.open_round.clone(),
        })
    }),
    ("RoundService/ListRounds", |w| {
        Probe::one(&survey::ListRoundsRequest::default()).showing(&w.open_round)
    }),
    ("RoundService/OpenRound", |w| {
        Probe::one(&survey::OpenRoundRequest {
            name: w.draft_round.clone(),
        })
    }),
    ("RoundService/CloseRound", |w| {
        Probe::one(&survey::CloseRoundRequest {
            name: w.round_to_close.clone(),
        })
    }),
    ("RoundService/GetRoundResults", |w| {
        Probe::one(&survey::GetRoundResultsRequest {
            round: w.open_round.clone(),
            division: String::new(),
        })
    }),
    ("RoundService/GetRoundCoverage", |w| {
        Probe::one(&survey::GetRoundCoverageRequest {
            round: w.open_round.clone(),
            ..Default::default()
        })
    }),
    ("RoundService/StreamRoundFacts", |w| {
        Probe::one(&survey::StreamRoundFactsRequest {
            round: w.open_round.clone(),
        })
    }),
    ("RoundService/ExportResponses", |w| {
        Probe::one(&survey::ExportResponsesRequest {
            round: w.open_round.clone(),
        })
    }),
    ("ResponseService/SubmitResponse", |w| {
        Probe::one(&survey::SubmitResponseRequest {
            parent: w.open_round.clone(),
            response: Some(response("authorization-submit", COMMUNITY)),
        })
    }),
    ("ResponseService/BulkSubmitResponses", |w| {
        Probe::stream(&[survey::BulkSubmitResponsesRequest {
            parent: w.open_round.clone(),
            responses: vec![response("authorization-bulk", COMMUNITY)],
        }])
    }),
    ("ResponseService/GetResponse", |w| {
        Probe::one(&survey::GetResponseRequest {
            name: w.response.clone(),
        })
    }),
    ("ResponseService/InvalidateResponse", |w| {
        Probe::one(&survey::InvalidateResponseRequest {
            name: w.response_to_invalidate.clone(),
            reason: "重复填写".into(),
        })
    }),
    ("IndicatorService/ListIndicators", |_| {
        Probe::one(&plan::ListIndicatorsRequest::default()).showing(BEIJING_PLAN)
    }),
    ("IndicatorService/GetIndicator", |_| {
        Probe::one(&plan::GetIndicatorRequest {
            name: REPORTED_INDICATOR.into(),
        })
    }),
    ("IndicatorService/ReportValue", |_| {
        Probe::one(&plan::ReportValueRequest {
            value: Some(reported_value(12.0)),
        })
    }),
    ("IndicatorService/ListReportedValueHistory", |_| {
        Probe::one(&plan::ListReportedValueHistoryRequest {
            indicator: REPORTED_INDICATOR.into(),
            division: COMMUNITY.into(),
        })
    }),
    ("PlanService/CreatePlan", |_| {
        Probe::one(&plan::CreatePlanRequest {
            plan: Some(beijing_plan("plans/beijing-authorization")),
        })
    }),
    ("PlanService/GetPlan", |_| {
        Probe::one(&plan::GetPlanRequest {
            name: BEIJING_PLAN.into(),
        })
    }),
    ("PlanService/ListPlans", |_| {
        Probe::one(&plan::ListPlansRequest::default()).showing(BEIJING_PLAN)
    }),
    ("PlanService/LoadNationalPlan", |_| {
        Probe::one(&plan::LoadNationalPlanRequest {})
    }),
    ("PlanService/LoadPlanFile", |_| {
        Probe::one(&plan::LoadPlanFileRequest {
            content:
                "id = \"beijing-file\"\ndisplay_name = \"北京市规划\"\nlevel = \"provincial\"\n\
                      scope = \"11\"\nparent = \"national-14th-fyp\"\nstart_year = 2021\n\
                      end_year = 2025\n"
                    .into(),
        })
    }),
    ("PlanService/CheckPlanAlignment", |_| {
        Probe::one(&plan::CheckPlanAlignmentRequest {
            name: BEIJING_PLAN.into(),
        })
    }),
    ("PlanService/ReviseTarget", |_| {
        Probe::one(&plan::ReviseTargetRequest {
            plan: BEIJING_PLAN.into(),
            revision: Some(terminals_revision()),
        })
    }),
    ("PlanService/ListTargetRevisions", |_| {
        Probe::one(&plan::ListTargetRevisionsRequest {
            plan: BEIJING_PLAN.into(),
            ..Default::default()
        })
    }),
    ("EvaluationService/EvaluatePlan", |_| {
        Probe::one(&evaluate(BEIJING_PLAN))
    }),
    ("EvaluationService/GetEvaluation", |w| {
        Probe::one(&plan::GetEvaluationRequest {
            name: w.evaluation.clone(),
        })
    }),
    ("EvaluationService/ListEvaluations", |_| {
        Probe::one(&plan::ListEvaluationsRequest {
            parent: BEIJING_PLAN.into(),
            ..Default::default()
        })
    }),
    ("EvaluationService/GetDivisionResult", |w| {
        Probe::one(&plan::GetDivisionResultRequest {
            evaluation: w.evaluation.clone(),
            division: String::new(),
        })
    }),
    ("EvaluationService/ListResultRecords", |w| {
        Probe::one(&plan::ListResultRecordsRequest {
            evaluation: w.evaluation.clone(),
            division: DONGCHENG.into(),
            indicator: "indicators/urban_facility_coverage".into(),
            ..Default::default()
        })
    }),
    ("EvaluationService/ListChildResults", |w| {
        Probe::one(&plan::ListChildResultsRequest {
            evaluation: w.evaluation.clone(),
            division: DONGCHENG.into(),
            ..Default::default()
        })
    }),
    ("EvaluationService/CompareEvaluations", |w| {
        Probe::one(&plan::CompareEvaluationsRequest {
            base: w.evaluation.clone(),
            other: w.later_evaluation.clone(),
            division: String::new(),
        })
    }),
    ("EvaluationService/RenderReport", |w| {
        Probe::one(&plan::RenderReportRequest {
            evaluation: w.evaluation.clone(),
            format: plan::ReportFormat::Text as i32,
            ..Default::default()
        })
    }),
    // Served by all three services; the row runs against each.
    ("AuditService/StreamAuditRecords", |_| {
        Probe::one(&audit::StreamAuditRecordsRequest {
            after_position: 0,
            follow: false,
        })
    }),
];

/// The request a method is called with, and for a listing the name of a seeded resource it shows
/// inside the scope (and outside it for an unscoped listing, never for a filtered one).
struct Probe {
    request: Messages,
    shows: Option<String>,
}

impl Probe {
    fn one(message: &impl Message) -> Self {
        Self {
            request: Messages::one(message),
            shows: None,
        }
    }

    fn stream<M: Message>(messages: &[M]) -> Self {
        Self {
            request: Messages::stream(messages),
            shows: None,
        }
    }

    fn showing(mut self, name: &str) -> Self {
        self.shows = Some(name.to_owned());
        self
    }
}

#[test]
fn every_described_method_has_a_rule_and_a_row() {
    let mut missing = Vec::new();
    for method in rpc::described_methods() {
        if policy::rule_of(&method.path).is_none() {
            missing.push(format!("{}: no rule in `policy.rs`", method.path));
        }
        if !ROWS.iter().any(|(name, _)| *name == method.short()) {
            missing.push(format!("{}: no row in `authorization.rs`", method.path));
        }
    }
    assert!(missing.is_empty(), "{missing:#?}");
    for (path, _) in ROWS {
        assert!(
            rpc::method(path).is_some(),
            "{path} has a row but is not described"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_method_admits_its_roles_in_scope_and_no_one_else() {
    let started = std::time::Instant::now();
    let platform = Platform::jwt().await.unwrap();
    let seed = platform.seed().await.unwrap();
    let issuer = &platform.auth.as_ref().expect("jwt mode").issuer;
    let token = |roles: &[Role], scope: &str| {
        let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
        issuer.token("official", &names, &[scope])
    };
    let mut failures = Vec::new();
    for (path, row) in ROWS {
        let method = rpc::method(path).unwrap_or_else(|| panic!("{path} is not described"));
        let rule = policy::rule_of(&method.path).unwrap_or_else(|| panic!("{path} has no rule"));
        let Access::AnyOf(roles) = rule.access else {
            panic!("{path} is open");
        };
        let probe = row(&seed);
        assert!(
            rule.region != Region::Filtered || probe.shows.is_some(),
            "{path}: the row of a filtered listing names what it shows inside the scope"
        );
        let (inside, outside) = match rule.region {
            Region::National => (NATIONAL, BEIJING_SCOPE),
            _ => (BEIJING_SCOPE, HUBEI_SCOPE),
        };
        let servers = match Server::of(&method.path) {
            Some(server) => vec![server],
            None => Server::ALL.to_vec(),
        };
        for server in servers {
            let label = format!(
                "{} on {server:?} ({})",
                method.short(),
                rule.region.as_str()
            );
            let call = |token: Option<String>| {
                let platform = &platform;
                let request = &probe.request;
                async move {
                    platform
                        .call_as(server, method, request, token.as_deref())
                        .await
                }
            };
            // (a) each role inside the scope.
            for (i, role) in roles.iter().enumerate() {
                let result = call(Some(token(&[*role], inside))).await;
                let case = format!("{label}: {role} inside");
                if i == 0 && result.is_err() {
                    failures.push(format!("{case}: {}", describe(&result)));
                } else if let Some(wrong) = refused(&result) {
                    failures.push(format!("{case}: {wrong}"));
                }
                if let (Some(name), Ok(replies)) = (&probe.shows, &result)
                    && !mentions(replies, name)
                {
                    failures.push(format!("{case}: `{name}` is not listed"));
                }
            }
            // (b) each role outside the scope.
            for role in roles.iter() {
                let result = call(Some(token(&[*role], outside))).await;
                let case = format!("{label}: {role} outside");
                if rule.region.refuses_outside() {
                    if code_of(&result) != Code::PermissionDenied {
                        failures.push(format!(
                            "{case}: expected PERMISSION_DENIED, got {}",
                            describe(&result)
                        ));
                    }
                } else if let Some(wrong) = refused(&result) {
                    failures.push(format!("{case}: {wrong}"));
                } else if let (Some(name), Ok(replies)) = (&probe.shows, &result) {
                    // Filtered keeps it for those in scope; unscoped shows it to everyone.
                    let expected = rule.region == Region::Unscoped;
                    if mentions(replies, name) != expected {
                        failures.push(format!(
                            "{case}: `{name}` is {}listed",
                            if expected { "not " } else { "" }
                        ));
                    }
                }
            }
            // (c) every other role, nationally.
            let others: Vec<Role> = Role::ALL
                .into_iter()
                .filter(|r| !roles.contains(r))
                .collect();
            let result = call(Some(token(&others, NATIONAL))).await;
            if code_of(&result) != Code::PermissionDenied {
                failures.push(format!(
                    "{label}: without its roles: expected PERMISSION_DENIED, got {}",
                    describe(&result)
                ));
            }
            // (d) nobody.
            let result = call(None).await;
            if code_of(&result) != Code::Unauthenticated {
                failures.push(format!(
                    "{label}: anonymous: expected UNAUTHENTICATED, got {}",
                    describe(&result)
                ));
            }
        }
    }
    eprintln!(
        "authorization: {} methods in {:?}",
        ROWS.len(),
        started.elapsed()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Why `result` is not an allowed call: refused for who made it, or a request the row got wrong.
fn refused(result: &Result<Vec<Vec<u8>>, tonic::Status>) -> Option<String> {
    match code_of(result) {
        Code::PermissionDenied | Code::Unauthenticated | Code::InvalidArgument => {
            Some(format!("expected it allowed, got {}", describe(result)))
        }
        _ => None,
    }
}

fn describe(result: &Result<Vec<Vec<u8>>, tonic::Status>) -> String {
    match result {
        Ok(_) => "OK".to_owned(),
        Err(status) => format!("{:?} {}", status.code(), status.message()),
    }
}

/// Whether any reply holds `name` (names travel as UTF-8 strings inside the messages).
fn mentions(replies: &[Vec<u8>], name: &str) -> bool {
    replies
        .iter()
        .any(|r| r.windows(name.len()).any(|w| w == name.as_bytes()))
}
