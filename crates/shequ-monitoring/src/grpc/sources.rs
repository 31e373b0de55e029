//! The sources' messages as the monitor reads them: the registry's `StreamLeafUnitFacts` (through
//! the platform's [`RegistryClient`]) and the survey's `StreamRoundFacts` (through the survey's
//! generated client, held here), each read into named facts, so that `crate::sources` speaks
//! domain types only. Any failure of a stream, including one mid-stream, is its status, for the
//! caller to judge.

use std::collections::HashMap;
use std::time::Duration;

use shequ_domain::DivisionCode;
use shequ_platform::client::{ClientConfig, ClientConfigError, ServiceChannel};
use shequ_platform::registry::RegistryClient;
use shequ_proto::common::v1 as common;
use shequ_proto::survey::v1 as survey;
use shequ_proto::survey::v1::round_service_client::RoundServiceClient;
use tokio_stream::StreamExt;
use tonic::Status;

use crate::facts::{RegistryUnitFacts, SurveyUnitFacts};
use crate::rollup::LeafFacts;
use crate::sources::RegistryFacts;

/// Largest message a survey answer may be (a national round's facts come in batches).
const MAX_MESSAGE_BYTES: usize = 64 << 20;

/// Every leaf unit under `scope` (the country when `None`) with the registry's facts of it, and
/// what identifies the snapshot (from the first message).
pub async fn registry_facts(
    registry: &RegistryClient,
    scope: Option<DivisionCode>,
) -> Result<RegistryFacts, Status> {
    let mut stream = registry.leaf_unit_facts(scope).await?;
    let mut out = RegistryFacts::default();
    let mut first = true;
    while let Some(message) = stream.next().await {
        let message = message?;
        if first {
            out.change_cursor = message.change_cursor;
            out.vintage = message.vintage;
            first = false;
        }
        out.leaves.reserve(message.facts.len());
        for f in message.facts {
            let registry = RegistryUnitFacts {
                leaf_units: 1.0,
                in_service_facilities: f64::from(f.in_service_facilities),
                total_floor_area_m2: f.total_floor_area_m2,
                activity_area_m2: f.activity_area_m2,
                activity_share_compliant: f64::from(f.activity_share_compliant),
                opening_hours_compliant: f64::from(f.opening_hours_compliant),
                online_24h: f64::from(u8::from(f.online_24h)),
                self_service_terminals: f64::from(f.self_service_terminals),
                community_workers: f64::from(f.community_workers),
                social_workers: f64::from(f.social_workers),
            };
            out.leaves.push(LeafFacts {
                code: f.code as i64,
                ancestors: [
                    f.province as i64,
                    f.prefecture as i64,
                    f.county as i64,
                    f.township as i64,
                ],
                community: f.kind == common::LeafUnitKind::Community as i32,
                registry,
                survey: None,
            });
        }
    }
    Ok(out)
}

/// The survey's `RoundService`, called with trace context and the monitor's own credentials;
/// cheap to clone.
#[derive(Clone)]
pub struct RoundsClient(RoundServiceClient<ServiceChannel>);

impl RoundsClient {
    /// A client for `endpoint` with the credentials of `client`; the connection is made on first
    /// use and remade after failures.
    pub fn new(
        client: &ClientConfig,
        endpoint: &str,
        timeout: Duration,
    ) -> Result<Self, ClientConfigError> {
        Ok(Self(
            RoundServiceClient::with_interceptor(
                client.channel(endpoint, timeout)?,
                client.interceptor()?,
            )
            .max_decoding_message_size(MAX_MESSAGE_BYTES),
        ))
    }

    /// Every leaf unit of round `round`'s region, by code, with its survey facts; a unit is
    /// covered when it reached the round's minimum of valid responses (at least 1).
    pub async fn survey_facts(&self, round: &str) -> Result<HashMap<i64, SurveyUnitFacts>, Status> {
        let mut stream = self
            .0
            .clone()
            .stream_round_facts(survey::StreamRoundFactsRequest {
                round: format!("rounds/{round}"),
            })
            .await?
            .into_inner();
        let mut out = HashMap::new();
        let mut min_valid = None;
        while let Some(message) = stream.next().await {
            let message = message?;
            let min = *min_valid.get_or_insert(i64::from(message.min_valid_responses.max(1)));
            for f in message.facts {
                out.insert(
                    f.code as i64,
                    SurveyUnitFacts {
                        leaf_units: 1.0,
                        valid_responses: f.valid_responses as f64,
                        scored_responses: f.scored_responses as f64,
                        score_sum: f.score_sum,
                        covered: f64::from(u8::from(f.valid_responses >= min)),
                    },
                );
            }
        }
        Ok(out)
    }
}
