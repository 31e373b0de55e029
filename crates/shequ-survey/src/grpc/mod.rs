//! The gRPC surface: parses requests, checks the caller's divisions first (see
//! `service::access`), calls the service, converts results. No other logic lives here.

use futures::StreamExt;
use shequ_platform::Principal;
use shequ_platform::rpc::{Rpc, RpcStream, caller, field};
use shequ_platform::server::{deadline_of, within_deadline};
use shequ_proto::names::parse_optional_division_name;
use shequ_proto::survey::v1 as pb;
use shequ_proto::survey::v1::questionnaire_service_server::QuestionnaireService;
use shequ_proto::survey::v1::response_service_server::ResponseService;
use shequ_proto::survey::v1::round_service_server::RoundService;
use tonic::{Request, Response, Status, Streaming};

use crate::error::SurveyError;
use crate::names::{parse_questionnaire_name, parse_response_name, parse_round_name};
use crate::service::Survey;

pub mod convert;
pub mod registry;
use crate::service::access::Need;
use convert::{
    coverage_to_pb, draft_from_pb, facts_to_pb, new_round_from_pb, published_filter,
    questionnaire_to_pb, response_to_pb, results_to_pb, round_to_pb, state_filter,
    submit_results_to_pb,
};

pub use shequ_platform::rpc::ACTOR_HEADER;

/// `shequ.survey.v1.QuestionnaireService`
#[derive(Clone)]
pub struct QuestionnaireApi(pub Survey);

#[tonic::async_trait]
impl QuestionnaireService for QuestionnaireApi {
    async fn list_questionnaires(
        &self,
        request: Request<pb::ListQuestionnairesRequest>,
    ) -> Rpc<pb::ListQuestionnairesResponse> {
        let r = request.into_inner();
        let state = pb::QuestionnaireState::try_from(r.state).map_err(|_| {
            Status::from(SurveyError::invalid(
                "state",
                "must be unspecified, unpublished or published",
            ))
        })?;
        let (questionnaires, next_page_token) = self
            .0
            .list_questionnaires(published_filter(state), r.page_size, &r.page_token)
            .await?;
        Ok(Response::new(pb::ListQuestionnairesResponse {
            questionnaires: questionnaires.iter().map(questionnaire_to_pb).collect(),
            next_page_token,
        }))
    }

    async fn create_questionnaire(
        &self,
        request: Request<pb::CreateQuestionnaireRequest>,
    ) -> Rpc<pb::CreateQuestionnaireResponse> {
        let principal = Principal::of(&request)?;
        let Some(q) = request.into_inner().questionnaire else {
            return Err(SurveyError::invalid("questionnaire", "is required").into());
        };
        let draft = draft_from_pb(&q)?;
        let questionnaire = self.0.create_questionnaire(&principal, &draft).await?;
        Ok(Response::new(pb::CreateQuestionnaireResponse {
            questionnaire: Some(questionnaire_to_pb(&questionnaire)),
        }))
    }

    async fn get_questionnaire(
        &self,
        request: Request<pb::GetQuestionnaireRequest>,
    ) -> Rpc<pb::GetQuestionnaireResponse> {
        let r = request.into_inner();
        let id = field(parse_questionnaire_name("name", &r.name))?;
        let questionnaire = self.0.get_questionnaire(id, r.version).await?;
        Ok(Response::new(pb::GetQuestionnaireResponse {
            questionnaire: Some(questionnaire_to_pb(&questionnaire)),
        }))
    }

    async fn update_questionnaire(
        &self,
        request: Request<pb::UpdateQuestionnaireRequest>,
    ) -> Rpc<pb::UpdateQuestionnaireResponse> {
        let principal = Principal::of(&request)?;
        let Some(q) = request.into_inner().questionnaire else {
            return Err(SurveyError::invalid("questionnaire", "is required").into());
        };
        let id = field(parse_questionnaire_name("questionnaire.name", &q.name))?;
        let draft = draft_from_pb(&q)?;
        let questionnaire = self.0.update_questionnaire(&principal, id, &draft).await?;
        Ok(Response::new(pb::UpdateQuestionnaireResponse {
            questionnaire: Some(questionnaire_to_pb(&questionnaire)),
        }))
    }

    async fn publish_questionnaire(
        &self,
        request: Request<pb::PublishQuestionnaireRequest>,
    ) -> Rpc<pb::PublishQuestionnaireResponse> {
        let principal = Principal::of(&request)?;
        let id = field(parse_questionnaire_name("name", &request.get_ref().name))?;
        let questionnaire = self.0.publish_questionnaire(&principal, id).await?;
        Ok(Response::new(pb::PublishQuestionnaireResponse {
            questionnaire: Some(questionnaire_to_pb(&questionnaire)),
        }))
    }
}

/// `shequ.survey.v1.RoundService`
#[derive(Clone)]
pub struct RoundApi(pub Survey);

#[tonic::async_trait]
impl RoundService for RoundApi {
    async fn list_rounds(
        &self,
        request: Request<pb::ListRoundsRequest>,
    ) -> Rpc<pb::ListRoundsResponse> {
        let principal = Principal::of(&request)?;
        let r = request.into_inner();
        let state = pb::RoundState::try_from(r.state).map_err(|_| {
            Status::from(SurveyError::invalid(
                "state",
                "must be unspecified, draft, open or closed",
            ))
        })?;
        let questionnaire = if r.questionnaire.is_empty() {
            None
        } else {
            Some(field(parse_questionnaire_name(
                "questionnaire",
                &r.questionnaire,
            ))?)
        };
        let (rounds, next_page_token) = self
            .0
            .list_rounds(
                &principal,
                state_filter(state),
                questionnaire,
                r.page_size,
                &r.page_token,
            )
            .await?;
        Ok(Response::new(pb::ListRoundsResponse {
            rounds: rounds.iter().map(round_to_pb).collect(),
            next_page_token,
        }))
    }

    async fn create_round(
        &self,
        request: Request<pb::CreateRoundRequest>,
    ) -> Rpc<pb::CreateRoundResponse> {
        let principal = Principal::of(&request)?;
        let Some(round) = request.into_inner().round else {
            return Err(SurveyError::invalid("round", "is required").into());
        };
        let round = new_round_from_pb(&round)?;
        let record = self.0.create_round(&principal, &round).await?;
        Ok(Response::new(pb::CreateRoundResponse {
            round: Some(round_to_pb(&record)),
        }))
    }

    async fn get_round(&self, request: Request<pb::GetRoundRequest>) -> Rpc<pb::GetRoundResponse> {
        let principal = Principal::of(&request)?;
        let id = field(parse_round_name("name", &request.get_ref().name))?;
        self.0.authorize_round(&principal, id, Need::Part).await?;
        let record = self.0.get_round(id).await?;
        Ok(Response::new(pb::GetRoundResponse {
            round: Some(round_to_pb(&record)),
        }))
    }

    async fn open_round(
        &self,
        request: Request<pb::OpenRoundRequest>,
    ) -> Rpc<pb::OpenRoundResponse> {
        let principal = Principal::of(&request)?;
        let id = field(parse_round_name("name", &request.get_ref().name))?;
        self.0.authorize_round(&principal, id, Need::Whole).await?;
        let record = self.0.open_round(&principal, id).await?;
        Ok(Response::new(pb::OpenRoundResponse {
            round: Some(round_to_pb(&record)),
        }))
    }

    async fn close_round(
        &self,
        request: Request<pb::CloseRoundRequest>,
    ) -> Rpc<pb::CloseRoundResponse> {
        let principal = Principal::of(&request)?;
        let id = field(parse_round_name("name", &request.get_ref().name))?;
        self.0.authorize_round(&principal, id, Need::Whole).await?;
        let record = self.0.close_round(&principal, id).await?;
        Ok(Response::new(pb::CloseRoundResponse {
            round: Some(round_to_pb(&record)),
        }))
    }

    async fn get_round_results(
        &self,
        request: Request<pb::GetRoundResultsRequest>,
    ) -> Rpc<pb::GetRoundResultsResponse> {
        let principal = Principal::of(&request)?;
        let r = request.into_inner();
        let id = field(parse_round_name("round", &r.round))?;
        let division = field(parse_optional_division_name("division", &r.division))?;
        let ctx = self.0.authorize_round(&principal, id, Need::Part).await?;
        self.0.authorize_part(&principal, &ctx, division).await?;
        let results = self.0.round_results(id, division).await?;
        Ok(Response::new(results_to_pb(results)))
    }

    async fn get_round_coverage(
        &self,
        request: Request<pb::GetRoundCoverageRequest>,
    ) -> Rpc<pb::GetRoundCoverageResponse> {
        let principal = Principal::of(&request)?;
        let r = request.into_inner();
        let id = field(parse_round_name("round", &r.round))?;
        let division = field(parse_optional_division_name("division", &r.division))?;
        let ctx = self.0.authorize_round(&principal, id, Need::Part).await?;
        self.0.authorize_part(&principal, &ctx, division).await?;
        let coverage = self
            .0
            .round_coverage(id, division, r.page_size, &r.page_token)
            .await?;
        Ok(Response::new(coverage_to_pb(coverage)))
    }

    type StreamRoundFactsStream = RpcStream<pb::StreamRoundFactsResponse>;

    async fn stream_round_facts(
        &self,
        request: Request<pb::StreamRoundFactsRequest>,
    ) -> Rpc<Self::StreamRoundFactsStream> {
        let deadline = deadline_of(request.metadata());
        let principal = Principal::of(&request)?;
        let id = field(parse_round_name("round", &request.get_ref().round))?;
        self.0.authorize_facts(&principal, id)?;
        let facts = self.0.round_facts(id).await?;
        let batch_size = self.0.settings.facts_batch_size.max(1);
        Ok(Response::new(within_deadline(
            facts_to_pb(facts, batch_size),
            deadline,
        )))
    }

    type ExportResponsesStream = RpcStream<pb::ExportResponsesResponse>;

    async fn export_responses(
        &self,
        request: Request<pb::ExportResponsesRequest>,
    ) -> Rpc<Self::ExportResponsesStream> {
        let deadline = deadline_of(request.metadata());
        let principal = Principal::of(&request)?;
        let id = field(parse_round_name("round", &request.get_ref().round))?;
        // An export is the round's raw data: only for a principal holding its whole region.
        self.0.authorize_round(&principal, id, Need::Whole).await?;
        let stream = self.0.export_responses(id).await?;
        Ok(Response::new(within_deadline(
            stream.map(|r| {
                r.map(|data| pb::ExportResponsesResponse { data })
                    .map_err(Status::from)
            }),
            deadline,
        )))
    }
}

/// `shequ.survey.v1.ResponseService`
#[derive(Clone)]
pub struct ResponseApi(pub Survey);

#[tonic::async_trait]
impl ResponseService for ResponseApi {
    async fn submit_response(
        &self,
        request: Request<pb::SubmitResponseRequest>,
    ) -> Rpc<pb::SubmitResponseResponse> {
        let principal = Principal::of(&request)?;
        let r = request.into_inner();
        let round = field(parse_round_name("parent", &r.parent))?;
        let Some(response) = r.response else {
            return Err(SurveyError::invalid("response", "is required").into());
        };
        let ctx = self
            .0
            .authorize_round(&principal, round, Need::Part)
            .await?;
        self.0
            .authorize_leaf_unit(&principal, &ctx, &response.leaf_unit)
            .await?;
        let (record, duplicate) = self.0.submit_response(&principal, round, &response).await?;
        Ok(Response::new(pb::SubmitResponseResponse {
            response: Some(response_to_pb(&record)),
            duplicate,
        }))
    }

    type BulkSubmitResponsesStream = RpcStream<pb::BulkSubmitResponsesResponse>;

    async fn bulk_submit_responses(
        &self,
        request: Request<Streaming<pb::BulkSubmitResponsesRequest>>,
    ) -> Rpc<Self::BulkSubmitResponsesStream> {
        let principal = Principal::of(&request)?;
        let mut input = request.into_inner();
        let survey = self.0.clone();
        let checking = principal.clone();
        // Batch N+1 is checked while batch N commits; at most one checked batch waits.
        let (checked_tx, mut checked) = tokio::sync::mpsc::channel(1);
        let checker = self.0.clone();
        tokio::spawn(async move {
            let mut parent: Option<String> = None;
            while let Some(message) = input.next().await {
                let item = async {
                    let message = message?;
                    match &parent {
                        None => {
                            field(parse_round_name("parent", &message.parent))?;
                            parent = Some(message.parent.clone());
                        }
                        Some(p) if message.parent.is_empty() || *p == message.parent => {}
                        Some(_) => {
                            return Err(Status::from(SurveyError::invalid(
                                "parent",
                                "must be the same in every message of a stream",
                            )));
                        }
                    }
                    let name = parent.as_deref().unwrap_or_default();
                    let round = name.trim_start_matches("rounds/");
                    checker
                        .check_batch(&checking, round, &message.responses)
                        .await
                        .map_err(Status::from)
                }
                .await;
                let failed = item.is_err();
                if checked_tx.send(item).await.is_err() || failed {
                    break;
                }
            }
        });
        let output = async_stream::try_stream! {
            while let Some(batch) = checked.recv().await {
                let outcome = survey
                    .write_checked(&principal, batch?)
                    .await
                    .map_err(Status::from)?;
                yield pb::BulkSubmitResponsesResponse { results: submit_results_to_pb(outcome) };
            }
        };
        Ok(Response::new(Box::pin(output)))
    }

    async fn get_response(
        &self,
        request: Request<pb::GetResponseRequest>,
    ) -> Rpc<pb::GetResponseResponse> {
        let principal = Principal::of(&request)?;
        let (round, id) = field(parse_response_name("name", &request.get_ref().name))?;
        self.0.authorize_response(&principal, round, id).await?;
        let record = self.0.get_response(round, id).await?;
        Ok(Response::new(pb::GetResponseResponse {
            response: Some(response_to_pb(&record)),
        }))
    }

    async fn invalidate_response(
        &self,
        request: Request<pb::InvalidateResponseRequest>,
    ) -> Rpc<pb::InvalidateResponseResponse> {
        let (principal, actor) = caller(&request)?;
        let r = request.into_inner();
        let (round, id) = field(parse_response_name("name", &r.name))?;
        self.0.authorize_response(&principal, round, id).await?;
        let record = self
            .0
            .invalidate_response(&principal, round, id, &r.reason, &actor)
            .await?;
        Ok(Response::new(pb::InvalidateResponseResponse {
            response: Some(response_to_pb(&record)),
        }))
    }
}
