//! Updating a facility: the fields an update mask names, in domain values, merged into the
//! stored facility, conditional on the etag, checked as a whole and against the status rules; a
//! change that changes nothing writes nothing.

use std::collections::BTreeSet;

use shequ_domain::{
    Coordinates, DivisionCode, FacilitySpec, FacilityStatus, OpeningHours, ServiceKind,
    StaffCounts, Uscc, Violations,
};

use super::{ChangeKind, WRITABLE, WriteContext, prefixed, table};
use crate::error::{RegistryError, Result};
use crate::service::Registry;
use crate::store::now_micros;
use crate::store::rows::FacilityRecord;

/// The value an update gives one writable field, by its update-mask path.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue {
    DisplayName(String),
    LeafUnit(DivisionCode),
    Address(String),
    Location(Option<Coordinates>),
    /// `location.latitude`: the longitude stays (0 where there was no location).
    Latitude(f64),
    Longitude(f64),
    Status(FacilityStatus),
    TotalFloorArea(f64),
    ActivityArea(f64),
    OpeningHours(OpeningHours),
    Services(BTreeSet<ServiceKind>),
    Online24hServices(BTreeSet<ServiceKind>),
    SelfServiceTerminals(u32),
    Staff(StaffCounts),
    CommunityWorkers(u32),
    SocialWorkers(u32),
    Operator {
        name: String,
        uscc: Option<Uscc>,
    },
    OperatorName(String),
    OperatorUscc(Option<Uscc>),
}

impl FieldValue {
    fn apply(&self, spec: &mut FacilitySpec) {
        match self {
            Self::DisplayName(v) => spec.display_name.clone_from(v),
            Self::LeafUnit(v) => spec.leaf_unit = *v,
            Self::Address(v) => spec.address.clone_from(v),
            Self::Location(v) => spec.location = *v,
            Self::Latitude(latitude) => {
                let longitude = spec.location.map_or(0.0, |l| l.longitude);
                spec.location = Some(Coordinates {
                    latitude: *latitude,
                    longitude,
                });
            }
            Self::Longitude(longitude) => {
                let latitude = spec.location.map_or(0.0, |l| l.latitude);
                spec.location = Some(Coordinates {
                    latitude,
                    longitude: *longitude,
                });
            }
            Self::Status(v) => spec.status = *v,
            Self::TotalFloorArea(v) => spec.total_floor_area_m2 = *v,
            Self::ActivityArea(v) => spec.activity_area_m2 = *v,
            Self::OpeningHours(v) => spec.opening_hours.clone_from(v),
            Self::Services(v) => spec.services.clone_from(v),
            Self::Online24hServices(v) => spec.online_24h_services.clone_from(v),
            Self::SelfServiceTerminals(v) => spec.self_service_terminals = *v,
            Self::Staff(v) => spec.staff = *v,
            Self::CommunityWorkers(v) => spec.staff.community_workers = *v,
            Self::SocialWorkers(v) => spec.staff.social_workers = *v,
            Self::Operator { name, uscc } => {
                spec.operator_name.clone_from(name);
                spec.operator_uscc.clone_from(uscc);
            }
            Self::OperatorName(v) => spec.operator_name.clone_from(v),
            Self::OperatorUscc(v) => spec.operator_uscc.clone_from(v),
        }
    }
}

/// An update of a facility in domain values.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FacilityPatch {
    /// In mask order: a later value for the same field wins.
    pub values: Vec<FieldValue>,
    /// The request's values that do not parse, named by their path in the facility. They are
    /// reported once the facility is found and its etag matches, with whatever the merged
    /// facility breaks.
    pub invalid: Violations,
    /// Whether the leaf unit or status did not parse: then the merged facility is not judged
    /// further, as for a create.
    pub identity_invalid: bool,
    /// The etag the update is conditional on; empty for none.
    pub etag: String,
}

impl FacilityPatch {
    /// `current` with this patch's values, judged as a whole and trimmed; the violations name
    /// paths in the facility.
    pub fn apply(&self, current: &FacilitySpec) -> Result<FacilitySpec, Violations> {
        let mut spec = current.clone();
        for value in &self.values {
            value.apply(&mut spec);
        }
        let mut violations = self.invalid.clone();
        if self.identity_invalid {
            return Err(violations);
        }
        if let Err(v) = spec.validate() {
            violations.extend(v);
        }
        violations.into_result(spec.trimmed())
    }
}

/// The top-level writable fields (as in [`WRITABLE`]) whose values differ.
fn changed_fields(old: &FacilitySpec, new: &FacilitySpec) -> Vec<String> {
    let differs = |field: &str| match field {
        "display_name" => old.display_name != new.display_name,
        "leaf_unit" => old.leaf_unit != new.leaf_unit,
        "address" => old.address != new.address,
        "location" => old.location != new.location,
        "status" => old.status != new.status,
        "total_floor_area_m2" => old.total_floor_area_m2 != new.total_floor_area_m2,
        "activity_area_m2" => old.activity_area_m2 != new.activity_area_m2,
        "opening_hours" => old.opening_hours != new.opening_hours,
        "services" => old.services != new.services,
        "online_24h_services" => old.online_24h_services != new.online_24h_services,
        "self_service_terminals" => old.self_service_terminals != new.self_service_terminals,
        "staff" => old.staff != new.staff,
        "operator" => {
            old.operator_name != new.operator_name || old.operator_uscc != new.operator_uscc
        }
        _ => unreachable!("`{field}` is not a writable field"),
    };
    WRITABLE
        .iter()
        .filter(|f| differs(f))
        .map(|f| (*f).to_owned())
        .collect()
}

impl Registry {
    /// Merges `patch` into facility `id` and writes the result.
    pub async fn update_facility(
        &self,
        id: &str,
        patch: &FacilityPatch,
        ctx: &WriteContext,
    ) -> Result<FacilityRecord> {
        let txn = self.begin_write().await?;
        let current = match self.load_facility(&*txn, id).await? {
            Some(r) if r.delete_time.is_none() => r,
            _ => return Err(Self::not_found(id)),
        };
        Self::check_etag(&current, &patch.etag)?;
        let old = table::decode_spec(&current)?;
        let spec = patch.apply(&old).map_err(prefixed)?;
        if !old.status.can_become(spec.status) {
            return Err(RegistryError::precondition(
                "facility.status",
                format!(
                    "a facility cannot go from `{}` to `{}`",
                    old.status.as_str(),
                    spec.status.as_str()
                ),
            ));
        }
        let changed = changed_fields(&old, &spec);
        if changed.is_empty() {
            return Ok(current);
        }
        if changed.iter().any(|f| f == "leaf_unit") {
            self.check_leaf_unit(spec.leaf_unit).await?;
        }
        if !table::update(&*txn, id, &spec, current.revision, now_micros()).await? {
            return Err(RegistryError::Aborted(format!(
                "`facilities/{id}` changed concurrently; read it again and retry"
            )));
        }
        let record = self
            .load_facility(&*txn, id)
            .await?
            .ok_or_else(|| Self::not_found(id))?;
        self.record_change(&txn, &record, ChangeKind::Updated, changed, ctx)
            .await?;
        txn.commit().await?;
        self.committed(&record);
        Ok(record)
    }
}
