//! The source services, reached only through their generated gRPC clients with trace context and
//! the monitor's own credentials (`[client]`: a service token, or a client certificate), so the
//! sources see the `service` principal whoever asked the monitor: the registry's
//! `StreamLeafUnitFacts` (through the platform's [`RegistryClient`], which also answers the
//! hierarchy's ancestries and names) and the survey's `StreamRoundFacts`. Any failure of a source,
//! including one mid-stream, fails the whole read.

use std::collections::HashMap;
use std::time::Duration;

use shequ_domain::DivisionCode;
use shequ_platform::client::{ClientConfig, ServiceChannel};
use shequ_platform::registry::{REGISTRY, RegistryClient};
use shequ_proto::common::v1 as common;
use shequ_proto::survey::v1 as survey;
use shequ_proto::survey::v1::round_service_client::RoundServiceClient;
use tokio_stream::StreamExt;
use tonic::{Code, Status};

use crate::error::{MonitoringError, Result};
use crate::facts::{RegistryUnitFacts, SurveyUnitFacts};
use crate::rollup::LeafFacts;

/// The registry's facts of a scope, with what identifies the snapshot.
#[derive(Debug, Default)]
pub struct RegistryFacts {
    pub leaves: Vec<LeafFacts>,
    pub change_cursor: String,
    pub vintage: String,
}

#[derive(Clone)]
pub struct Sources {
    registry: RegistryClient,
    rounds: RoundServiceClient<ServiceChannel>,
}

fn failure(what: &'static str, status: Status) -> MonitoringError {
    match status.code() {
        Code::NotFound => MonitoringError::reference_not_found(
            if what == "the survey service" {
                "survey_round"
            } else {
                "plan.scope"
            },
            status.message().to_owned(),
        ),
        _ => MonitoringError::dependency_unavailable(
            what,
            format!("{}: {}", status.code(), status.message()),
        ),
    }
}

impl Sources {
    /// Clients for the two endpoints, calling with the credentials of `client`; connections are
    /// made on first use and remade after failures. A token file that cannot be read, or TLS
    /// settings that do not fit an endpoint, are configuration errors naming the field.
    pub fn new(
        client: &ClientConfig,
        registry_endpoint: &str,
        survey_endpoint: &str,
        timeout: Duration,
    ) -> anyhow::Result<Self> {
        Ok(Self {
            registry: RegistryClient::new(client, registry_endpoint, timeout)?,
            rounds: RoundServiceClient::with_interceptor(
                client.channel(survey_endpoint, timeout)?,
                client.interceptor()?,
            )
            .max_decoding_message_size(64 << 20),
        })
    }

    /// The registry, with the ancestries it gave.
    pub fn registry(&self) -> &RegistryClient {
        &self.registry
    }

    /// Every leaf unit under `scope` (the country when `None`).
    pub async fn registry_facts(&self, scope: Option<DivisionCode>) -> Result<RegistryFacts> {
        const WHAT: &str = REGISTRY;
        let mut stream = self
            .registry
            .leaf_unit_facts(scope)
            .await
            .map_err(|s| failure(WHAT, s))?;
        let mut out = RegistryFacts::default();
        let mut first = true;
        while let Some(message) = stream.next().await {
            let message = message.map_err(|s| failure(WHAT, s))?;
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

    /// Every leaf unit of the round's region, by code, with its survey facts.
    pub async fn survey_facts(&self, round: &str) -> Result<HashMap<i64, SurveyUnitFacts>> {
        const WHAT: &str = "the survey service";
        let mut stream = self
            .rounds
            .clone()
            .stream_round_facts(survey::StreamRoundFactsRequest {
                round: format!("rounds/{round}"),
            })
            .await
            .map_err(|s| failure(WHAT, s))?
            .into_inner();
        let mut out = HashMap::new();
        let mut min_valid = None;
        while let Some(message) = stream.next().await {
            let message = message.map_err(|s| failure(WHAT, s))?;
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
