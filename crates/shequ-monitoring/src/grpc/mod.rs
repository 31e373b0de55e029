//! The gRPC surface: finds the caller, parses requests, checks the caller's scope first, calls the
//! service, converts results. No other logic lives here.

use shequ_platform::rpc::{Rpc, field, recorded_name};
use shequ_platform::{Principal, page};
use shequ_proto::monitoring::v1 as pb;
use shequ_proto::monitoring::v1::evaluation_service_server::EvaluationService;
use shequ_proto::monitoring::v1::indicator_service_server::IndicatorService;
use shequ_proto::monitoring::v1::plan_service_server::PlanService;
use shequ_proto::names::{parse_division_name, parse_optional_division_name};
use tonic::{Request, Response, Status};

use crate::error::MonitoringError;
use crate::indicators::builtin;
use crate::names::{
    parse_date, parse_evaluation_name, parse_indicator_name, parse_optional_round_name,
    parse_plan_name,
};
use crate::plan::{PlanSpec, RevisionSpec};
use crate::service::Monitoring;
use crate::service::evaluations::Trigger;
use crate::service::reported::ReportedValueSpec;
use crate::service::results::ChildPage;

pub mod convert;
pub mod sources;

use convert::{
    alignment_to_pb, change_to_pb, division_result_to_pb, evaluation_to_pb, indicator_to_pb,
    listed_indicator_to_pb, plan_to_pb, record_to_pb, report_format_from_pb, reported_to_pb,
    revision_to_pb,
};

pub use shequ_platform::rpc::ACTOR_HEADER;

/// `shequ.monitoring.v1.IndicatorService`
#[derive(Clone)]
pub struct IndicatorApi(pub Monitoring);

#[tonic::async_trait]
impl IndicatorService for IndicatorApi {
    async fn list_indicators(
        &self,
        request: Request<pb::ListIndicatorsRequest>,
    ) -> Rpc<pb::ListIndicatorsResponse> {
        let principal = Principal::of(&request)?;
        let plan = &request.get_ref().plan;
        let plan = if plan.is_empty() {
            None
        } else {
            Some(field(parse_plan_name("plan", plan))?)
        };
        let listed = self.0.list_indicators(&principal, plan).await?;
        Ok(Response::new(pb::ListIndicatorsResponse {
            indicators: listed.iter().map(listed_indicator_to_pb).collect(),
        }))
    }

    async fn get_indicator(
        &self,
        request: Request<pb::GetIndicatorRequest>,
    ) -> Rpc<pb::GetIndicatorResponse> {
        let code = field(parse_indicator_name("name", &request.get_ref().name))?;
        let def = builtin(code).ok_or_else(|| Monitoring::no_indicator(code))?;
        Ok(Response::new(pb::GetIndicatorResponse {
            indicator: Some(indicator_to_pb(&def)),
        }))
    }

    async fn report_value(
        &self,
        request: Request<pb::ReportValueRequest>,
    ) -> Rpc<pb::ReportValueResponse> {
        let principal = Principal::of(&request)?;
        let actor = recorded_name(&request, &principal);
        let Some(value) = request.into_inner().value else {
            return Err(MonitoringError::invalid("value", "is required").into());
        };
        let record = self
            .0
            .report_value(&principal, &ReportedValueSpec::from(&value), &actor)
            .await?;
        Ok(Response::new(pb::ReportValueResponse {
            value: Some(reported_to_pb(&record)),
        }))
    }

    async fn list_reported_value_history(
        &self,
        request: Request<pb::ListReportedValueHistoryRequest>,
    ) -> Rpc<pb::ListReportedValueHistoryResponse> {
        let principal = Principal::of(&request)?;
        let r = request.into_inner();
        let code = field(parse_indicator_name("indicator", &r.indicator))?;
        let division = field(parse_division_name("division", &r.division))?;
        self.0
            .authorize_known_division(&principal, division)
            .await?;
        let rows = self.0.reported_history(code, division).await?;
        Ok(Response::new(pb::ListReportedValueHistoryResponse {
            values: rows.iter().map(reported_to_pb).collect(),
        }))
    }
}

/// `shequ.monitoring.v1.PlanService`
#[derive(Clone)]
pub struct PlanApi(pub Monitoring);

#[tonic::async_trait]
impl PlanService for PlanApi {
    async fn create_plan(
        &self,
        request: Request<pb::CreatePlanRequest>,
    ) -> Rpc<pb::CreatePlanResponse> {
        let principal = Principal::of(&request)?;
        let Some(plan) = request.into_inner().plan else {
            return Err(MonitoringError::invalid("plan", "is required").into());
        };
        let plan = self
            .0
            .create_plan(
                &principal,
                crate::service::plans::CREATE_PLAN,
                PlanSpec::from(&plan),
            )
            .await?;
        Ok(Response::new(pb::CreatePlanResponse {
            plan: Some(plan_to_pb(&plan)),
        }))
    }

    async fn get_plan(&self, request: Request<pb::GetPlanRequest>) -> Rpc<pb::GetPlanResponse> {
        let principal = Principal::of(&request)?;
        let id = field(parse_plan_name("name", &request.get_ref().name))?;
        let plan = self.0.readable_plan(&principal, id).await?;
        Ok(Response::new(pb::GetPlanResponse {
            plan: Some(plan_to_pb(&plan)),
        }))
    }

    async fn list_plans(
        &self,
        request: Request<pb::ListPlansRequest>,
    ) -> Rpc<pb::ListPlansResponse> {
        let principal = Principal::of(&request)?;
        let r = request.into_inner();
        let (plans, next_page_token) = self
            .0
            .list_plans(&principal, r.page_size, &r.page_token)
            .await?;
        Ok(Response::new(pb::ListPlansResponse {
            plans: plans.iter().map(plan_to_pb).collect(),
            next_page_token,
        }))
    }

    async fn load_national_plan(
        &self,
        request: Request<pb::LoadNationalPlanRequest>,
    ) -> Rpc<pb::LoadNationalPlanResponse> {
        let principal = Principal::of(&request)?;
        let plan = self.0.load_national_plan(&principal).await?;
        Ok(Response::new(pb::LoadNationalPlanResponse {
            plan: Some(plan_to_pb(&plan)),
        }))
    }

    async fn load_plan_file(
        &self,
        request: Request<pb::LoadPlanFileRequest>,
    ) -> Rpc<pb::LoadPlanFileResponse> {
        let principal = Principal::of(&request)?;
        let plan = self
            .0
            .load_plan_file(&principal, &request.get_ref().content)
            .await?;
        Ok(Response::new(pb::LoadPlanFileResponse {
            plan: Some(plan_to_pb(&plan)),
        }))
    }

    async fn check_plan_alignment(
        &self,
        request: Request<pb::CheckPlanAlignmentRequest>,
    ) -> Rpc<pb::CheckPlanAlignmentResponse> {
        let principal = Principal::of(&request)?;
        let id = field(parse_plan_name("name", &request.get_ref().name))?;
        let alignment = self.0.check_alignment(&principal, id).await?;
        Ok(Response::new(alignment_to_pb(&alignment)))
    }

    async fn revise_target(
        &self,
        request: Request<pb::ReviseTargetRequest>,
    ) -> Rpc<pb::ReviseTargetResponse> {
        let principal = Principal::of(&request)?;
        let actor = recorded_name(&request, &principal);
        let r = request.into_inner();
        let id = field(parse_plan_name("plan", &r.plan))?.to_owned();
        let Some(revision) = r.revision else {
            return Err(MonitoringError::invalid("revision", "is required").into());
        };
        let stored = self
            .0
            .revise_target(&principal, &id, RevisionSpec::from(&revision), &actor)
            .await?;
        Ok(Response::new(pb::ReviseTargetResponse {
            revision: Some(revision_to_pb(&id, &stored)),
        }))
    }

    async fn list_target_revisions(
        &self,
        request: Request<pb::ListTargetRevisionsRequest>,
    ) -> Rpc<pb::ListTargetRevisionsResponse> {
        let principal = Principal::of(&request)?;
        let r = request.into_inner();
        let id = field(parse_plan_name("plan", &r.plan))?;
        let (revisions, next_page_token) = self
            .0
            .list_target_revisions(&principal, id, r.page_size, &r.page_token)
            .await?;
        Ok(Response::new(pb::ListTargetRevisionsResponse {
            revisions: revisions.iter().map(|v| revision_to_pb(id, v)).collect(),
            next_page_token,
        }))
    }
}

/// `shequ.monitoring.v1.EvaluationService`
#[derive(Clone)]
pub struct EvaluationApi(pub Monitoring);

#[tonic::async_trait]
impl EvaluationService for EvaluationApi {
    async fn evaluate_plan(
        &self,
        request: Request<pb::EvaluatePlanRequest>,
    ) -> Rpc<pb::EvaluatePlanResponse> {
        let principal = Principal::of(&request)?;
        let actor = recorded_name(&request, &principal);
        let r = request.into_inner();
        let plan = field(parse_plan_name("plan", &r.plan))?;
        let date = field(parse_date("evaluation_date", &r.evaluation_date))?;
        let round = field(parse_optional_round_name("survey_round", &r.survey_round))?;
        let record = self
            .0
            .evaluate(&principal, plan, date, round, Trigger::Request, &actor)
            .await?;
        Ok(Response::new(pb::EvaluatePlanResponse {
            evaluation: Some(evaluation_to_pb(&record)),
        }))
    }

    async fn get_evaluation(
        &self,
        request: Request<pb::GetEvaluationRequest>,
    ) -> Rpc<pb::GetEvaluationResponse> {
        let principal = Principal::of(&request)?;
        let (plan, id) = field(parse_evaluation_name("name", &request.get_ref().name))?;
        self.0.readable_plan(&principal, plan).await?;
        let record = self.0.get_evaluation(plan, id).await?;
        Ok(Response::new(pb::GetEvaluationResponse {
            evaluation: Some(evaluation_to_pb(&record)),
        }))
    }

    async fn list_evaluations(
        &self,
        request: Request<pb::ListEvaluationsRequest>,
    ) -> Rpc<pb::ListEvaluationsResponse> {
        let principal = Principal::of(&request)?;
        let r = request.into_inner();
        let plan = field(parse_plan_name("parent", &r.parent))?;
        self.0.readable_plan(&principal, plan).await?;
        let (rows, next_page_token) = self
            .0
            .list_evaluations(plan, r.page_size, &r.page_token)
            .await?;
        Ok(Response::new(pb::ListEvaluationsResponse {
            evaluations: rows.iter().map(evaluation_to_pb).collect(),
            next_page_token,
        }))
    }

    async fn get_division_result(
        &self,
        request: Request<pb::GetDivisionResultRequest>,
    ) -> Rpc<pb::GetDivisionResultResponse> {
        let principal = Principal::of(&request)?;
        let r = request.into_inner();
        let (plan, id) = field(parse_evaluation_name("evaluation", &r.evaluation))?;
        let division = field(parse_optional_division_name("division", &r.division))?;
        let eval = self.0.readable_evaluation(&principal, plan, id).await?;
        self.0.authorize_result(&principal, &eval, division).await?;
        let row = self.0.division_row(&eval, division).await?;
        Ok(Response::new(pb::GetDivisionResultResponse {
            result: Some(division_result_to_pb(&eval, &row)),
        }))
    }

    async fn list_result_records(
        &self,
        request: Request<pb::ListResultRecordsRequest>,
    ) -> Rpc<pb::ListResultRecordsResponse> {
        let principal = Principal::of(&request)?;
        let r = request.into_inner();
        let (plan, id) = field(parse_evaluation_name("evaluation", &r.evaluation))?;
        let division = field(parse_optional_division_name("division", &r.division))?;
        let indicator = field(parse_indicator_name("indicator", &r.indicator))?;
        let eval = self.0.readable_evaluation(&principal, plan, id).await?;
        self.0.authorize_result(&principal, &eval, division).await?;
        let row = self.0.division_row(&eval, division).await?;
        let (records, next_page_token) = self
            .0
            .result_records(&eval, &row, indicator, r.page_size, &r.page_token)
            .await?;
        Ok(Response::new(pb::ListResultRecordsResponse {
            records: records.iter().map(record_to_pb).collect(),
            next_page_token,
        }))
    }

    async fn list_child_results(
        &self,
        request: Request<pb::ListChildResultsRequest>,
    ) -> Rpc<pb::ListChildResultsResponse> {
        let principal = Principal::of(&request)?;
        let r = request.into_inner();
        let (plan, id) = field(parse_evaluation_name("evaluation", &r.evaluation))?;
        let division = field(parse_optional_division_name("division", &r.division))?;
        let rank_by = if r.rank_by.is_empty() {
            None
        } else {
            Some(field(parse_indicator_name("rank_by", &r.rank_by))?)
        };
        if r.limit < 0 {
            return Err(MonitoringError::invalid("limit", "must not be negative").into());
        }
        let page = ChildPage {
            rank_by,
            limit: r.limit as usize,
            page_size: field(page::page_size(r.page_size))? as usize,
            page_token: &r.page_token,
        };
        let eval = self.0.readable_evaluation(&principal, plan, id).await?;
        self.0.authorize_result(&principal, &eval, division).await?;
        let (rows, next_page_token) = self.0.list_child_results(&eval, division, page).await?;
        Ok(Response::new(pb::ListChildResultsResponse {
            results: rows
                .iter()
                .map(|row| division_result_to_pb(&eval, row))
                .collect(),
            next_page_token,
        }))
    }

    async fn compare_evaluations(
        &self,
        request: Request<pb::CompareEvaluationsRequest>,
    ) -> Rpc<pb::CompareEvaluationsResponse> {
        let principal = Principal::of(&request)?;
        let r = request.into_inner();
        let (base_plan, base_id) = field(parse_evaluation_name("base", &r.base))?;
        let (other_plan, other_id) = field(parse_evaluation_name("other", &r.other))?;
        if base_plan != other_plan {
            return Err(MonitoringError::invalid(
                "other",
                "must be an evaluation of the same plan as `base`",
            )
            .into());
        }
        let division = field(parse_optional_division_name("division", &r.division))?;
        let base = self
            .0
            .readable_evaluation(&principal, base_plan, base_id)
            .await?;
        let other = self
            .0
            .readable_evaluation(&principal, other_plan, other_id)
            .await?;
        self.0.authorize_result(&principal, &base, division).await?;
        self.0
            .authorize_result(&principal, &other, division)
            .await?;
        let changes = self.0.compare(&base, &other, division).await?;
        Ok(Response::new(pb::CompareEvaluationsResponse {
            changes: changes.iter().map(change_to_pb).collect(),
        }))
    }

    async fn render_report(
        &self,
        request: Request<pb::RenderReportRequest>,
    ) -> Rpc<pb::RenderReportResponse> {
        let principal = Principal::of(&request)?;
        let r = request.into_inner();
        let (plan, id) = field(parse_evaluation_name("evaluation", &r.evaluation))?;
        let division = field(parse_optional_division_name("division", &r.division))?;
        let format = pb::ReportFormat::try_from(r.format).map_err(|_| {
            Status::from(MonitoringError::invalid("format", "is not a known format"))
        })?;
        if r.worst_regions < 0 {
            return Err(MonitoringError::invalid("worst_regions", "must not be negative").into());
        }
        let worst = if r.worst_regions == 0 {
            3
        } else {
            r.worst_regions as usize
        };
        let eval = self.0.readable_evaluation(&principal, plan, id).await?;
        self.0.authorize_result(&principal, &eval, division).await?;
        let report = self
            .0
            .render_report(&eval, division, report_format_from_pb(format), worst)
            .await?;
        Ok(Response::new(pb::RenderReportResponse {
            content_type: report.content_type.to_owned(),
            content: report.content,
        }))
    }
}
