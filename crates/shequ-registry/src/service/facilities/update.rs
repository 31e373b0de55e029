//! Updating a facility: the fields an update mask names, in domain values, merged into the
//! stored facility, conditional on the etag, checked as a whole and against the status rules; a
//! change that changes nothing writes nothing.

use shequ_domain::{FacilitySpec, Violations};

use super::{ChangeKind, WriteContext, prefixed, table};
use crate::error::{RegistryError, Result};
use crate::service::Registry;
use crate::store::facilities::FacilityRecord;
use crate::store::now_micros;

/// An update of a facility in domain values.
#[derive(Debug, Clone, PartialEq)]
pub struct FacilityPatch {
    /// The values the update gives; only those at `paths` are taken.
    pub values: FacilitySpec,
    /// Writable fields ([`FacilitySpec::is_writable`]), in mask order.
    pub paths: Vec<String>,
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
        let mut violations = self.invalid.clone();
        if self.identity_invalid {
            return Err(violations);
        }
        let mut spec = current.clone();
        for path in &self.paths {
            spec.take(path, &self.values);
        }
        if let Err(v) = spec.validate() {
            violations.extend(v);
        }
        violations.into_result(spec.trimmed())
    }
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
        let changed: Vec<String> = old
            .changed_fields(&spec)
            .into_iter()
            .map(str::to_owned)
            .collect();
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
