//! Authentication and authorization of the monitor: bad tokens, roles per RPC, the matrix of
//! principals × operations × regions (inside, outside, ancestor, sibling, and 仙桃市, a
//! county-level unit under 湖北省 through its province-administered group 4290), the audit
//! trail (scheduled evaluations under the monitor's own principal), and the monitor's calls to
//! its sources with its service token.
//!
//! The registry runs in jwt mode. The survey service has no `[auth]` yet: it runs in development
//! mode next to a development-mode registry over the same database, and ignores the token the
//! monitor sends it.

use futures::StreamExt;
use shequ_monitoring::{Monitoring, SERVICE};
use shequ_platform::Database;
use shequ_proto::audit::v1 as audit;
use shequ_proto::audit::v1::audit_service_client::AuditServiceClient;
use shequ_testkit::{AuthWorld, TestIssuer, with_token};

use crate::plans::provincial_plan;
use crate::*;

const NATIONAL: &str = "000000000000";
const HUBEI: &str = "420000000000";
const HUBEI_GROUP: &str = "429000000000";
const XIANTAO_CODE: &str = "429004000000";
const XIANTAO_TOWNSHIP: &str = "429004001000";
const DONGCHENG_CODE: &str = "110101000000";
/// 东华门街道 and its sibling 景山街道.
const STREET: &str = "110101001000";
const OTHER_STREET: &str = "110101002000";
const STREET_COMMUNITY: &str = "110101001001";
const OTHER_STREET_COMMUNITY: &str = "110101002001";
const UNKNOWN: &str = "999999000000";

fn division(code: &str) -> String {
    format!("divisions/{code}")
}

fn code_of<T: std::fmt::Debug>(result: &Result<T, Status>) -> Code {
    match result {
        Ok(_) => Code::Ok,
        Err(status) => status.code(),
    }
}

struct World {
    registry: TestService<Registry>,
    monitor: TestService<Monitoring>,
    /// The national plan's evaluation, and the Hubei plan's.
    national_eval: String,
    hubei_eval: String,
    auth: AuthWorld,
}

impl World {
    async fn new() -> Self {
        let auth = AuthWorld::new().unwrap();
        let registry = auth.registry_with_sample().await.unwrap();
        let admin = auth.registry_editor();
        let mut facilities = registry.facilities().await.unwrap();
        for unit in [STREET_COMMUNITY, "429004001001"] {
            facilities
                .create_facility(with_token(
                    registry::CreateFacilityRequest {
                        facility: Some(fixtures::facility(&division(unit))),
                        ..Default::default()
                    },
                    &admin,
                ))
                .await
                .unwrap();
        }
        let service = auth.service_token_file("shequ-monitoring").unwrap();
        let monitor = auth
            .monitoring(&registry.endpoint(), "http://127.0.0.1:1", Some(&service))
            .await
            .unwrap();
        let mut world = Self {
            registry,
            monitor,
            national_eval: String::new(),
            hubei_eval: String::new(),
            auth,
        };
        let national = world.officer(&[NATIONAL]);
        let hubei = world.officer(&[HUBEI]);
        world.load_national_plan(&national).await.unwrap();
        world.create_plan(&hubei, provincial_plan()).await.unwrap();
        world.national_eval = world
            .evaluate(&national, "plans/national-14th-fyp")
            .await
            .unwrap()
            .name;
        world.hubei_eval = world.evaluate(&hubei, "plans/hubei").await.unwrap().name;
        world
    }

    fn token(&self, roles: &[&str], divisions: &[&str]) -> String {
        self.auth.issuer.token("official", roles, divisions)
    }

    fn officer(&self, divisions: &[&str]) -> String {
        self.token(&["plan.officer"], divisions)
    }

    async fn load_national_plan(&self, token: &str) -> Result<pb::Plan, Status> {
        let mut plans = self.monitor.plans().await.unwrap();
        Ok(plans
            .load_national_plan(with_token(pb::LoadNationalPlanRequest {}, token))
            .await?
            .into_inner()
            .plan
            .unwrap())
    }

    async fn create_plan(&self, token: &str, plan: pb::Plan) -> Result<pb::Plan, Status> {
        let mut plans = self.monitor.plans().await.unwrap();
        Ok(plans
            .create_plan(with_token(
                pb::CreatePlanRequest { plan: Some(plan) },
                token,
            ))
            .await?
            .into_inner()
            .plan
            .unwrap())
    }

    async fn get_plan(&self, token: &str, name: &str) -> Result<pb::Plan, Status> {
        let mut plans = self.monitor.plans().await.unwrap();
        Ok(plans
            .get_plan(with_token(pb::GetPlanRequest { name: name.into() }, token))
            .await?
            .into_inner()
            .plan
            .unwrap())
    }

    async fn list_plans(&self, token: &str) -> Result<Vec<String>, Status> {
        let mut plans = self.monitor.plans().await.unwrap();
        let mut names: Vec<String> = plans
            .list_plans(with_token(pb::ListPlansRequest::default(), token))
            .await?
            .into_inner()
            .plans
            .into_iter()
            .map(|p| p.name)
            .collect();
        names.sort();
        Ok(names)
    }

    async fn evaluate(&self, token: &str, plan: &str) -> Result<pb::Evaluation, Status> {
        let mut evaluations = self.monitor.evaluations().await.unwrap();
        Ok(evaluations
            .evaluate_plan(with_token(
                pb::EvaluatePlanRequest {
                    plan: plan.into(),
                    evaluation_date: "2025-06-30".into(),
                    survey_round: String::new(),
                },
                token,
            ))
            .await?
            .into_inner()
            .evaluation
            .unwrap())
    }

    async fn list_evaluations(&self, token: &str, plan: &str) -> Result<usize, Status> {
        let mut evaluations = self.monitor.evaluations().await.unwrap();
        Ok(evaluations
            .list_evaluations(with_token(
                pb::ListEvaluationsRequest {
                    parent: plan.into(),
                    ..Default::default()
                },
                token,
            ))
            .await?
            .into_inner()
            .evaluations
            .len())
    }

    /// One division's result; `""` for the evaluation's root.
    async fn result(
        &self,
        token: &str,
        evaluation: &str,
        code: &str,
    ) -> Result<pb::DivisionResult, Status> {
        let mut evaluations = self.monitor.evaluations().await.unwrap();
        Ok(evaluations
            .get_division_result(with_token(
                pb::GetDivisionResultRequest {
                    evaluation: evaluation.into(),
                    division: if code.is_empty() {
                        String::new()
                    } else {
                        division(code)
                    },
                },
                token,
            ))
            .await?
            .into_inner()
            .result
            .unwrap())
    }

    async fn children(
        &self,
        token: &str,
        code: &str,
        rank_by: &str,
    ) -> Result<Vec<String>, Status> {
        let mut evaluations = self.monitor.evaluations().await.unwrap();
        Ok(evaluations
            .list_child_results(with_token(
                pb::ListChildResultsRequest {
                    evaluation: self.national_eval.clone(),
                    division: division(code),
                    rank_by: rank_by.into(),
                    page_size: 100,
                    ..Default::default()
                },
                token,
            ))
            .await?
            .into_inner()
            .results
            .into_iter()
            .map(|r| r.division)
            .collect())
    }

    async fn report(
        &self,
        token: &str,
        evaluation: &str,
        code: &str,
    ) -> Result<pb::RenderReportResponse, Status> {
        let mut evaluations = self.monitor.evaluations().await.unwrap();
        Ok(evaluations
            .render_report(with_token(
                pb::RenderReportRequest {
                    evaluation: evaluation.into(),
                    division: if code.is_empty() {
                        String::new()
                    } else {
                        division(code)
                    },
                    format: pb::ReportFormat::Text as i32,
                    ..Default::default()
                },
                token,
            ))
            .await?
            .into_inner())
    }

    async fn compare(&self, token: &str, code: &str) -> Result<usize, Status> {
        let mut evaluations = self.monitor.evaluations().await.unwrap();
        Ok(evaluations
            .compare_evaluations(with_token(
                pb::CompareEvaluationsRequest {
                    base: self.national_eval.clone(),
                    other: self.national_eval.clone(),
                    division: if code.is_empty() {
                        String::new()
                    } else {
                        division(code)
                    },
                },
                token,
            ))
            .await?
            .into_inner()
            .changes
            .len())
    }

    async fn report_value(&self, token: &str, code: &str) -> Result<pb::ReportedValue, Status> {
        let mut indicators = self.monitor.indicators().await.unwrap();
        Ok(indicators
            .report_value(with_token(
                pb::ReportValueRequest {
                    value: Some(pb::ReportedValue {
                        indicator: "indicators/social_workers".into(),
                        division: division(code),
                        period: "2025".into(),
                        value: 3.0,
                        reason: "年报".into(),
                        ..Default::default()
                    }),
                },
                token,
            ))
            .await?
            .into_inner()
            .value
            .unwrap())
    }

    async fn value_history(&self, token: &str, code: &str) -> Result<usize, Status> {
        let mut indicators = self.monitor.indicators().await.unwrap();
        Ok(indicators
            .list_reported_value_history(with_token(
                pb::ListReportedValueHistoryRequest {
                    indicator: "indicators/social_workers".into(),
                    division: division(code),
                },
                token,
            ))
            .await?
            .into_inner()
            .values
            .len())
    }

    async fn audit_records(&self, token: &str) -> Result<Vec<audit::AuditRecord>, Status> {
        let mut client = AuditServiceClient::new(self.monitor.channel().await.unwrap());
        let stream = client
            .stream_audit_records(with_token(
                audit::StreamAuditRecordsRequest::default(),
                token,
            ))
            .await?
            .into_inner();
        let responses: Vec<_> = stream.collect().await;
        responses
            .into_iter()
            .map(|r| r.map(|r| r.record.unwrap()))
            .collect()
    }
}

#[tokio::test]
async fn officers_write_plans_at_their_level_only() {
    let w = World::new().await;
    let national = w.officer(&[NATIONAL]);
    let hubei = w.officer(&[HUBEI]);
    let xiantao = w.officer(&[XIANTAO_CODE]);
    let dongcheng = w.officer(&[DONGCHENG_CODE]);

    // The national plan needs national scope.
    assert_eq!(code_of(&w.load_national_plan(&national).await), Code::Ok);
    for token in [&hubei, &xiantao] {
        assert_eq!(
            code_of(&w.load_national_plan(token).await),
            Code::PermissionDenied
        );
    }
    // A provincial plan needs its province in scope: not a unit below it, not elsewhere.
    let plan = |id: &str| pb::Plan {
        name: format!("plans/{id}"),
        ..provincial_plan()
    };
    for (who, token, id, expected) in [
        (
            "below the province",
            &xiantao,
            "hubei-b",
            Code::PermissionDenied,
        ),
        (
            "another province",
            &dongcheng,
            "hubei-c",
            Code::PermissionDenied,
        ),
        ("national", &national, "hubei-d", Code::Ok),
    ] {
        let result = w.create_plan(token, plan(id)).await;
        assert_eq!(code_of(&result), expected, "{who}: {result:?}");
    }
    // Evaluating is writing: at the plan's level only.
    for (who, token, name, expected) in [
        ("province, own plan", &hubei, "plans/hubei", Code::Ok),
        (
            "national, provincial plan",
            &national,
            "plans/hubei",
            Code::Ok,
        ),
        (
            "below the province",
            &xiantao,
            "plans/hubei",
            Code::PermissionDenied,
        ),
        (
            "another province",
            &dongcheng,
            "plans/hubei",
            Code::PermissionDenied,
        ),
        (
            "province, national plan",
            &hubei,
            "plans/national-14th-fyp",
            Code::PermissionDenied,
        ),
        (
            "regional, unknown plan",
            &hubei,
            "plans/nowhere",
            Code::PermissionDenied,
        ),
        (
            "national, unknown plan",
            &national,
            "plans/nowhere",
            Code::NotFound,
        ),
    ] {
        let result = w.evaluate(token, name).await;
        assert_eq!(code_of(&result), expected, "{who}: {result:?}");
    }
    // A refused evaluation stores nothing.
    assert_eq!(
        w.list_evaluations(&national, "plans/hubei").await.unwrap(),
        3
    );
    // Readers cannot write at all, whatever their scope.
    let reader = w.token(&["plan.reader"], &[NATIONAL]);
    assert_eq!(
        code_of(&w.evaluate(&reader, "plans/hubei").await),
        Code::PermissionDenied
    );
}

#[tokio::test]
async fn principals_read_plans_and_results_only_inside_their_divisions() {
    let w = World::new().await;
    let reader = |divisions: &[&str]| w.token(&["plan.reader"], divisions);
    let national = reader(&[NATIONAL]);
    let hubei = reader(&[HUBEI]);
    let xiantao = reader(&[XIANTAO_CODE]);
    let dongcheng = reader(&[DONGCHENG_CODE]);
    let street = reader(&[STREET]);
    let two = reader(&[STREET, XIANTAO_CODE]);

    // Plans: the national plan for everyone, a provincial plan where the scope overlaps it.
    for (who, token, name, expected) in [
        ("national", &national, "plans/hubei", Code::Ok),
        ("province", &hubei, "plans/hubei", Code::Ok),
        ("unit under the province", &xiantao, "plans/hubei", Code::Ok),
        (
            "elsewhere",
            &dongcheng,
            "plans/hubei",
            Code::PermissionDenied,
        ),
        ("street", &street, "plans/national-14th-fyp", Code::Ok),
        (
            "regional, unknown",
            &street,
            "plans/nowhere",
            Code::PermissionDenied,
        ),
        (
            "national, unknown",
            &national,
            "plans/nowhere",
            Code::NotFound,
        ),
    ] {
        let result = w.get_plan(token, name).await;
        assert_eq!(code_of(&result), expected, "{who} reads {name}: {result:?}");
    }
    let both = vec![
        "plans/hubei".to_owned(),
        "plans/national-14th-fyp".to_owned(),
    ];
    assert_eq!(w.list_plans(&national).await.unwrap(), both);
    assert_eq!(w.list_plans(&xiantao).await.unwrap(), both);
    assert_eq!(w.list_plans(&two).await.unwrap(), both);
    assert_eq!(
        w.list_plans(&dongcheng).await.unwrap(),
        vec!["plans/national-14th-fyp".to_owned()],
        "listings keep the plans in scope"
    );
    assert_eq!(
        w.list_evaluations(&xiantao, "plans/hubei").await.unwrap(),
        1
    );
    assert_eq!(
        code_of(&w.list_evaluations(&dongcheng, "plans/hubei").await),
        Code::PermissionDenied
    );
    let alignment = w
        .monitor
        .plans()
        .await
        .unwrap()
        .check_plan_alignment(with_token(
            pb::CheckPlanAlignmentRequest {
                name: "plans/hubei".into(),
            },
            &dongcheng,
        ))
        .await;
    assert_eq!(code_of(&alignment), Code::PermissionDenied);

    // One division's results, by the evaluation's own parent links.
    let ne = &w.national_eval;
    for (who, token, code, expected) in [
        ("national, the country", &national, "", Code::Ok),
        ("province, the country", &hubei, "", Code::PermissionDenied),
        (
            "province over a county-level unit",
            &hubei,
            XIANTAO_CODE,
            Code::Ok,
        ),
        ("province over its group", &hubei, HUBEI_GROUP, Code::Ok),
        (
            "province, elsewhere",
            &hubei,
            DONGCHENG_CODE,
            Code::PermissionDenied,
        ),
        ("county-level unit", &xiantao, XIANTAO_CODE, Code::Ok),
        (
            "county-level unit, below",
            &xiantao,
            XIANTAO_TOWNSHIP,
            Code::Ok,
        ),
        (
            "county-level unit, its group",
            &xiantao,
            HUBEI_GROUP,
            Code::PermissionDenied,
        ),
        (
            "county-level unit, its province",
            &xiantao,
            HUBEI,
            Code::PermissionDenied,
        ),
        (
            "county-level unit, elsewhere",
            &xiantao,
            STREET,
            Code::PermissionDenied,
        ),
        ("street", &street, STREET, Code::Ok),
        ("street, below", &street, STREET_COMMUNITY, Code::Ok),
        (
            "street, sibling",
            &street,
            OTHER_STREET,
            Code::PermissionDenied,
        ),
        (
            "street, sibling's community",
            &street,
            OTHER_STREET_COMMUNITY,
            Code::PermissionDenied,
        ),
        (
            "street, ancestor",
            &street,
            DONGCHENG_CODE,
            Code::PermissionDenied,
        ),
        ("two divisions", &two, STREET_COMMUNITY, Code::Ok),
        ("two divisions", &two, XIANTAO_TOWNSHIP, Code::Ok),
        (
            "two divisions, sibling",
            &two,
            OTHER_STREET,
            Code::PermissionDenied,
        ),
        (
            "regional, unknown",
            &street,
            UNKNOWN,
            Code::PermissionDenied,
        ),
        ("national, unknown", &national, UNKNOWN, Code::NotFound),
    ] {
        let result = w.result(token, ne, code).await;
        assert_eq!(code_of(&result), expected, "{who} reads {code}: {result:?}");
    }
    // The Hubei plan's evaluation: its root is the province.
    assert_eq!(
        code_of(&w.result(&hubei, &w.hubei_eval, "").await),
        Code::Ok
    );
    assert_eq!(
        code_of(&w.result(&xiantao, &w.hubei_eval, "").await),
        Code::PermissionDenied
    );
    assert_eq!(
        code_of(&w.result(&xiantao, &w.hubei_eval, XIANTAO_CODE).await),
        Code::Ok
    );

    // Children and rankings under a division in scope; above or beside it refused.
    let streets = w.children(&dongcheng, DONGCHENG_CODE, "").await.unwrap();
    assert!(streets.contains(&division(STREET)), "{streets:?}");
    assert!(streets.contains(&division(OTHER_STREET)), "{streets:?}");
    let ranked = w
        .children(&street, STREET, "indicators/urban_facility_coverage")
        .await
        .unwrap();
    assert!(ranked.contains(&division(STREET_COMMUNITY)), "{ranked:?}");
    assert_eq!(
        code_of(&w.children(&street, DONGCHENG_CODE, "").await),
        Code::PermissionDenied
    );
    assert_eq!(
        code_of(
            &w.children(
                &street,
                DONGCHENG_CODE,
                "indicators/urban_facility_coverage"
            )
            .await
        ),
        Code::PermissionDenied
    );
    assert_eq!(
        code_of(&w.children(&xiantao, STREET, "").await),
        Code::PermissionDenied
    );

    // Reports and comparisons: of a division in scope; the whole evaluation above it is refused.
    assert_eq!(code_of(&w.report(&national, ne, "").await), Code::Ok);
    assert_eq!(
        code_of(&w.report(&hubei, ne, "").await),
        Code::PermissionDenied
    );
    assert_eq!(
        code_of(&w.report(&hubei, &w.hubei_eval, "").await),
        Code::Ok
    );
    let text = w.report(&street, ne, STREET).await.unwrap().content;
    assert!(text.contains("110101001"), "{text}");
    assert_eq!(
        code_of(&w.report(&street, ne, OTHER_STREET).await),
        Code::PermissionDenied
    );
    assert_eq!(code_of(&w.compare(&xiantao, XIANTAO_CODE).await), Code::Ok);
    assert_eq!(
        code_of(&w.compare(&xiantao, "").await),
        Code::PermissionDenied
    );
    assert_eq!(
        code_of(&w.compare(&xiantao, STREET).await),
        Code::PermissionDenied
    );
}

#[tokio::test]
async fn values_are_reported_and_read_inside_the_scope_only() {
    let w = World::new().await;
    let officer = |divisions: &[&str]| w.officer(divisions);
    let national = officer(&[NATIONAL]);
    let hubei = officer(&[HUBEI]);
    let xiantao = officer(&[XIANTAO_CODE]);
    let dongcheng = officer(&[DONGCHENG_CODE]);
    let street = officer(&[STREET]);
    for (who, token, code, expected) in [
        ("national", &national, XIANTAO_CODE, Code::Ok),
        (
            "province over a county-level unit",
            &hubei,
            XIANTAO_CODE,
            Code::Ok,
        ),
        ("county-level unit", &xiantao, XIANTAO_TOWNSHIP, Code::Ok),
        (
            "county-level unit, its province",
            &xiantao,
            HUBEI,
            Code::PermissionDenied,
        ),
        (
            "elsewhere",
            &dongcheng,
            XIANTAO_CODE,
            Code::PermissionDenied,
        ),
        ("street, below", &street, STREET_COMMUNITY, Code::Ok),
        (
            "street, sibling",
            &street,
            OTHER_STREET_COMMUNITY,
            Code::PermissionDenied,
        ),
        (
            "street, ancestor",
            &street,
            DONGCHENG_CODE,
            Code::PermissionDenied,
        ),
        (
            "regional, unknown",
            &street,
            UNKNOWN,
            Code::PermissionDenied,
        ),
    ] {
        let result = w.report_value(token, code).await;
        assert_eq!(
            code_of(&result),
            expected,
            "{who} reports for {code}: {result:?}"
        );
        if expected == Code::Ok {
            assert_eq!(
                result.unwrap().actor,
                "official",
                "the subject, not a header"
            );
        }
    }
    assert_eq!(w.value_history(&hubei, XIANTAO_CODE).await.unwrap(), 2);
    assert_eq!(
        code_of(&w.value_history(&dongcheng, XIANTAO_CODE).await),
        Code::PermissionDenied
    );
    assert_eq!(
        code_of(&w.value_history(&street, OTHER_STREET_COMMUNITY).await),
        Code::PermissionDenied
    );
    // Outside the scope comes before any other complaint about the request.
    let mut indicators = w.monitor.indicators().await.unwrap();
    let bad = indicators
        .report_value(with_token(
            pb::ReportValueRequest {
                value: Some(pb::ReportedValue {
                    indicator: "indicators/social_workers".into(),
                    division: division(OTHER_STREET_COMMUNITY),
                    period: "2025-Q9".into(),
                    value: -1.0,
                    ..Default::default()
                }),
            },
            &street,
        ))
        .await;
    assert_eq!(code_of(&bad), Code::PermissionDenied);
}

#[tokio::test]
async fn every_rpc_checks_roles_and_bad_tokens_are_unauthenticated() {
    let w = World::new().await;
    let everywhere = [NATIONAL];
    let reader = w.token(&["plan.reader"], &everywhere);
    let service = w.token(&["service"], &everywhere);
    let editor = w.token(&["registry.editor"], &everywhere);
    let auditor = w.token(&["auditor"], &everywhere);
    for token in [&reader, &service] {
        assert_eq!(code_of(&w.get_plan(token, "plans/hubei").await), Code::Ok);
        assert_eq!(
            code_of(&w.report_value(token, XIANTAO_CODE).await),
            Code::PermissionDenied
        );
        assert_eq!(
            code_of(&w.load_national_plan(token).await),
            Code::PermissionDenied
        );
    }
    for token in [&editor, &auditor] {
        assert_eq!(
            code_of(&w.get_plan(token, "plans/hubei").await),
            Code::PermissionDenied
        );
        assert_eq!(
            code_of(&w.result(token, &w.national_eval, XIANTAO_CODE).await),
            Code::PermissionDenied
        );
    }

    let claims = || TestIssuer::claims("official", &["plan.reader"], &everywhere);
    let set = |key: &str, value: serde_json::Value| {
        let mut c = claims();
        c[key] = value;
        c
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let bad = [
        ("malformed", "not-a-token".to_owned()),
        ("forged", w.auth.issuer.forge(&claims())),
        (
            "expired",
            w.auth.issuer.sign(
                shequ_testkit::TestAlgorithm::Rs256,
                &set("exp", (now - 60).into()),
            ),
        ),
        (
            "wrong audience",
            w.auth.issuer.sign(
                shequ_testkit::TestAlgorithm::Es256,
                &set("aud", "another".into()),
            ),
        ),
    ];
    for (what, token) in &bad {
        let result = w.get_plan(token, "plans/hubei").await;
        assert_eq!(
            code_of(&result),
            Code::Unauthenticated,
            "{what}: {result:?}"
        );
    }
    let mut plans = w.monitor.plans().await.unwrap();
    let missing = plans
        .get_plan(pb::GetPlanRequest {
            name: "plans/hubei".into(),
        })
        .await;
    assert_eq!(code_of(&missing), Code::Unauthenticated);
    let mut client = AuditServiceClient::new(w.monitor.channel().await.unwrap());
    let no_token = client
        .stream_audit_records(audit::StreamAuditRecordsRequest::default())
        .await;
    assert_eq!(code_of(&no_token), Code::Unauthenticated);
}

#[tokio::test]
async fn writes_are_audited_with_their_principal() {
    let w = World::new().await;
    let street = w
        .auth
        .issuer
        .token("street-officer", &["plan.officer"], &[STREET]);
    w.report_value(&street, STREET_COMMUNITY).await.unwrap();
    // A scheduled evaluation, made by a replica with the monitor's service token.
    let mut cfg = monitoring_config(
        w.monitor.database.url(),
        &w.registry.endpoint(),
        "http://127.0.0.1:1",
    )
    .unwrap();
    cfg.auth = w.auth.issuer.auth_config();
    let service = w.auth.service_token_file("shequ-monitoring").unwrap();
    cfg.client.token_file = service.display().to_string();
    cfg.monitoring.schedule = "1h".into();
    cfg.monitoring.schedule_plan = "plans/hubei".into();
    let db = Database::open(
        &cfg.database,
        SERVICE,
        shequ_monitoring::store::migrations::MIGRATIONS,
    )
    .await
    .unwrap();
    let scheduled = Monitoring::new(db, &cfg)
        .unwrap()
        .run_schedule_once()
        .await
        .unwrap()
        .expect("a scheduled evaluation is due");

    let auditor = w.auth.issuer.token("auditor-1", &["auditor"], &[NATIONAL]);
    let records = w.audit_records(&auditor).await.unwrap();
    let find = |action: &str, resource: &str| {
        records
            .iter()
            .find(|r| r.action == action && r.resource == resource)
            .unwrap_or_else(|| panic!("no `{action}` record of {resource} in {records:#?}"))
    };
    let loaded = find("created", "plans/national-14th-fyp");
    assert_eq!(loaded.subject, "official");
    assert_eq!(
        loaded.method,
        "/shequ.monitoring.v1.PlanService/LoadNationalPlan"
    );
    assert_eq!(loaded.principal_kind, audit::PrincipalKind::Token as i32);
    assert_eq!(loaded.roles, vec!["plan.officer".to_owned()]);
    let created = find("created", "plans/hubei");
    assert_eq!(created.division, division(HUBEI));
    assert_eq!(
        created.method,
        "/shequ.monitoring.v1.PlanService/CreatePlan"
    );
    let evaluated = find("evaluated", &w.hubei_eval);
    assert_eq!(evaluated.subject, "official");
    assert_eq!(evaluated.division, division(HUBEI));
    assert!(evaluated.reason.contains("2025-06-30"), "{evaluated:?}");
    let reported = find(
        "reported",
        &format!(
            "indicators/social_workers/{}/revisions/1",
            division(STREET_COMMUNITY)
        ),
    );
    assert_eq!(reported.subject, "street-officer");
    assert_eq!(reported.division, division(STREET_COMMUNITY));
    assert_eq!(reported.reason, "年报");
    let by_schedule = find(
        "evaluated",
        &format!("plans/hubei/evaluations/{}", scheduled.id),
    );
    assert_eq!(by_schedule.subject, "shequ-monitoring");
    assert_eq!(by_schedule.roles, vec!["service".to_owned()]);
    assert_eq!(
        by_schedule.principal_kind,
        audit::PrincipalKind::Token as i32
    );
    assert!(
        by_schedule.reason.starts_with("schedule"),
        "{by_schedule:?}"
    );
    assert!(records.windows(2).all(|p| p[0].position < p[1].position));
    // One record per evaluation made: the national one, the Hubei one, the scheduled one.
    assert_eq!(
        records.iter().filter(|r| r.action == "evaluated").count(),
        3,
        "{records:#?}"
    );

    // The trail is the auditor's alone.
    for token in [
        w.officer(&[NATIONAL]),
        w.token(&["plan.reader"], &[NATIONAL]),
    ] {
        assert_eq!(
            code_of(&w.audit_records(&token).await),
            Code::PermissionDenied
        );
    }
}

#[tokio::test]
async fn evaluations_reach_the_sources_with_the_service_token_only() {
    let w = World::new().await;
    // The survey service runs in development mode, next to a development-mode registry over
    // the same database (the jwt-mode registry refuses its unauthenticated calls).
    let open_registry = TestService::registry_on(w.registry.database.alias())
        .await
        .unwrap();
    let survey = TestService::survey(&open_registry.endpoint())
        .await
        .unwrap();
    let round = answered_round_on(&survey).await;
    let service = w.auth.service_token_file("shequ-monitoring").unwrap();
    let monitor = w
        .auth
        .monitoring(&w.registry.endpoint(), &survey.endpoint(), Some(&service))
        .await
        .unwrap();
    let officer = w.officer(&[NATIONAL]);
    let mut plans = monitor.plans().await.unwrap();
    plans
        .load_national_plan(with_token(pb::LoadNationalPlanRequest {}, &officer))
        .await
        .unwrap();
    let mut evaluations = monitor.evaluations().await.unwrap();
    let request = || {
        with_token(
            pb::EvaluatePlanRequest {
                plan: "plans/national-14th-fyp".into(),
                evaluation_date: "2025-06-30".into(),
                survey_round: round.clone(),
            },
            &officer,
        )
    };
    let evaluation = evaluations
        .evaluate_plan(request())
        .await
        .unwrap()
        .into_inner()
        .evaluation
        .unwrap();
    assert_eq!(evaluation.actor, "official");
    assert!(evaluation.leaf_units > 0);
    let satisfied = evaluations
        .get_division_result(with_token(
            pb::GetDivisionResultRequest {
                evaluation: evaluation.name.clone(),
                division: QIANMEN_1.into(),
            },
            &officer,
        ))
        .await
        .unwrap()
        .into_inner()
        .result
        .unwrap();
    let score = satisfied
        .results
        .iter()
        .find(|r| r.indicator == "indicators/satisfaction_index")
        .expect("satisfaction is evaluated");
    assert!(
        score.value.is_some(),
        "the survey's facts arrived: {score:?}"
    );

    // A token without the `service` role, or none: the registry refuses the monitor, the
    // evaluation is UNAVAILABLE and nothing is stored.
    let reader = w
        .auth
        .issuer
        .token("shequ-monitoring", &["plan.reader"], &[NATIONAL]);
    for (what, token) in [
        ("no service role", Some(reader.as_str())),
        ("no token", None),
    ] {
        let token_file = token.map(|t| w.auth.token_file(t).unwrap());
        let monitor = w
            .auth
            .monitoring(
                &w.registry.endpoint(),
                &survey.endpoint(),
                token_file.as_deref(),
            )
            .await
            .unwrap();
        let mut plans = monitor.plans().await.unwrap();
        plans
            .load_national_plan(with_token(pb::LoadNationalPlanRequest {}, &officer))
            .await
            .unwrap();
        let mut evaluations = monitor.evaluations().await.unwrap();
        let err = evaluations.evaluate_plan(request()).await.unwrap_err();
        assert_eq!(err.code(), Code::Unavailable, "{what}: {err:?}");
        assert!(err.message().contains("registry"), "{what}: {err:?}");
        let stored = evaluations
            .list_evaluations(with_token(
                pb::ListEvaluationsRequest {
                    parent: "plans/national-14th-fyp".into(),
                    ..Default::default()
                },
                &officer,
            ))
            .await
            .unwrap()
            .into_inner()
            .evaluations;
        assert!(stored.is_empty(), "{what}: {stored:?}");
    }
}

#[tokio::test]
async fn development_mode_is_refused_on_postgresql_unless_forced() {
    let registry_endpoint = "http://127.0.0.1:1";
    let database = TestDatabase::fresh().await.unwrap();
    let mut cfg = monitoring_config(database.url(), registry_endpoint, registry_endpoint).unwrap();
    cfg.auth.allow_off_with_postgres = false;
    shequ_testkit::assert_development_mode_refused_on_postgres::<Monitoring>(database, cfg).await;
}
