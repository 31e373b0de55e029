//! Authentication and authorization of the survey service: bad tokens of each kind, the matrix of
//! principals × operations × regions (inside, outside, ancestor, sibling, and 仙桃, a county-level
//! unit under the province-administered group 4290 of 湖北), the audit trail, the survey calling a
//! registry in `jwt` mode with its service token (and refused without it), and development mode
//! on PostgreSQL.

use std::path::PathBuf;

use futures::StreamExt;
use shequ_proto::audit::v1 as audit;
use shequ_proto::survey::v1 as pb;
use shequ_testkit::fixtures;
use shequ_testkit::{
    AuthWorld, Registry, Survey, TestAlgorithm, TestDatabase, TestIssuer, TestService,
    survey_config, with_token,
};
use tonic::Code;

use super::{END, START, questionnaire, response, ts};

const NATIONAL: &str = "000000000000";
const DONGCHENG: &str = "110101000000";
const STREET: &str = "110101001000";
const HUBEI: &str = "420000000000";
const HUBEI_GROUP: &str = "429000000000";
const XIANTAO: &str = "429004000000";

/// A community of street 110101001, one of its sibling street 110101002, one of 仙桃.
const UNIT_IN_STREET: &str = "divisions/110101001001";
const UNIT_IN_SIBLING: &str = "divisions/110101002001";
const UNIT_IN_XIANTAO: &str = "divisions/429004001001";

const READ_WRITE: &[&str] = &["survey.collector", "survey.reader"];

fn code_of<T: std::fmt::Debug>(result: &Result<T, tonic::Status>) -> Code {
    match result {
        Ok(_) => Code::Ok,
        Err(status) => status.code(),
    }
}

/// A registry and a survey service, both in `jwt` mode, the survey calling the registry with a
/// service token; a published questionnaire and open rounds over the whole country, 东城区 and
/// 仙桃市, with one response in each unit of interest.
struct World {
    _registry: TestService<Registry>,
    survey: TestService<Survey>,
    /// The survey's own token, which it calls the registry with.
    token_file: PathBuf,
    questionnaire: String,
    national_round: String,
    dongcheng_round: String,
    xiantao_round: String,
    auth: AuthWorld,
}

impl World {
    async fn new() -> Self {
        let auth = AuthWorld::new().unwrap();
        let registry = auth.registry_with_sample().await.unwrap();
        let token_file = auth.service_token_file("shequ-survey").unwrap();
        let survey = auth
            .survey(&registry.endpoint(), Some(&token_file))
            .await
            .unwrap();
        let mut world = Self {
            _registry: registry,
            survey,
            token_file,
            questionnaire: String::new(),
            national_round: String::new(),
            dongcheng_round: String::new(),
            xiantao_round: String::new(),
            auth,
        };
        let admin = world.token("admin", READ_WRITE, &[NATIONAL]);
        world.questionnaire = world.published(&admin).await;
        world.national_round = world.open(&admin, "").await;
        world.dongcheng_round = world.open(&admin, "divisions/110101").await;
        world.xiantao_round = world.open(&admin, "divisions/429004").await;
        for (round, units) in [
            (
                world.national_round.clone(),
                &[UNIT_IN_STREET, UNIT_IN_SIBLING, UNIT_IN_XIANTAO][..],
            ),
            (
                world.dongcheng_round.clone(),
                &[UNIT_IN_STREET, UNIT_IN_SIBLING][..],
            ),
            (world.xiantao_round.clone(), &[UNIT_IN_XIANTAO][..]),
        ] {
            for unit in units {
                world
                    .submit(&admin, &round, &seeded_id(unit), unit)
                    .await
                    .unwrap();
            }
        }
        world
    }

    fn token(&self, subject: &str, roles: &[&str], divisions: &[&str]) -> String {
        self.auth.issuer.token(subject, roles, divisions)
    }

    async fn published(&self, token: &str) -> String {
        let mut client = self.survey.questionnaires().await.unwrap();
        let q = client
            .create_questionnaire(with_token(
                pb::CreateQuestionnaireRequest {
                    questionnaire: Some(questionnaire()),
                },
                token,
            ))
            .await
            .unwrap()
            .into_inner()
            .questionnaire
            .unwrap();
        client
            .publish_questionnaire(with_token(
                pb::PublishQuestionnaireRequest {
                    name: q.name.clone(),
                },
                token,
            ))
            .await
            .unwrap();
        q.name
    }

    async fn create(&self, token: &str, region: &str) -> Result<pb::Round, tonic::Status> {
        let mut rounds = self.survey.rounds().await.unwrap();
        let round = pb::Round {
            display_name: "满意度调查".into(),
            questionnaire: self.questionnaire.clone(),
            questionnaire_version: 1,
            region: region.into(),
            start_time: ts(START),
            end_time: ts(END),
            min_valid_responses: 1,
            ..Default::default()
        };
        Ok(rounds
            .create_round(with_token(
                pb::CreateRoundRequest { round: Some(round) },
                token,
            ))
            .await?
            .into_inner()
            .round
            .unwrap())
    }

    async fn open(&self, token: &str, region: &str) -> String {
        let name = self.create(token, region).await.unwrap().name;
        self.open_round(token, &name).await.unwrap();
        name
    }

    async fn open_round(&self, token: &str, name: &str) -> Result<pb::Round, tonic::Status> {
        let mut rounds = self.survey.rounds().await.unwrap();
        Ok(rounds
            .open_round(with_token(
                pb::OpenRoundRequest { name: name.into() },
                token,
            ))
            .await?
            .into_inner()
            .round
            .unwrap())
    }

    async fn close_round(&self, token: &str, name: &str) -> Result<pb::Round, tonic::Status> {
        let mut rounds = self.survey.rounds().await.unwrap();
        Ok(rounds
            .close_round(with_token(
                pb::CloseRoundRequest { name: name.into() },
                token,
            ))
            .await?
            .into_inner()
            .round
            .unwrap())
    }

    async fn get_round(&self, token: &str, name: &str) -> Result<pb::Round, tonic::Status> {
        let mut rounds = self.survey.rounds().await.unwrap();
        Ok(rounds
            .get_round(with_token(pb::GetRoundRequest { name: name.into() }, token))
            .await?
            .into_inner()
            .round
            .unwrap())
    }

    async fn list_rounds(&self, token: &str) -> Result<Vec<String>, tonic::Status> {
        let mut rounds = self.survey.rounds().await.unwrap();
        let mut names: Vec<String> = rounds
            .list_rounds(with_token(
                pb::ListRoundsRequest {
                    page_size: 100,
                    ..Default::default()
                },
                token,
            ))
            .await?
            .into_inner()
            .rounds
            .into_iter()
            .map(|r| r.name)
            .collect();
        names.sort();
        Ok(names)
    }

    async fn submit(
        &self,
        token: &str,
        round: &str,
        id: &str,
        unit: &str,
    ) -> Result<pb::SubmitResponseResponse, tonic::Status> {
        let mut responses = self.survey.responses().await.unwrap();
        Ok(responses
            .submit_response(with_token(
                pb::SubmitResponseRequest {
                    parent: round.into(),
                    response: Some(response(id, unit, 4)),
                },
                token,
            ))
            .await?
            .into_inner())
    }

    async fn get_response(&self, token: &str, name: &str) -> Result<pb::Response, tonic::Status> {
        let mut responses = self.survey.responses().await.unwrap();
        Ok(responses
            .get_response(with_token(
                pb::GetResponseRequest { name: name.into() },
                token,
            ))
            .await?
            .into_inner()
            .response
            .unwrap())
    }

    async fn invalidate(&self, token: &str, name: &str) -> Result<pb::Response, tonic::Status> {
        let mut responses = self.survey.responses().await.unwrap();
        Ok(responses
            .invalidate_response(with_token(
                pb::InvalidateResponseRequest {
                    name: name.into(),
                    reason: "重复填写".into(),
                },
                token,
            ))
            .await?
            .into_inner()
            .response
            .unwrap())
    }

    async fn results(
        &self,
        token: &str,
        round: &str,
        division: &str,
    ) -> Result<pb::GetRoundResultsResponse, tonic::Status> {
        let mut rounds = self.survey.rounds().await.unwrap();
        Ok(rounds
            .get_round_results(with_token(
                pb::GetRoundResultsRequest {
                    round: round.into(),
                    division: division.into(),
                },
                token,
            ))
            .await?
            .into_inner())
    }

    async fn coverage(
        &self,
        token: &str,
        round: &str,
        division: &str,
    ) -> Result<pb::GetRoundCoverageResponse, tonic::Status> {
        let mut rounds = self.survey.rounds().await.unwrap();
        Ok(rounds
            .get_round_coverage(with_token(
                pb::GetRoundCoverageRequest {
                    round: round.into(),
                    division: division.into(),
                    ..Default::default()
                },
                token,
            ))
            .await?
            .into_inner())
    }

    async fn facts(&self, token: &str, round: &str) -> Result<usize, tonic::Status> {
        let mut rounds = self.survey.rounds().await.unwrap();
        let mut stream = rounds
            .stream_round_facts(with_token(
                pb::StreamRoundFactsRequest {
                    round: round.into(),
                },
                token,
            ))
            .await?
            .into_inner();
        let mut units = 0;
        while let Some(message) = stream.next().await {
            units += message?.facts.len();
        }
        Ok(units)
    }

    /// The exported CSV's lines.
    async fn export(&self, token: &str, round: &str) -> Result<Vec<String>, tonic::Status> {
        let mut rounds = self.survey.rounds().await.unwrap();
        let mut stream = rounds
            .export_responses(with_token(
                pb::ExportResponsesRequest {
                    round: round.into(),
                },
                token,
            ))
            .await?
            .into_inner();
        let mut data = Vec::new();
        while let Some(message) = stream.next().await {
            data.extend(message?.data);
        }
        Ok(String::from_utf8(data)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect())
    }

    async fn bulk(
        &self,
        token: &str,
        round: &str,
        responses: Vec<pb::Response>,
    ) -> Result<Vec<pb::SubmitResult>, tonic::Status> {
        let mut client = self.survey.responses().await.unwrap();
        let request = pb::BulkSubmitResponsesRequest {
            parent: round.into(),
            responses,
        };
        let mut stream = client
            .bulk_submit_responses(with_token(tokio_stream::iter(vec![request]), token))
            .await?
            .into_inner();
        let mut results = Vec::new();
        while let Some(message) = stream.next().await {
            results.extend(message?.results);
        }
        Ok(results)
    }

    async fn audit_records(&self, token: &str) -> Result<Vec<audit::AuditRecord>, tonic::Status> {
        let mut client = self.survey.audit().await.unwrap();
        let stream = client
            .stream_audit_records(with_token(
                audit::StreamAuditRecordsRequest::default(),
                token,
            ))
            .await?
            .into_inner();
        Ok(stream.map(|r| r.unwrap().record.unwrap()).collect().await)
    }
}

/// The id of the response seeded at `unit`.
fn seeded_id(unit: &str) -> String {
    format!("seed-{}", unit.trim_start_matches("divisions/"))
}

fn response_of(round: &str, unit: &str) -> String {
    format!("{round}/responses/{}", seeded_id(unit))
}

#[tokio::test]
async fn principals_act_only_inside_their_divisions() {
    let w = World::new().await;
    let national = w.token("national", READ_WRITE, &[NATIONAL]);
    let county = w.token("county", READ_WRITE, &[DONGCHENG]);
    let street = w.token("street", READ_WRITE, &[STREET]);
    let hubei = w.token("hubei", READ_WRITE, &[HUBEI]);
    let group = w.token("group", READ_WRITE, &[HUBEI_GROUP]);
    let xiantao = w.token("xiantao", READ_WRITE, &[XIANTAO]);
    let two = w.token("two", READ_WRITE, &[STREET, XIANTAO]);
    let nowhere = w.token("nowhere", READ_WRITE, &[]);

    // Reading rounds: a region inside the scope or holding it; never one beside it.
    let (n, d, x) = (&w.national_round, &w.dongcheng_round, &w.xiantao_round);
    let reads: Vec<(&str, &String, &String, Code)> = vec![
        ("national", &national, d, Code::Ok),
        ("national", &national, x, Code::Ok),
        ("county, its own", &county, d, Code::Ok),
        ("county, the country's", &county, n, Code::Ok),
        ("county, outside", &county, x, Code::PermissionDenied),
        ("street, the county above", &street, d, Code::Ok),
        ("street, outside", &street, x, Code::PermissionDenied),
        ("province over a county-level unit", &hubei, x, Code::Ok),
        ("province, outside", &hubei, d, Code::PermissionDenied),
        ("group over a county-level unit", &group, x, Code::Ok),
        ("county-level unit", &xiantao, x, Code::Ok),
        (
            "county-level unit, outside",
            &xiantao,
            d,
            Code::PermissionDenied,
        ),
        ("two divisions", &two, d, Code::Ok),
        ("two divisions", &two, x, Code::Ok),
        ("no division", &nowhere, n, Code::PermissionDenied),
    ];
    for (who, token, round, expected) in &reads {
        let result = w.get_round(token, round).await;
        assert_eq!(
            code_of(&result),
            *expected,
            "{who} reads {round}: {result:?}"
        );
    }

    // Listings keep the rounds the caller may read.
    let mut expected = vec![n.clone(), d.clone()];
    expected.sort();
    assert_eq!(w.list_rounds(&street).await.unwrap(), expected);
    let mut expected = vec![n.clone(), x.clone()];
    expected.sort();
    assert_eq!(w.list_rounds(&hubei).await.unwrap(), expected);
    assert_eq!(w.list_rounds(&national).await.unwrap().len(), 3);
    assert!(w.list_rounds(&nowhere).await.unwrap().is_empty());

    // A round that does not exist: refused for a regional principal, NOT_FOUND nationally.
    let missing = "rounds/0190a000-0000-7000-8000-000000000000";
    assert_eq!(
        code_of(&w.get_round(&county, missing).await),
        Code::PermissionDenied
    );
    assert_eq!(
        code_of(&w.get_round(&national, missing).await),
        Code::NotFound
    );

    // Creating, opening and closing need the whole region in scope.
    let creations: Vec<(&str, &String, &str, Code)> = vec![
        (
            "county, the whole country",
            &county,
            "",
            Code::PermissionDenied,
        ),
        ("national, the whole country", &national, "", Code::Ok),
        ("county, its own", &county, "divisions/110101", Code::Ok),
        (
            "street, the county above",
            &street,
            "divisions/110101",
            Code::PermissionDenied,
        ),
        ("street, its own", &street, "divisions/110101001", Code::Ok),
        (
            "street, a sibling",
            &street,
            "divisions/110101002",
            Code::PermissionDenied,
        ),
        (
            "province, a county-level unit",
            &hubei,
            "divisions/429004",
            Code::Ok,
        ),
        (
            "group, a county-level unit",
            &group,
            "divisions/429004",
            Code::Ok,
        ),
        (
            "county, outside",
            &county,
            "divisions/429004",
            Code::PermissionDenied,
        ),
        (
            "county, unknown code",
            &county,
            "divisions/429099",
            Code::PermissionDenied,
        ),
        (
            "national, unknown code",
            &national,
            "divisions/429099",
            Code::NotFound,
        ),
    ];
    for (who, token, region, expected) in &creations {
        let result = w.create(token, region).await;
        assert_eq!(
            code_of(&result),
            *expected,
            "{who} creates over `{region}`: {result:?}"
        );
    }
    let draft = w.create(&county, "divisions/110101").await.unwrap().name;
    assert_eq!(
        code_of(&w.open_round(&street, &draft).await),
        Code::PermissionDenied
    );
    assert_eq!(
        code_of(&w.open_round(&hubei, &draft).await),
        Code::PermissionDenied
    );
    assert_eq!(code_of(&w.open_round(&county, &draft).await), Code::Ok);
    assert_eq!(
        code_of(&w.close_round(&street, &draft).await),
        Code::PermissionDenied
    );
    assert_eq!(
        code_of(&w.close_round(&county, n).await),
        Code::PermissionDenied,
        "a national round needs national scope"
    );
    assert_eq!(code_of(&w.close_round(&county, &draft).await), Code::Ok);

    // Submitting: the response's leaf unit decides, in any round holding it.
    let submissions: Vec<(&str, &String, &String, &str, Code)> = vec![
        ("street, its unit", &street, n, UNIT_IN_STREET, Code::Ok),
        (
            "street, its unit, county round",
            &street,
            d,
            UNIT_IN_STREET,
            Code::Ok,
        ),
        (
            "street, a sibling's unit",
            &street,
            n,
            UNIT_IN_SIBLING,
            Code::PermissionDenied,
        ),
        (
            "county, outside",
            &county,
            n,
            UNIT_IN_XIANTAO,
            Code::PermissionDenied,
        ),
        (
            "province, county-level unit",
            &hubei,
            n,
            UNIT_IN_XIANTAO,
            Code::Ok,
        ),
        (
            "group, county-level unit",
            &group,
            x,
            UNIT_IN_XIANTAO,
            Code::Ok,
        ),
        ("county-level unit", &xiantao, x, UNIT_IN_XIANTAO, Code::Ok),
        (
            "county-level unit, outside",
            &xiantao,
            n,
            UNIT_IN_STREET,
            Code::PermissionDenied,
        ),
        ("two divisions", &two, n, UNIT_IN_XIANTAO, Code::Ok),
        (
            "two divisions, sibling",
            &two,
            n,
            UNIT_IN_SIBLING,
            Code::PermissionDenied,
        ),
        (
            "round beside the scope",
            &hubei,
            d,
            UNIT_IN_STREET,
            Code::PermissionDenied,
        ),
        (
            "county, unknown unit",
            &county,
            n,
            "divisions/999999999999",
            Code::PermissionDenied,
        ),
        (
            "national, unknown unit",
            &national,
            n,
            "divisions/999999999999",
            Code::InvalidArgument,
        ),
    ];
    for (i, (who, token, round, unit, expected)) in submissions.iter().enumerate() {
        let result = w.submit(token, round, &format!("matrix-{i}"), unit).await;
        assert_eq!(
            code_of(&result),
            *expected,
            "{who} submits {unit} to {round}: {result:?}"
        );
    }

    // Reading and invalidating responses: by their leaf unit; a missing one tells nothing.
    let in_street = response_of(n, UNIT_IN_STREET);
    let in_sibling = response_of(n, UNIT_IN_SIBLING);
    let in_xiantao = response_of(n, UNIT_IN_XIANTAO);
    let response_reads: Vec<(&str, &String, &String, Code)> = vec![
        ("street, its unit", &street, &in_street, Code::Ok),
        (
            "street, a sibling's unit",
            &street,
            &in_sibling,
            Code::PermissionDenied,
        ),
        ("county", &county, &in_sibling, Code::Ok),
        (
            "county, outside",
            &county,
            &in_xiantao,
            Code::PermissionDenied,
        ),
        ("province, county-level unit", &hubei, &in_xiantao, Code::Ok),
        ("county-level unit", &xiantao, &in_xiantao, Code::Ok),
    ];
    for (who, token, name, expected) in &response_reads {
        let result = w.get_response(token, name).await;
        assert_eq!(
            code_of(&result),
            *expected,
            "{who} reads {name}: {result:?}"
        );
    }
    let missing = format!("{n}/responses/never-sent");
    assert_eq!(
        code_of(&w.get_response(&street, &missing).await),
        Code::PermissionDenied
    );
    assert_eq!(
        code_of(&w.get_response(&national, &missing).await),
        Code::NotFound
    );
    assert_eq!(
        code_of(&w.invalidate(&street, &in_sibling).await),
        Code::PermissionDenied
    );
    assert_eq!(
        code_of(&w.invalidate(&street, &missing).await),
        Code::PermissionDenied
    );
    assert_eq!(code_of(&w.invalidate(&street, &in_street).await), Code::Ok);
    assert_eq!(
        code_of(&w.invalidate(&national, &missing).await),
        Code::NotFound
    );

    // Results and coverage: the division asked for (the round's region when none) in scope.
    let parts: Vec<(&str, &String, &String, &str, Code)> = vec![
        (
            "street, its street of the country's round",
            &street,
            n,
            "divisions/110101001",
            Code::Ok,
        ),
        (
            "street, the county above",
            &street,
            n,
            "divisions/110101",
            Code::PermissionDenied,
        ),
        (
            "street, the whole country",
            &street,
            n,
            "",
            Code::PermissionDenied,
        ),
        (
            "street, a sibling",
            &street,
            d,
            "divisions/110101002",
            Code::PermissionDenied,
        ),
        (
            "street, its street of the county's round",
            &street,
            d,
            "divisions/110101001",
            Code::Ok,
        ),
        ("county, its round's region", &county, d, "", Code::Ok),
        ("national, the whole country", &national, n, "", Code::Ok),
        (
            "province, county-level unit's round",
            &hubei,
            x,
            "",
            Code::Ok,
        ),
        (
            "province, its province of the country's round",
            &hubei,
            n,
            "divisions/42",
            Code::Ok,
        ),
        (
            "county, round beside it",
            &county,
            x,
            "divisions/429004",
            Code::PermissionDenied,
        ),
        (
            "county, outside it in the country's round",
            &county,
            n,
            "divisions/429004",
            Code::PermissionDenied,
        ),
    ];
    for (who, token, round, division, expected) in &parts {
        let result = w.results(token, round, division).await;
        assert_eq!(
            code_of(&result),
            *expected,
            "{who}: results of `{division}`: {result:?}"
        );
        let result = w.coverage(token, round, division).await;
        assert_eq!(
            code_of(&result),
            *expected,
            "{who}: coverage of `{division}`: {result:?}"
        );
    }
    // The street's figures in the national round: its seeded response, invalidated above, and
    // the accepted matrix submission.
    let figures = w.results(&street, n, "divisions/110101001").await.unwrap();
    assert_eq!(figures.valid_responses, 1);

    // The facts stream needs national scope, a service's as anyone's.
    assert_eq!(code_of(&w.facts(&county, d).await), Code::PermissionDenied);
    let service = w.token("shequ-monitoring", &["service"], &[NATIONAL]);
    assert_eq!(w.facts(&service, d).await.unwrap(), 169);
    let reader = w.token("national-reader", &["survey.reader"], &[NATIONAL]);
    assert_eq!(w.facts(&reader, x).await.unwrap(), SAMPLE_XIANTAO_UNITS);

    // Exports are the round's raw data: only for the whole region in scope.
    let lines = w.export(&county, d).await.unwrap();
    // Header, the two seeded responses and the street's submission.
    assert_eq!(lines.len(), 4, "{lines:?}");
    assert_eq!(code_of(&w.export(&street, d).await), Code::PermissionDenied);
    assert_eq!(code_of(&w.export(&county, n).await), Code::PermissionDenied);
    assert_eq!(code_of(&w.export(&county, x).await), Code::PermissionDenied);

    // A bulk batch: each response outside the scope is refused on its own.
    let results = w
        .bulk(
            &street,
            n,
            vec![
                response("bulk-inside", UNIT_IN_STREET, 5),
                response("bulk-sibling", UNIT_IN_SIBLING, 5),
                response("bulk-xiantao", UNIT_IN_XIANTAO, 5),
            ],
        )
        .await
        .unwrap();
    let outcomes: Vec<(&str, i32, i32)> = results
        .iter()
        .map(|r| (r.response_id.as_str(), r.outcome, r.code))
        .collect();
    assert_eq!(
        outcomes,
        [
            ("bulk-inside", pb::SubmitOutcome::Accepted as i32, 0),
            (
                "bulk-sibling",
                pb::SubmitOutcome::Rejected as i32,
                Code::PermissionDenied as i32
            ),
            (
                "bulk-xiantao",
                pb::SubmitOutcome::Rejected as i32,
                Code::PermissionDenied as i32
            ),
        ]
    );
    let refused = w
        .bulk(&hubei, d, vec![response("bulk-beside", UNIT_IN_STREET, 5)])
        .await;
    assert_eq!(code_of(&refused), Code::PermissionDenied);
}

/// Leaf units of 仙桃市 in the sample (936 in all, 169 of them in 东城区).
const SAMPLE_XIANTAO_UNITS: usize = 936 - 169;

#[tokio::test]
async fn every_rpc_checks_its_roles() {
    let w = World::new().await;
    let reader = w.token("reader", &["survey.reader"], &[NATIONAL]);
    let auditor = w.token("auditor", &["auditor"], &[NATIONAL]);
    let registry_editor = w.token("editor", &["registry.editor"], &[NATIONAL]);
    let service = w.token("service", &["service"], &[NATIONAL]);

    // Questionnaires are national: any reader reads them, only collectors write them.
    let mut questionnaires = w.survey.questionnaires().await.unwrap();
    for (token, expected) in [
        (&reader, Code::Ok),
        (&service, Code::Ok),
        (&auditor, Code::PermissionDenied),
        (&registry_editor, Code::PermissionDenied),
    ] {
        let result = questionnaires
            .get_questionnaire(with_token(
                pb::GetQuestionnaireRequest {
                    name: w.questionnaire.clone(),
                    version: 1,
                },
                token,
            ))
            .await;
        assert_eq!(code_of(&result), expected);
    }
    let regional_reader = w.token("street-reader", &["survey.reader"], &[STREET]);
    let listed = questionnaires
        .list_questionnaires(with_token(
            pb::ListQuestionnairesRequest::default(),
            &regional_reader,
        ))
        .await
        .unwrap()
        .into_inner()
        .questionnaires;
    assert_eq!(
        listed.len(),
        1,
        "a regional reader reads national questionnaires"
    );
    for token in [&reader, &service, &auditor] {
        let created = questionnaires
            .create_questionnaire(with_token(
                pb::CreateQuestionnaireRequest {
                    questionnaire: Some(questionnaire()),
                },
                token,
            ))
            .await;
        assert_eq!(code_of(&created), Code::PermissionDenied);
        assert_eq!(
            code_of(
                &w.submit(token, &w.national_round, "by-reader", UNIT_IN_STREET)
                    .await
            ),
            Code::PermissionDenied
        );
    }
    assert_eq!(
        code_of(&w.get_round(&reader, &w.national_round).await),
        Code::Ok
    );
    assert_eq!(
        code_of(&w.get_round(&auditor, &w.national_round).await),
        Code::PermissionDenied
    );
    // The audit stream is the auditor's alone.
    for token in [
        &reader,
        &service,
        &w.token("admin", READ_WRITE, &[NATIONAL]),
    ] {
        assert_eq!(
            code_of(&w.audit_records(token).await),
            Code::PermissionDenied
        );
    }
    assert!(!w.audit_records(&auditor).await.unwrap().is_empty());
}

#[tokio::test]
async fn bad_tokens_are_unauthenticated() {
    let w = World::new().await;
    let claims = || TestIssuer::claims("official", &["survey.reader"], &[NATIONAL]);
    let set = |key: &str, value: serde_json::Value| {
        let mut c = claims();
        c[key] = value;
        c
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let get = |token: Option<String>| {
        let name = w.national_round.clone();
        let survey = &w.survey;
        async move {
            let mut rounds = survey.rounds().await.unwrap();
            let message = pb::GetRoundRequest { name };
            let request = match &token {
                Some(token) => with_token(message, token),
                None => tonic::Request::new(message),
            };
            rounds.get_round(request).await
        }
    };
    assert_eq!(
        code_of(&get(Some(w.auth.issuer.sign(TestAlgorithm::Es256, &claims()))).await),
        Code::Ok
    );
    let bad: Vec<(&str, Option<String>)> = vec![
        ("missing", None),
        ("malformed", Some("not-a-token".into())),
        ("forged", Some(w.auth.issuer.forge(&claims()))),
        (
            "expired",
            Some(
                w.auth
                    .issuer
                    .sign(TestAlgorithm::Rs256, &set("exp", (now - 60).into())),
            ),
        ),
        (
            "wrong issuer",
            Some(w.auth.issuer.sign(
                TestAlgorithm::Rs256,
                &set("iss", "https://elsewhere.test".into()),
            )),
        ),
        (
            "wrong audience",
            Some(
                w.auth
                    .issuer
                    .sign(TestAlgorithm::Es256, &set("aud", "another".into())),
            ),
        ),
    ];
    for (what, token) in bad {
        let result = get(token).await;
        assert_eq!(
            code_of(&result),
            Code::Unauthenticated,
            "{what}: {result:?}"
        );
    }
}

#[tokio::test]
async fn writes_are_audited_with_their_principal() {
    let w = World::new().await;
    let auditor = w.token("auditor", &["auditor"], &[NATIONAL]);
    let street = w.token("street-official", READ_WRITE, &[STREET]);
    let before = w.audit_records(&auditor).await.unwrap();
    // World::new: a questionnaire created and published, three rounds created and opened, six
    // responses submitted one by one, all by `admin`.
    let actions: Vec<(&str, &str)> = before
        .iter()
        .map(|r| (r.action.as_str(), r.method.rsplit('/').next().unwrap()))
        .collect();
    let mut expected = vec![
        ("created", "CreateQuestionnaire"),
        ("published", "PublishQuestionnaire"),
    ];
    for _ in 0..3 {
        expected.extend([("created", "CreateRound"), ("opened", "OpenRound")]);
    }
    expected.extend([("submitted", "SubmitResponse"); 6]);
    assert_eq!(actions, expected);
    assert!(before.iter().all(|r| r.subject == "admin"));
    assert_eq!(before[1].reason, "published as version 1");
    assert_eq!(before[2].division, "", "the national round");
    assert_eq!(before[4].division, "divisions/110101000000");

    // A bulk stream of two batches: one record per committed batch, none for a batch that
    // accepted nothing, none for refused writes.
    let mut client = w.survey.responses().await.unwrap();
    let batches = vec![
        pb::BulkSubmitResponsesRequest {
            parent: w.national_round.clone(),
            responses: (0..3)
                .map(|i| response(&format!("bulk-{i}"), UNIT_IN_STREET, 4))
                .chain([response("bulk-sibling", UNIT_IN_SIBLING, 4)])
                .collect(),
        },
        pb::BulkSubmitResponsesRequest {
            parent: String::new(),
            responses: vec![response("bulk-0", UNIT_IN_STREET, 4)],
        },
        pb::BulkSubmitResponsesRequest {
            parent: String::new(),
            responses: (3..5)
                .map(|i| response(&format!("bulk-{i}"), UNIT_IN_STREET, 4))
                .collect(),
        },
    ];
    let mut stream = client
        .bulk_submit_responses(with_token(tokio_stream::iter(batches), &street))
        .await
        .unwrap()
        .into_inner();
    while let Some(message) = stream.next().await {
        message.unwrap();
    }
    assert!(
        w.invalidate(&street, &response_of(&w.national_round, UNIT_IN_SIBLING))
            .await
            .is_err()
    );
    let invalidated = w
        .invalidate(&street, &response_of(&w.national_round, UNIT_IN_STREET))
        .await
        .unwrap();
    assert_eq!(
        invalidated.invalidation.unwrap().actor,
        "street-official",
        "a verified principal is the actor"
    );

    let after = w.audit_records(&auditor).await.unwrap();
    let new = &after[before.len()..];
    assert_eq!(new.len(), 3, "{new:?}");
    for record in &new[..2] {
        assert_eq!(
            record.method,
            "/shequ.survey.v1.ResponseService/BulkSubmitResponses"
        );
        assert_eq!(record.resource, w.national_round);
        assert_eq!(record.division, "");
        assert_eq!(record.subject, "street-official");
        assert_eq!(record.principal_kind, audit::PrincipalKind::Token as i32);
        assert_eq!(record.roles, ["survey.collector", "survey.reader"]);
    }
    assert_eq!(new[0].reason, "3 responses accepted");
    assert_eq!(new[1].reason, "2 responses accepted");
    let invalidation = &new[2];
    assert_eq!(invalidation.action, "invalidated");
    assert_eq!(
        invalidation.resource,
        response_of(&w.national_round, UNIT_IN_STREET)
    );
    assert_eq!(invalidation.division, "divisions/110101001001");
    assert_eq!(invalidation.reason, "重复填写");
    assert!(after.windows(2).all(|p| p[0].position < p[1].position));

    // Following: a new write arrives as it commits.
    let mut client = w.survey.audit().await.unwrap();
    let mut follow = client
        .stream_audit_records(with_token(
            audit::StreamAuditRecordsRequest {
                after_position: after.last().unwrap().position,
                follow: true,
            },
            &auditor,
        ))
        .await
        .unwrap()
        .into_inner();
    w.submit(&street, &w.dongcheng_round, "followed", UNIT_IN_STREET)
        .await
        .unwrap();
    let live = follow.next().await.unwrap().unwrap().record.unwrap();
    assert_eq!(live.subject, "street-official");
    assert_eq!(
        live.resource,
        format!("{}/responses/followed", w.dongcheng_round)
    );
    assert_eq!(live.division, "divisions/110101001001");
}

/// Replaces the survey's token file, dated later than any earlier version so the change shows.
fn rewrite_token(path: &std::path::Path, token: &str, later_by_secs: u64) {
    std::fs::write(path, token).unwrap();
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(std::time::SystemTime::now() + std::time::Duration::from_secs(later_by_secs))
        .unwrap();
}

#[tokio::test]
async fn a_refused_service_token_makes_unit_checks_unavailable_not_invalid() {
    let w = World::new().await;
    let admin = w.token("admin", READ_WRITE, &[NATIONAL]);
    // Codes the round's region map does not hold, so the survey asks the registry; each is used
    // once, since a verdict is remembered.
    let mut next = 900;
    let mut unknown_unit = || {
        next += 1;
        format!("divisions/110101001{next:03}")
    };
    let status = w
        .submit(&admin, &w.dongcheng_round, "unknown-0", &unknown_unit())
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");

    // The token expires on disk: the survey rereads it (at most once a second) and the registry
    // refuses it. The unit cannot be checked, which is UNAVAILABLE, never INVALID_ARGUMENT.
    let mut expired = TestIssuer::claims("shequ-survey", &["service"], &[NATIONAL]);
    expired["exp"] = serde_json::json!(1_000_000_000);
    rewrite_token(
        &w.token_file,
        &w.auth.issuer.sign(TestAlgorithm::Rs256, &expired),
        5,
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let refused = loop {
        let status = w
            .submit(&admin, &w.dongcheng_round, "unknown-1", &unknown_unit())
            .await
            .unwrap_err();
        if status.code() == Code::Unavailable {
            break status;
        }
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
        assert!(
            std::time::Instant::now() < deadline,
            "the new token was never used"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert!(
        refused.message().contains("registry refused"),
        "{refused:?}"
    );
    // A bulk batch holding such a unit fails as a whole and writes nothing.
    let batch = w
        .bulk(
            &admin,
            &w.dongcheng_round,
            vec![
                response("bulk-known", UNIT_IN_STREET, 5),
                response("bulk-unknown", &unknown_unit(), 5),
            ],
        )
        .await;
    assert_eq!(code_of(&batch), Code::Unavailable, "{batch:?}");
    let known = format!("{}/responses/bulk-known", w.dongcheng_round);
    assert_eq!(
        code_of(&w.get_response(&admin, &known).await),
        Code::NotFound
    );

    // A good token again: the same kind of unit is judged again.
    rewrite_token(
        &w.token_file,
        &w.auth
            .issuer
            .token("shequ-survey", &["service"], &[NATIONAL]),
        10,
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let status = w
            .submit(&admin, &w.dongcheng_round, "unknown-2", &unknown_unit())
            .await
            .unwrap_err();
        if status.code() == Code::InvalidArgument {
            break;
        }
        assert_eq!(status.code(), Code::Unavailable, "{status:?}");
        assert!(
            std::time::Instant::now() < deadline,
            "the restored token was never used"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn without_its_token_the_registry_refuses_the_survey() {
    let auth = AuthWorld::new().unwrap();
    let issuer = &auth.issuer;
    let registry = auth.registry_with_sample().await.unwrap();
    let survey = auth.survey(&registry.endpoint(), None).await.unwrap();
    let admin = issuer.token("admin", READ_WRITE, &[NATIONAL]);
    let mut questionnaires = survey.questionnaires().await.unwrap();
    let q = questionnaires
        .create_questionnaire(with_token(
            pb::CreateQuestionnaireRequest {
                questionnaire: Some(questionnaire()),
            },
            &admin,
        ))
        .await
        .unwrap()
        .into_inner()
        .questionnaire
        .unwrap();
    questionnaires
        .publish_questionnaire(with_token(
            pb::PublishQuestionnaireRequest {
                name: q.name.clone(),
            },
            &admin,
        ))
        .await
        .unwrap();
    let mut rounds = survey.rounds().await.unwrap();
    let round = |region: &str| pb::Round {
        display_name: "满意度调查".into(),
        questionnaire: q.name.clone(),
        questionnaire_version: 1,
        region: region.into(),
        start_time: ts(START),
        end_time: ts(END),
        min_valid_responses: 1,
        ..Default::default()
    };
    let refused = |status: &tonic::Status| {
        assert_eq!(status.code(), Code::Unavailable, "{status:?}");
        assert!(status.message().contains("registry refused"), "{status:?}");
    };
    // Checking a region asks the registry.
    let status = rounds
        .create_round(with_token(
            pb::CreateRoundRequest {
                round: Some(round("divisions/110101")),
            },
            &admin,
        ))
        .await
        .unwrap_err();
    refused(&status);
    // A national round needs no check to be created, but opening it loads its leaf units.
    let national = rounds
        .create_round(with_token(
            pb::CreateRoundRequest {
                round: Some(round("")),
            },
            &admin,
        ))
        .await
        .unwrap()
        .into_inner()
        .round
        .unwrap();
    let status = rounds
        .open_round(with_token(
            pb::OpenRoundRequest {
                name: national.name.clone(),
            },
            &admin,
        ))
        .await
        .unwrap_err();
    refused(&status);
    // A regional principal's scope is placed by the registry too.
    let county = issuer.token("county", READ_WRITE, &[DONGCHENG]);
    let status = rounds
        .create_round(with_token(
            pb::CreateRoundRequest {
                round: Some(round("divisions/110101")),
            },
            &county,
        ))
        .await
        .unwrap_err();
    refused(&status);
}

#[tokio::test]
async fn development_mode_is_refused_on_postgres_unless_forced() {
    let database = TestDatabase::fresh().await.unwrap();
    let mut cfg = survey_config(database.url(), "http://127.0.0.1:1").unwrap();
    cfg.auth.allow_off_with_postgres = false;
    shequ_testkit::assert_development_mode_refused_on_postgres::<Survey>(database, cfg).await;
}

/// Imports 天津 and 宁夏 into the world's registry.
async fn import_tianjin_ningxia(w: &World) {
    let admin = w.token("admin", &["registry.editor"], &[NATIONAL]);
    let requests = fixtures::import_requests(&fixtures::TIANJIN_NINGXIA, "2023", 1024);
    w._registry
        .divisions()
        .await
        .unwrap()
        .import_divisions(with_token(tokio_stream::iter(requests), &admin))
        .await
        .unwrap();
}

/// A token's regional scope holds for every kind of principal: a `service` token scoped to 天津
/// streams no facts of 宁夏's round, nor of the national round, whose facts cover 宁夏 too. Only
/// a national token (a service's included) reads the facts.
#[tokio::test]
async fn a_scoped_service_token_streams_no_facts_beyond_its_scope() {
    use fixtures::{NINGXIA, NINGXIA_COMMUNITY, TIANJIN};
    let w = World::new().await;
    import_tianjin_ningxia(&w).await;
    let admin = w.token("admin", READ_WRITE, &[NATIONAL]);
    let ningxia_round = w.open(&admin, "divisions/64").await;
    w.submit(&admin, &ningxia_round, "nx-1", NINGXIA_COMMUNITY)
        .await
        .unwrap();

    let tianjin_service = w.token("shequ-monitoring", &["service"], &[TIANJIN]);
    for round in [&ningxia_round, &w.national_round] {
        let result = w.facts(&tianjin_service, round).await;
        assert_eq!(code_of(&result), Code::PermissionDenied, "{result:?}");
    }
    // Scoped to the round's own province is not national either.
    let ningxia_service = w.token("shequ-monitoring", &["service"], &[NINGXIA]);
    let result = w.facts(&ningxia_service, &ningxia_round).await;
    assert_eq!(code_of(&result), Code::PermissionDenied, "{result:?}");
    // A national service token reads them: 宁夏's two communities.
    let national_service = w.token("shequ-monitoring", &["service"], &[NATIONAL]);
    assert_eq!(w.facts(&national_service, &ningxia_round).await.unwrap(), 2);
}

/// A response id is a round's resource name, so another region's collector cannot reuse it; the
/// refusal says only that the id is taken, nothing about the stored response, which stays as it
/// was and unreadable to that collector.
#[tokio::test]
async fn a_response_id_taken_in_another_region_discloses_nothing() {
    use fixtures::{NINGXIA, NINGXIA_COMMUNITY, TIANJIN, TIANJIN_COMMUNITY};
    let w = World::new().await;
    import_tianjin_ningxia(&w).await;
    let admin = w.token("admin", READ_WRITE, &[NATIONAL]);
    let round = w.open(&admin, "").await;
    let ningxia = w.token("ningxia-collector", READ_WRITE, &[NINGXIA]);
    let tianjin = w.token("tianjin-collector", READ_WRITE, &[TIANJIN]);
    let stored = w
        .submit(&ningxia, &round, "shared-id", NINGXIA_COMMUNITY)
        .await
        .unwrap()
        .response
        .unwrap();

    let refused = w
        .submit(&tianjin, &round, "shared-id", TIANJIN_COMMUNITY)
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::AlreadyExists, "{refused:?}");
    let mut told = refused.message().to_owned();
    for (field, description) in shequ_platform::status::field_violations(&refused) {
        told.push_str(&format!("\n{field}: {description}"));
    }
    let bulk = w
        .bulk(
            &tianjin,
            &round,
            vec![response("shared-id", TIANJIN_COMMUNITY, 5)],
        )
        .await
        .unwrap();
    assert_eq!(bulk[0].outcome, pb::SubmitOutcome::Rejected as i32);
    assert_eq!(bulk[0].code, Code::AlreadyExists as i32);
    told.push_str(&bulk[0].message);
    for v in &bulk[0].field_violations {
        told.push_str(&format!("\n{}: {}", v.field, v.description));
    }
    for secret in ["640104", "640000", "宁夏", "崇安", "ningxia"] {
        assert!(!told.contains(secret), "`{secret}` in {told}");
    }
    let name = format!("{round}/responses/shared-id");
    assert_eq!(
        code_of(&w.get_response(&tianjin, &name).await),
        Code::PermissionDenied
    );
    assert_eq!(w.get_response(&ningxia, &name).await.unwrap(), stored);
}
