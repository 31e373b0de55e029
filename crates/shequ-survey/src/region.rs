//! Where leaf units lie, learnt only from the registry's gRPC API (through the platform's
//! [`RegistryClient`], its messages read in `grpc/registry.rs`) and cached per round: a round's
//! region (the whole country for a national round) is loaded once through
//! `StreamLeafUnitFacts(parent = region)`; a code missing from it is looked up with `GetDivision`
//! and `ListDivisionAncestors`, and remembered once the registry confirms it as a leaf unit of the
//! region (a refusal is not remembered: the registry may import the unit later). A registry that
//! cannot be reached, or that refuses the survey's own credentials, is a failure of the
//! dependency, never a verdict on the unit.

use std::collections::HashMap;
use std::sync::Mutex;

use shequ_domain::{DivisionCode, DivisionLevel};
use shequ_platform::registry::{RegistryClient, RegistryFailure};
use shequ_proto::names::division_name;
use tonic::Status;

use crate::error::Result;
use crate::grpc::registry as wire;

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

/// Every leaf unit under `region` (the whole country when `None`) with its ancestors.
pub async fn load_region(
    registry: &RegistryClient,
    region: Option<(DivisionCode, DivisionLevel)>,
) -> std::result::Result<RegionMap, RegistryFailure> {
    let failure = |s: Status| RegistryFailure::of(&s);
    let mut map = RegionMap::default();
    if let Some((code, level)) = region {
        map.levels.insert(code.as_i64(), level);
    }
    let level = region.map(|r| r.1);
    wire::each_leaf_unit(registry, region.map(|r| r.0), |code, ancestors| {
        map.insert(code, ancestors, level);
    })
    .await
    .map_err(failure)?;
    map.units.sort_unstable_by_key(|u| u.0);
    map.units.dedup_by_key(|u| u.0);
    map.units.shrink_to_fit();
    map.levels.shrink_to_fit();
    Ok(map)
}

/// Checks a leaf unit missing from the region map: `Ok(Err(description))` when it is not a leaf
/// unit inside `region` (the whole country when `None`).
pub async fn check_unit(
    registry: &RegistryClient,
    unit: DivisionCode,
    region: Option<DivisionCode>,
) -> Result<std::result::Result<Ancestors, String>> {
    let Some(division) = wire::division(registry, unit).await? else {
        return Ok(Err("is not a division in the registry".to_owned()));
    };
    if division.level != Some(DivisionLevel::Village) {
        return Ok(Err("is not a leaf unit (village or community)".to_owned()));
    }
    if division.retired {
        return Ok(Err("is retired in the registry".to_owned()));
    }
    // The registry answered for the unit a moment ago: losing it now is a failure of the call.
    let ancestors = wire::ancestors(registry, unit).await?.ok_or_else(|| {
        RegistryFailure::Unavailable(format!(
            "NotFound: `{}` vanished between two calls",
            division_name(unit)
        ))
    })?;
    if let Some(region) = region {
        let region_name = division_name(region);
        if !ancestors.iter().any(|a| a.name == region_name) {
            return Ok(Err(format!(
                "lies outside the round's region `{region_name}`"
            )));
        }
    }
    let code_at = |level: DivisionLevel| {
        ancestors
            .iter()
            .find(|a| a.level == Some(level))
            .and_then(|a| a.code)
    };
    Ok(Ok(Ancestors {
        province: code_at(DivisionLevel::Province).unwrap_or_default(),
        prefecture: code_at(DivisionLevel::Prefecture),
        county: code_at(DivisionLevel::County),
        township: code_at(DivisionLevel::Township),
    }))
}

/// What is known of a round's region: the map once loaded (in the background), the last failure
/// to load it, and the leaf units the registry confirmed one by one since (units it gained
/// later). Codes it refused are not kept: the registry may learn them later.
#[derive(Debug, Default)]
pub struct RegionCache {
    pub map: std::sync::OnceLock<std::sync::Arc<RegionMap>>,
    pub loading: std::sync::atomic::AtomicBool,
    pub failure: Mutex<Option<RegistryFailure>>,
    pub loaded: tokio::sync::Notify,
    pub extra: Mutex<HashMap<i64, Ancestors>>,
}
