//! The source services, reached only through their generated gRPC clients with trace context and
//! the monitor's own credentials (`[client]`: a service token, or a client certificate), so the
//! sources see the `service` principal whoever asked the monitor: the registry's
//! `StreamLeafUnitFacts` (through the platform's [`RegistryClient`], which also answers the
//! hierarchy's ancestries and names) and the survey's `StreamRoundFacts`, their messages read into
//! named facts in `grpc/sources.rs`. Any failure of a source, including one mid-stream, fails the
//! whole read.

use std::collections::HashMap;
use std::time::Duration;

use shequ_domain::DivisionCode;
use shequ_platform::client::ClientConfig;
use shequ_platform::registry::{REGISTRY, RegistryClient};
use tonic::{Code, Status};

use crate::error::{MonitoringError, Result};
use crate::facts::SurveyUnitFacts;
use crate::grpc::sources::{self as wire, RoundsClient};
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
    rounds: RoundsClient,
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
            rounds: RoundsClient::new(client, survey_endpoint, timeout)?,
        })
    }

    /// The registry, with the ancestries it gave.
    pub fn registry(&self) -> &RegistryClient {
        &self.registry
    }

    /// Every leaf unit under `scope` (the country when `None`).
    pub async fn registry_facts(&self, scope: Option<DivisionCode>) -> Result<RegistryFacts> {
        wire::registry_facts(&self.registry, scope)
            .await
            .map_err(|s| failure(REGISTRY, s))
    }

    /// Every leaf unit of the round's region, by code, with its survey facts.
    pub async fn survey_facts(&self, round: &str) -> Result<HashMap<i64, SurveyUnitFacts>> {
        self.rounds
            .survey_facts(round)
            .await
            .map_err(|s| failure("the survey service", s))
    }
}
