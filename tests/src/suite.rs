//! The three services in this process (through `shequ-testkit`), each started once on a fresh
//! database of the kind the environment selects, with one set of seeded resources in the states
//! the suites that walk every method need: a resource to read, one to change, one already gone.
//! Development mode for the robustness suite; `jwt` mode, in an [`AuthWorld`], for the
//! authorization suite.

use prost::Message;
use prost_types::Timestamp;
use shequ_platform::auth::Role;
use shequ_proto::audit::v1 as audit;
use shequ_proto::monitoring::v1 as plan;
use shequ_proto::registry::v1 as registry;
use shequ_proto::survey::v1 as survey;
use shequ_testkit::fixtures::{self, SAMPLE};
use shequ_testkit::{AuthWorld, Monitoring, Registry, Survey, TestService};
use tonic::Status;
use tonic::transport::Channel;

use crate::rpc::{self, Messages, Method, Server};

pub use shequ_platform::auth::NATIONAL;
/// 北京市, 东城区, its street 东华门街道 and a community there (多福巷社区居委会): where every
/// seeded resource lies.
pub const BEIJING: &str = "divisions/11";
pub const DONGCHENG: &str = "divisions/110101";
pub const STREET: &str = "divisions/110101001";
pub const COMMUNITY: &str = "divisions/110101001001";
/// Another community of the same street.
pub const OTHER_COMMUNITY: &str = "divisions/110101001002";
/// 湖北省: in the sample, beside every seeded resource.
pub const HUBEI: &str = "divisions/42";
/// A valid code the sample does not hold (宁夏回族自治区).
pub const UNKNOWN_DIVISION: &str = "divisions/64";
/// A built-in indicator officials report.
pub const REPORTED_INDICATOR: &str = "indicators/community_workers";
/// The built-in national plan.
pub const NATIONAL_PLAN: &str = "plans/national-14th-fyp";
/// The seeded provincial plan, over 北京市.
pub const BEIJING_PLAN: &str = "plans/beijing";

/// Every round's collection window (2025) and a time inside it.
pub use crate::survey::{COLLECTED, END, START};

/// The three services, with a channel to each.
pub struct Platform {
    pub registry: TestService<Registry>,
    pub survey: TestService<Survey>,
    pub monitoring: TestService<Monitoring>,
    /// In `jwt` mode, the issuer every service trusts and the survey's and the monitor's own
    /// `service` tokens.
    pub auth: Option<AuthWorld>,
    /// Every role, national scope; `None` in development mode.
    admin: Option<String>,
    channels: [Channel; 3],
}

impl Platform {
    /// The services in development mode: every call acts with every role, nationally.
    pub async fn development() -> anyhow::Result<Self> {
        let registry = TestService::registry().await?;
        let survey = TestService::survey(&registry.endpoint()).await?;
        let monitoring = TestService::monitoring(&registry.endpoint(), &survey.endpoint()).await?;
        Self::connect(registry, survey, monitoring, None).await
    }

    /// The services in `jwt` mode in a new [`AuthWorld`], trusting its issuer; the survey and the
    /// monitor call their sources with a `service` token of national scope.
    pub async fn jwt() -> anyhow::Result<Self> {
        let auth = AuthWorld::new()?;
        let registry = auth.registry().await?;
        let token = auth.service_token_file("shequ-survey")?;
        let survey = auth.survey(&registry.endpoint(), Some(&token)).await?;
        let token = auth.service_token_file("shequ-monitoring")?;
        let monitoring = auth
            .monitoring(&registry.endpoint(), &survey.endpoint(), Some(&token))
            .await?;
        Self::connect(registry, survey, monitoring, Some(auth)).await
    }

    async fn connect(
        registry: TestService<Registry>,
        survey: TestService<Survey>,
        monitoring: TestService<Monitoring>,
        auth: Option<AuthWorld>,
    ) -> anyhow::Result<Self> {
        let channels = [
            registry.channel().await?,
            survey.channel().await?,
            monitoring.channel().await?,
        ];
        let every_role = Role::ALL.map(Role::as_str);
        let admin = auth
            .as_ref()
            .map(|a| a.issuer.token("admin", &every_role, &[NATIONAL]));
        Ok(Self {
            registry,
            survey,
            monitoring,
            auth,
            admin,
            channels,
        })
    }

    pub fn channel(&self, server: Server) -> Channel {
        match server {
            Server::Registry => self.channels[0].clone(),
            Server::Survey => self.channels[1].clone(),
            Server::Monitoring => self.channels[2].clone(),
        }
    }

    /// Calls `path` on `server` as the seeding principal and decodes the one reply.
    pub async fn call<R: Message + Default>(
        &self,
        server: Server,
        path: &str,
        request: &impl Message,
    ) -> Result<R, Status> {
        let mut replies = self
            .call_stream(server, path, Messages::one(request))
            .await?;
        match (replies.pop(), replies.is_empty()) {
            (Some(reply), true) => Ok(reply),
            _ => Err(Status::internal(format!(
                "{path} did not answer one message"
            ))),
        }
    }

    /// As [`Platform::call`], for any method: every reply, decoded.
    pub async fn call_stream<R: Message + Default>(
        &self,
        server: Server,
        path: &str,
        messages: Messages,
    ) -> Result<Vec<R>, Status> {
        let method = rpc::method(path).unwrap_or_else(|| panic!("{path} is not described"));
        let replies = rpc::call(
            self.channel(server),
            method,
            &messages,
            self.admin.as_deref(),
        )
        .await?;
        Ok(replies
            .iter()
            .map(|r| R::decode(r.as_slice()).expect("a reply decodes"))
            .collect())
    }

    /// Calls `method` on `server` with `messages` as the holder of `token` (none: anonymous,
    /// or development mode).
    pub async fn call_as(
        &self,
        server: Server,
        method: &Method,
        messages: &Messages,
        token: Option<&str>,
    ) -> Result<Vec<Vec<u8>>, Status> {
        rpc::call(self.channel(server), method, messages, token).await
    }

    /// The position of the last record of each service's audit trail (0 for none), in the
    /// order of [`Server::ALL`]. Every write records one in its own transaction, so a trail that
    /// did not move means nothing was stored.
    pub async fn audit_ends(&self) -> [i64; 3] {
        let mut ends = [0; 3];
        for (i, server) in Server::ALL.into_iter().enumerate() {
            let records: Vec<audit::StreamAuditRecordsResponse> = self
                .call_stream(
                    server,
                    "/shequ.audit.v1.AuditService/StreamAuditRecords",
                    Messages::one(&audit::StreamAuditRecordsRequest {
                        after_position: 0,
                        follow: false,
                    }),
                )
                .await
                .expect("the audit trail streams");
            ends[i] = records
                .iter()
                .filter_map(|r| r.record.as_ref())
                .map(|r| r.position)
                .max()
                .unwrap_or(0);
        }
        ends
    }

    /// Imports the sample and creates every seeded resource.
    pub async fn seed(&self) -> anyhow::Result<Seed> {
        let requests = fixtures::import_requests(&SAMPLE, "2023", 64 * 1024);
        let _: Vec<registry::ImportDivisionsResponse> = self
            .call_stream(
                Server::Registry,
                "/shequ.registry.v1.DivisionService/ImportDivisions",
                Messages::stream(&requests),
            )
            .await?;
        let facility = self.create_facility(COMMUNITY).await?;
        let facility_to_delete = self.create_facility(COMMUNITY).await?;
        let deleted_facility = self.create_facility(COMMUNITY).await?;
        let _: registry::DeleteFacilityResponse = self
            .call(
                Server::Registry,
                "/shequ.registry.v1.FacilityService/DeleteFacility",
                &registry::DeleteFacilityRequest {
                    name: deleted_facility.name.clone(),
                    ..Default::default()
                },
            )
            .await?;

        let questionnaire = self.create_questionnaire(questionnaire()).await?;
        let _: survey::PublishQuestionnaireResponse = self
            .call(
                Server::Survey,
                "/shequ.survey.v1.QuestionnaireService/PublishQuestionnaire",
                &survey::PublishQuestionnaireRequest {
                    name: questionnaire.clone(),
                },
            )
            .await?;
        let draft_questionnaire = self.create_questionnaire(self::questionnaire()).await?;
        let empty_questionnaire = self
            .create_questionnaire(survey::Questionnaire {
                title: "尚无问题".into(),
                ..Default::default()
            })
            .await?;
        let draft_round = self.create_round(&questionnaire).await?;
        let open_round = self.create_round(&questionnaire).await?;
        self.open_round(&open_round).await?;
        let round_to_close = self.create_round(&questionnaire).await?;
        self.open_round(&round_to_close).await?;
        let closed_round = self.create_round(&questionnaire).await?;
        self.open_round(&closed_round).await?;
        let _: survey::CloseRoundResponse = self
            .call(
                Server::Survey,
                "/shequ.survey.v1.RoundService/CloseRound",
                &survey::CloseRoundRequest {
                    name: closed_round.clone(),
                },
            )
            .await?;
        let response = self.submit(&open_round, "seed-read").await?;
        let response_to_invalidate = self.submit(&open_round, "seed-invalidate").await?;
        let invalidated_response = self.submit(&open_round, "seed-invalidated").await?;
        let _: survey::InvalidateResponseResponse = self
            .call(
                Server::Survey,
                "/shequ.survey.v1.ResponseService/InvalidateResponse",
                &survey::InvalidateResponseRequest {
                    name: invalidated_response.clone(),
                    reason: "重复填写".into(),
                },
            )
            .await?;

        let _: plan::LoadNationalPlanResponse = self
            .call(
                Server::Monitoring,
                "/shequ.monitoring.v1.PlanService/LoadNationalPlan",
                &plan::LoadNationalPlanRequest {},
            )
            .await?;
        let _: plan::CreatePlanResponse = self
            .call(
                Server::Monitoring,
                "/shequ.monitoring.v1.PlanService/CreatePlan",
                &plan::CreatePlanRequest {
                    plan: Some(beijing_plan(BEIJING_PLAN)),
                },
            )
            .await?;
        let evaluation = self.evaluate(BEIJING_PLAN).await?;
        let later_evaluation = self.evaluate(BEIJING_PLAN).await?;
        let _: plan::ReportValueResponse = self
            .call(
                Server::Monitoring,
                "/shequ.monitoring.v1.IndicatorService/ReportValue",
                &plan::ReportValueRequest {
                    value: Some(reported_value(9.0)),
                },
            )
            .await?;
        let mut seed = Seed {
            facility,
            facility_to_delete: facility_to_delete.name,
            deleted_facility: deleted_facility.name,
            questionnaire,
            draft_questionnaire,
            empty_questionnaire,
            draft_round,
            open_round,
            round_to_close,
            closed_round,
            response,
            response_to_invalidate,
            invalidated_response,
            evaluation,
            later_evaluation,
            next_pages: NextPages::default(),
        };
        seed.next_pages = self.next_pages(&seed).await?;
        Ok(seed)
    }

    /// The token of a second page of each paged listing, asked one item a page.
    async fn next_pages(&self, seed: &Seed) -> Result<NextPages, Status> {
        let divisions: registry::ListDivisionsResponse = self
            .call(
                Server::Registry,
                "/shequ.registry.v1.DivisionService/ListDivisions",
                &registry::ListDivisionsRequest {
                    parent: DONGCHENG.into(),
                    page_size: 1,
                    ..Default::default()
                },
            )
            .await?;
        let search: registry::SearchDivisionsResponse = self
            .call(
                Server::Registry,
                "/shequ.registry.v1.DivisionService/SearchDivisions",
                &registry::SearchDivisionsRequest {
                    query: "社区".into(),
                    page_size: 1,
                    ..Default::default()
                },
            )
            .await?;
        let facilities: registry::ListFacilitiesResponse = self
            .call(
                Server::Registry,
                "/shequ.registry.v1.FacilityService/ListFacilities",
                &registry::ListFacilitiesRequest {
                    parent: DONGCHENG.into(),
                    page_size: 1,
                    ..Default::default()
                },
            )
            .await?;
        let revisions: registry::ListFacilityRevisionsResponse = self
            .call(
                Server::Registry,
                "/shequ.registry.v1.FacilityService/ListFacilityRevisions",
                &registry::ListFacilityRevisionsRequest {
                    name: seed.deleted_facility.clone(),
                    page_size: 1,
                    ..Default::default()
                },
            )
            .await?;
        let questionnaires: survey::ListQuestionnairesResponse = self
            .call(
                Server::Survey,
                "/shequ.survey.v1.QuestionnaireService/ListQuestionnaires",
                &survey::ListQuestionnairesRequest {
                    page_size: 1,
                    ..Default::default()
                },
            )
            .await?;
        let rounds: survey::ListRoundsResponse = self
            .call(
                Server::Survey,
                "/shequ.survey.v1.RoundService/ListRounds",
                &survey::ListRoundsRequest {
                    page_size: 1,
                    ..Default::default()
                },
            )
            .await?;
        let coverage: survey::GetRoundCoverageResponse = self
            .call(
                Server::Survey,
                "/shequ.survey.v1.RoundService/GetRoundCoverage",
                &survey::GetRoundCoverageRequest {
                    round: seed.open_round.clone(),
                    page_size: 1,
                    ..Default::default()
                },
            )
            .await?;
        let plans: plan::ListPlansResponse = self
            .call(
                Server::Monitoring,
                "/shequ.monitoring.v1.PlanService/ListPlans",
                &plan::ListPlansRequest {
                    page_size: 1,
                    ..Default::default()
                },
            )
            .await?;
        let evaluations: plan::ListEvaluationsResponse = self
            .call(
                Server::Monitoring,
                "/shequ.monitoring.v1.EvaluationService/ListEvaluations",
                &plan::ListEvaluationsRequest {
                    parent: BEIJING_PLAN.into(),
                    page_size: 1,
                    ..Default::default()
                },
            )
            .await?;
        let children: plan::ListChildResultsResponse = self
            .call(
                Server::Monitoring,
                "/shequ.monitoring.v1.EvaluationService/ListChildResults",
                &plan::ListChildResultsRequest {
                    evaluation: seed.evaluation.clone(),
                    division: DONGCHENG.into(),
                    page_size: 1,
                    ..Default::default()
                },
            )
            .await?;
        let pages = NextPages {
            divisions: divisions.next_page_token,
            search: search.next_page_token,
            facilities: facilities.next_page_token,
            revisions: revisions.next_page_token,
            questionnaires: questionnaires.next_page_token,
            rounds: rounds.next_page_token,
            coverage: coverage.next_page_token,
            plans: plans.next_page_token,
            evaluations: evaluations.next_page_token,
            children: children.next_page_token,
        };
        for (listing, token) in pages.all() {
            if token.is_empty() {
                return Err(Status::internal(format!("{listing}: no second page")));
            }
        }
        Ok(pages)
    }

    async fn create_facility(&self, leaf_unit: &str) -> Result<registry::Facility, Status> {
        let created: registry::CreateFacilityResponse = self
            .call(
                Server::Registry,
                "/shequ.registry.v1.FacilityService/CreateFacility",
                &registry::CreateFacilityRequest {
                    facility: Some(fixtures::facility(leaf_unit)),
                    ..Default::default()
                },
            )
            .await?;
        present(created.facility, "facility")
    }

    async fn create_questionnaire(&self, q: survey::Questionnaire) -> Result<String, Status> {
        let created: survey::CreateQuestionnaireResponse = self
            .call(
                Server::Survey,
                "/shequ.survey.v1.QuestionnaireService/CreateQuestionnaire",
                &survey::CreateQuestionnaireRequest {
                    questionnaire: Some(q),
                },
            )
            .await?;
        Ok(present(created.questionnaire, "questionnaire")?.name)
    }

    async fn create_round(&self, questionnaire: &str) -> Result<String, Status> {
        let created: survey::CreateRoundResponse = self
            .call(
                Server::Survey,
                "/shequ.survey.v1.RoundService/CreateRound",
                &survey::CreateRoundRequest {
                    round: Some(round(questionnaire)),
                },
            )
            .await?;
        Ok(present(created.round, "round")?.name)
    }

    async fn open_round(&self, name: &str) -> Result<(), Status> {
        let _: survey::OpenRoundResponse = self
            .call(
                Server::Survey,
                "/shequ.survey.v1.RoundService/OpenRound",
                &survey::OpenRoundRequest { name: name.into() },
            )
            .await?;
        Ok(())
    }

    async fn submit(&self, round: &str, id: &str) -> Result<String, Status> {
        let submitted: survey::SubmitResponseResponse = self
            .call(
                Server::Survey,
                "/shequ.survey.v1.ResponseService/SubmitResponse",
                &survey::SubmitResponseRequest {
                    parent: round.into(),
                    response: Some(response(id, COMMUNITY)),
                },
            )
            .await?;
        Ok(present(submitted.response, "response")?.name)
    }

    async fn evaluate(&self, plan_name: &str) -> Result<String, Status> {
        let evaluated: plan::EvaluatePlanResponse = self
            .call(
                Server::Monitoring,
                "/shequ.monitoring.v1.EvaluationService/EvaluatePlan",
                &evaluate(plan_name),
            )
            .await?;
        Ok(present(evaluated.evaluation, "evaluation")?.name)
    }
}

/// A reply's message field, which a successful call always sets.
fn present<T>(field: Option<T>, what: &str) -> Result<T, Status> {
    field.ok_or_else(|| Status::internal(format!("the reply has no {what}")))
}

/// The seeded resources' names.
#[derive(Debug, Clone)]
pub struct Seed {
    /// In service in [`COMMUNITY`], as created.
    pub facility: registry::Facility,
    pub facility_to_delete: String,
    /// Soft-deleted.
    pub deleted_facility: String,
    /// Published (version 1).
    pub questionnaire: String,
    /// Never published, with questions.
    pub draft_questionnaire: String,
    /// Never published, without questions.
    pub empty_questionnaire: String,
    /// Rounds over 东城区 of [`Seed::questionnaire`] version 1: draft, open, open, closed.
    pub draft_round: String,
    pub open_round: String,
    pub round_to_close: String,
    pub closed_round: String,
    /// Responses in [`Seed::open_round`] from [`COMMUNITY`]: valid, valid, invalidated.
    pub response: String,
    pub response_to_invalidate: String,
    pub invalidated_response: String,
    /// Two evaluations of [`BEIJING_PLAN`], earlier and later.
    pub evaluation: String,
    pub later_evaluation: String,
    pub next_pages: NextPages,
}

/// Tokens of second pages, one item a page: of [`DONGCHENG`]'s children, of divisions named
/// like 社区, of the facilities under [`DONGCHENG`], of [`Seed::deleted_facility`]'s revisions,
/// of every questionnaire, round and plan, of [`Seed::open_round`]'s short leaf units, of
/// [`BEIJING_PLAN`]'s evaluations and of [`DONGCHENG`]'s children in [`Seed::evaluation`].
#[derive(Debug, Clone, Default)]
pub struct NextPages {
    pub divisions: String,
    pub search: String,
    pub facilities: String,
    pub revisions: String,
    pub questionnaires: String,
    pub rounds: String,
    pub coverage: String,
    pub plans: String,
    pub evaluations: String,
    pub children: String,
}

impl NextPages {
    fn all(&self) -> [(&'static str, &str); 10] {
        [
            ("ListDivisions", &self.divisions),
            ("SearchDivisions", &self.search),
            ("ListFacilities", &self.facilities),
            ("ListFacilityRevisions", &self.revisions),
            ("ListQuestionnaires", &self.questionnaires),
            ("ListRounds", &self.rounds),
            ("GetRoundCoverage", &self.coverage),
            ("ListPlans", &self.plans),
            ("ListEvaluations", &self.evaluations),
            ("ListChildResults", &self.children),
        ]
    }
}

/// A questionnaire of one required satisfaction question and one single choice.
pub fn questionnaire() -> survey::Questionnaire {
    survey::Questionnaire {
        title: "社区服务满意度".into(),
        questions: vec![
            survey::Question {
                id: "q_overall".into(),
                text: "总体满意度".into(),
                r#type: survey::QuestionType::Satisfaction as i32,
                required: true,
                counts_towards_satisfaction: true,
                ..Default::default()
            },
            survey::Question {
                id: "q_channel".into(),
                text: "办事渠道".into(),
                r#type: survey::QuestionType::SingleChoice as i32,
                options: vec![
                    survey::QuestionOption {
                        id: "online".into(),
                        text: "网上".into(),
                    },
                    survey::QuestionOption {
                        id: "counter".into(),
                        text: "窗口".into(),
                    },
                ],
                ..Default::default()
            },
        ],
        ..Default::default()
    }
}

pub fn ts(seconds: i64) -> Option<Timestamp> {
    Some(Timestamp { seconds, nanos: 0 })
}

/// A round over 东城区 of version 1 of `questionnaire`.
pub fn round(questionnaire: &str) -> survey::Round {
    survey::Round {
        display_name: "东城区满意度调查".into(),
        questionnaire: questionnaire.into(),
        questionnaire_version: 1,
        region: DONGCHENG.into(),
        start_time: ts(START),
        end_time: ts(END),
        min_valid_responses: 1,
        ..Default::default()
    }
}

/// A response from `leaf_unit` answering the overall question with 4.
pub fn response(id: &str, leaf_unit: &str) -> survey::Response {
    survey::Response {
        response_id: id.into(),
        leaf_unit: leaf_unit.into(),
        channel: survey::Channel::Online as i32,
        collect_time: ts(COLLECTED),
        answers: vec![survey::Answer {
            question_id: "q_overall".into(),
            value: Some(survey::answer::Value::Rating(4)),
        }],
        ..Default::default()
    }
}

/// A provincial plan over 北京市 under the national plan, with an indicator of its own (listed
/// under the plan's name) and a target for it.
pub fn beijing_plan(name: &str) -> plan::Plan {
    plan::Plan {
        name: name.into(),
        display_name: "北京市城乡社区服务体系建设规划".into(),
        level: plan::PlanLevel::Provincial as i32,
        scope: BEIJING.into(),
        parent: NATIONAL_PLAN.into(),
        start_year: 2021,
        end_year: 2025,
        indicators: vec![plan::Indicator {
            code: "terminals".into(),
            display_name: "政务服务一体机".into(),
            kind: plan::IndicatorKind::Sum as i32,
            source: plan::IndicatorSource::Registry as i32,
            field: "self_service_terminals".into(),
            unit: "terminals".into(),
            direction: plan::Direction::HigherIsBetter as i32,
            ..Default::default()
        }],
        targets: vec![plan::Target {
            indicator: "indicators/terminals".into(),
            target_value: 10.0,
            target_year: 2025,
            ..Default::default()
        }],
        ..Default::default()
    }
}

/// A mid-term revision of [`beijing_plan`]'s target.
pub fn terminals_revision() -> plan::TargetRevision {
    plan::TargetRevision {
        indicator: "indicators/terminals".into(),
        effective_date: "2023-06-30".into(),
        target_value: 12.0,
        reason: "中期评估".into(),
        ..Default::default()
    }
}

/// An evaluation of `plan_name` on 2025-06-30.
pub fn evaluate(plan_name: &str) -> plan::EvaluatePlanRequest {
    plan::EvaluatePlanRequest {
        plan: plan_name.into(),
        evaluation_date: "2025-06-30".into(),
        survey_round: String::new(),
    }
}

/// Community workers reported for [`COMMUNITY`] in 2025.
pub fn reported_value(value: f64) -> plan::ReportedValue {
    plan::ReportedValue {
        indicator: REPORTED_INDICATOR.into(),
        division: COMMUNITY.into(),
        period: "2025".into(),
        value,
        reason: "年报".into(),
        ..Default::default()
    }
}
