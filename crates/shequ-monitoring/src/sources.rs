//! The source services, reached only through their generated gRPC clients with trace context and
//! the monitor's own credentials (`[client]`: a service token, or a client certificate), so the
//! sources see the `service` principal whoever asked the monitor: the registry's
//! `StreamLeafUnitFacts` and the survey's `StreamRoundFacts`. Any failure of a source, including
//! one mid-stream, fails the whole read.

use std::collections::HashMap;
use std::time::Duration;

use shequ_domain::DivisionCode;
use shequ_platform::client::{ClientConfig, ServiceChannel};
use shequ_proto::common::v1 as common;
use shequ_proto::names::division_name;
use shequ_proto::registry::v1 as registry;
use shequ_proto::registry::v1::division_service_client::DivisionServiceClient;
use shequ_proto::registry::v1::facility_service_client::FacilityServiceClient;
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
    divisions: DivisionServiceClient<ServiceChannel>,
    facilities: FacilityServiceClient<ServiceChannel>,
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
        let interceptor = client.interceptor()?;
        let registry_channel = client.channel(registry_endpoint, timeout)?;
        Ok(Self {
            divisions: DivisionServiceClient::with_interceptor(
                registry_channel.clone(),
                interceptor.clone(),
            ),
            facilities: FacilityServiceClient::with_interceptor(
                registry_channel,
                interceptor.clone(),
            )
            .max_decoding_message_size(64 << 20),
            rounds: RoundServiceClient::with_interceptor(
                client.channel(survey_endpoint, timeout)?,
                interceptor,
            )
            .max_decoding_message_size(64 << 20),
        })
    }

    /// The ancestors of `division` by the registry's parent links (province first); `None` when
    /// the registry does not know it.
    pub async fn division_ancestors(
        &self,
        division: DivisionCode,
    ) -> Result<Option<Vec<DivisionCode>>> {
        const WHAT: &str = "the facility registry";
        let answer = self
            .divisions
            .clone()
            .list_division_ancestors(registry::ListDivisionAncestorsRequest {
                name: division_name(division),
            })
            .await;
        let ancestors = match answer {
            Ok(r) => r.into_inner().ancestors,
            Err(s) if s.code() == Code::NotFound => return Ok(None),
            Err(s) => {
                return Err(MonitoringError::dependency_unavailable(
                    WHAT,
                    format!("{}: {}", s.code(), s.message()),
                ));
            }
        };
        ancestors
            .iter()
            .map(|d| {
                DivisionCode::parse(&d.code).ok().ok_or_else(|| {
                    MonitoringError::dependency_unavailable(
                        WHAT,
                        format!("ancestor code `{}` is not a division code", d.code),
                    )
                })
            })
            .collect::<Result<Vec<_>>>()
            .map(Some)
    }

    /// Every leaf unit under `scope` (the country when `None`).
    pub async fn registry_facts(&self, scope: Option<DivisionCode>) -> Result<RegistryFacts> {
        const WHAT: &str = "the facility registry";
        let mut stream = self
            .facilities
            .clone()
            .stream_leaf_unit_facts(registry::StreamLeafUnitFactsRequest {
                parent: scope.map(division_name).unwrap_or_default(),
            })
            .await
            .map_err(|s| failure(WHAT, s))?
            .into_inner();
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

    /// The official names of `division` (the country when `None`) and of its children, by code,
    /// from the registry's `GetDivision` and `ListDivisions`.
    pub async fn division_names(
        &self,
        division: Option<DivisionCode>,
    ) -> Result<HashMap<i64, String>> {
        const WHAT: &str = "the facility registry";
        let mut client = self.divisions.clone();
        let mut names = HashMap::new();
        let parent = division.map(division_name).unwrap_or_default();
        if let Some(code) = division {
            let d = client
                .get_division(registry::GetDivisionRequest {
                    name: parent.clone(),
                })
                .await
                .map_err(|s| failure(WHAT, s))?
                .into_inner()
                .division
                .unwrap_or_default();
            names.insert(code.as_i64(), d.display_name);
        }
        let mut page_token = String::new();
        loop {
            let page = client
                .list_divisions(registry::ListDivisionsRequest {
                    parent: parent.clone(),
                    page_size: 1000,
                    page_token,
                    show_retired: true,
                })
                .await
                .map_err(|s| failure(WHAT, s))?
                .into_inner();
            for d in page.divisions {
                if let Ok(code) = d.code.parse::<i64>() {
                    names.insert(code, d.display_name);
                }
            }
            if page.next_page_token.is_empty() {
                break;
            }
            page_token = page.next_page_token;
        }
        Ok(names)
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
