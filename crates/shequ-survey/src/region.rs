//! Where leaf units lie, learnt only from the registry's gRPC API and cached per round: a round's
//! region (the whole country for a national round) is loaded once through
//! `StreamLeafUnitFacts(parent = region)`; a code missing from it is looked up with `GetDivision`
//! and `ListDivisionAncestors`, and remembered once the registry confirms it as a leaf unit of the
//! region (a refusal is not remembered: the registry may import the unit later). A registry that
//! cannot be reached, or that refuses the survey's own credentials, is a failure of the
//! dependency [`REGISTRY`], never a verdict on the unit. Every call carries the trace context
//! and, when `[client]` names a token file, the survey's bearer token, so the registry sees a
//! `service` principal.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use shequ_domain::{DivisionCode, DivisionLevel};
use shequ_platform::client::{ClientConfig, ServiceChannel};
use shequ_platform::error::DependencyFailure;
use shequ_proto::common::v1 as common;
use shequ_proto::names::division_name;
use shequ_proto::registry::v1 as registry;
use shequ_proto::registry::v1::division_service_client::DivisionServiceClient;
use shequ_proto::registry::v1::facility_service_client::FacilityServiceClient;
use tokio_stream::StreamExt;
use tonic::{Code, Status};

use crate::error::{Result, SurveyError};

/// The survey's one dependency, as its statuses name it.
pub const REGISTRY: &str = "the facility registry";

/// A leaf unit's ancestors, from the registry's parent links.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ancestors {
    pub province: i64,
    pub prefecture: Option<i64>,
    pub county: Option<i64>,
    pub township: Option<i64>,
}

/// Every leaf unit of a round's region with its ancestors, sorted by code, and the level of every
/// other division in it. About 64 bytes a leaf unit: 40 MB for the whole country.
#[derive(Debug, Default)]
pub struct RegionMap {
    pub units: Vec<(i64, Ancestors)>,
    pub levels: HashMap<i64, DivisionLevel>,
}

impl RegionMap {
    /// The ancestors of a leaf unit of the region.
    pub fn get(&self, unit: i64) -> Option<Ancestors> {
        self.units
            .binary_search_by_key(&unit, |u| u.0)
            .ok()
            .map(|i| self.units[i].1)
    }

    /// The level of `code` when it is the region or a division inside it.
    pub fn level(&self, code: i64) -> Option<DivisionLevel> {
        self.levels
            .get(&code)
            .copied()
            .or_else(|| self.get(code).map(|_| DivisionLevel::Village))
    }

    /// Whether leaf unit `unit` lies in division `code` (or is it); code 0 is the whole country.
    pub fn contains(&self, code: i64, unit: i64, a: &Ancestors) -> bool {
        code == 0
            || unit == code
            || a.province == code
            || a.prefecture == Some(code)
            || a.county == Some(code)
            || a.township == Some(code)
    }

    /// Adds a leaf unit's ancestors from the region's level down (those above it are not
    /// divisions of the region; with no region level, the whole country, all are).
    fn insert(&mut self, code: i64, a: Ancestors, region_level: Option<DivisionLevel>) {
        self.units.push((code, a));
        for (c, level) in [
            (Some(a.province), DivisionLevel::Province),
            (a.prefecture, DivisionLevel::Prefecture),
            (a.county, DivisionLevel::County),
            (a.township, DivisionLevel::Township),
        ] {
            if let Some(c) = c
                && region_level.is_none_or(|r| level.number() >= r.number())
            {
                self.levels.insert(c, level);
            }
        }
    }
}

/// The registry's gRPC clients, carrying trace context and the survey's credentials.
#[derive(Clone)]
pub struct RegistryLink {
    divisions: DivisionServiceClient<ServiceChannel>,
    facilities: FacilityServiceClient<ServiceChannel>,
}

/// A failed registry call: refused credentials (the registry answered, but not to us) or a
/// registry that cannot be used right now.
fn registry_failure(status: Status) -> SurveyError {
    let cause = format!("{}: {}", status.code(), status.message());
    match status.code() {
        Code::Unauthenticated | Code::PermissionDenied => {
            SurveyError::dependency_refused(REGISTRY, cause)
        }
        _ => SurveyError::dependency_unavailable(REGISTRY, cause),
    }
}

impl RegistryLink {
    /// Clients for `endpoint` with the credentials of `client`; the connection is made on first
    /// use and remade after failures.
    pub fn new(client: &ClientConfig, endpoint: &str, timeout: Duration) -> anyhow::Result<Self> {
        let channel = client.channel(endpoint, timeout)?;
        let interceptor = client.interceptor()?;
        Ok(Self {
            divisions: DivisionServiceClient::with_interceptor(
                channel.clone(),
                interceptor.clone(),
            )
            .max_decoding_message_size(64 << 20),
            facilities: FacilityServiceClient::with_interceptor(channel, interceptor)
                .max_decoding_message_size(64 << 20),
        })
    }

    /// The division `code` and its ancestors by parent links; `None` when the registry does not
    /// know the code.
    pub async fn ancestry(&self, code: DivisionCode) -> Result<Option<Vec<DivisionCode>>> {
        match self
            .divisions
            .clone()
            .list_division_ancestors(registry::ListDivisionAncestorsRequest {
                name: division_name(code),
            })
            .await
        {
            Ok(r) => {
                let mut codes = vec![code];
                codes.extend(
                    r.into_inner()
                        .ancestors
                        .iter()
                        .filter_map(|a| DivisionCode::parse(&a.code).ok()),
                );
                Ok(Some(codes))
            }
            Err(s) if s.code() == Code::NotFound => Ok(None),
            Err(s) => Err(registry_failure(s)),
        }
    }

    /// The division, or `None` when the registry does not know it.
    pub async fn division(&self, code: DivisionCode) -> Result<Option<registry::Division>> {
        match self
            .divisions
            .clone()
            .get_division(registry::GetDivisionRequest {
                name: division_name(code),
            })
            .await
        {
            Ok(r) => Ok(r.into_inner().division),
            Err(s) if s.code() == Code::NotFound => Ok(None),
            Err(s) => Err(registry_failure(s)),
        }
    }

    /// Every leaf unit under `region` (the whole country when `None`) with its ancestors.
    pub async fn load_region(
        &self,
        region: Option<(DivisionCode, DivisionLevel)>,
    ) -> Result<RegionMap> {
        let mut stream = self
            .facilities
            .clone()
            .stream_leaf_unit_facts(registry::StreamLeafUnitFactsRequest {
                parent: region.map(|r| division_name(r.0)).unwrap_or_default(),
            })
            .await
            .map_err(registry_failure)?
            .into_inner();
        let mut map = RegionMap::default();
        if let Some((code, level)) = region {
            map.levels.insert(code.as_i64(), level);
        }
        let level = region.map(|r| r.1);
        while let Some(batch) = stream.next().await {
            for f in batch.map_err(registry_failure)?.facts {
                let opt = |c: u64| (c != 0).then_some(c as i64);
                map.insert(
                    f.code as i64,
                    Ancestors {
                        province: f.province as i64,
                        prefecture: opt(f.prefecture),
                        county: opt(f.county),
                        township: opt(f.township),
                    },
                    level,
                );
            }
        }
        map.units.sort_unstable_by_key(|u| u.0);
        map.units.dedup_by_key(|u| u.0);
        map.units.shrink_to_fit();
        map.levels.shrink_to_fit();
        Ok(map)
    }

    /// Checks a leaf unit missing from the region map: `Ok(Err(description))` when it is not a
    /// leaf unit inside `region` (the whole country when `None`).
    pub async fn check_unit(
        &self,
        unit: DivisionCode,
        region: Option<DivisionCode>,
    ) -> Result<std::result::Result<Ancestors, String>> {
        let Some(division) = self.division(unit).await? else {
            return Ok(Err("is not a division in the registry".to_owned()));
        };
        if division.level != common::DivisionLevel::Village as i32 {
            return Ok(Err("is not a leaf unit (village or community)".to_owned()));
        }
        if division.retired {
            return Ok(Err("is retired in the registry".to_owned()));
        }
        let ancestors = self
            .divisions
            .clone()
            .list_division_ancestors(registry::ListDivisionAncestorsRequest {
                name: division_name(unit),
            })
            .await
            .map_err(registry_failure)?
            .into_inner()
            .ancestors;
        if let Some(region) = region {
            let region_name = division_name(region);
            if !ancestors.iter().any(|a| a.name == region_name) {
                return Ok(Err(format!(
                    "lies outside the round's region `{region_name}`"
                )));
            }
        }
        let code_at = |level: common::DivisionLevel| {
            ancestors
                .iter()
                .find(|a| a.level == level as i32)
                .and_then(|a| a.code.parse::<i64>().ok())
        };
        Ok(Ok(Ancestors {
            province: code_at(common::DivisionLevel::Province).unwrap_or_default(),
            prefecture: code_at(common::DivisionLevel::Prefecture),
            county: code_at(common::DivisionLevel::County),
            township: code_at(common::DivisionLevel::Township),
        }))
    }
}

/// Why a round's region could not be loaded, kept for the callers waiting on it.
#[derive(Debug, Clone)]
pub enum RegionFailure {
    Unavailable(String),
    Refused(String),
}

impl RegionFailure {
    pub fn of(err: &SurveyError) -> Self {
        match err {
            SurveyError::Dependency {
                failure: DependencyFailure::Refused,
                cause,
                ..
            } => Self::Refused(cause.clone()),
            other => Self::Unavailable(other.to_string()),
        }
    }

    pub fn error(self) -> SurveyError {
        match self {
            Self::Unavailable(cause) => SurveyError::dependency_unavailable(REGISTRY, cause),
            Self::Refused(cause) => SurveyError::dependency_refused(REGISTRY, cause),
        }
    }
}

/// What is known of a round's region: the map once loaded (in the background), the last failure
/// to load it, and the leaf units the registry confirmed one by one since (units it gained
/// later). Codes it refused are not kept: the registry may learn them later.
#[derive(Debug, Default)]
pub struct RegionCache {
    pub map: std::sync::OnceLock<std::sync::Arc<RegionMap>>,
    pub loading: std::sync::atomic::AtomicBool,
    pub failure: Mutex<Option<RegionFailure>>,
    pub loaded: tokio::sync::Notify,
    pub extra: Mutex<HashMap<i64, Ancestors>>,
}
