//! What a write request asks of a facility, in domain values: a create with its request id and
//! the fingerprint of its body, a batch of creates, and the update an update mask makes.

use shequ_domain::{FacilitySpec, Violations};
use shequ_platform::idempotency::{check_request_id, request_fingerprint};
use shequ_proto::registry::v1 as pb;

use super::facility::{facility_spec_from_pb, parse_facility};
use crate::error::RegistryError;
use crate::service::facilities::{Creation, FacilityPatch, MAX_BATCH_CREATE, NewFacility};

/// The facility a CreateFacility request states, with its request id; every bad field is named
/// under `facility`.
pub fn new_facility(
    facility: &pb::Facility,
    request_id: &str,
    reason: &str,
) -> Result<NewFacility, RegistryError> {
    check_request_id("request_id", request_id).map_err(|v| RegistryError::Invalid(v.into()))?;
    let spec = facility_spec_from_pb(facility)
        .map_err(|v| RegistryError::Invalid(v.prefixed("facility")))?;
    Ok(NewFacility {
        spec,
        request_id: request_id.to_owned(),
        request_hash: request_fingerprint(facility, reason),
    })
}

/// The creations of a BatchCreateFacilities request, in request order, every bad field of every
/// request named as `requests[i].…`, request ids repeated within the batch included.
pub fn creations(requests: &[pb::CreateFacilityRequest]) -> Result<Vec<Creation>, RegistryError> {
    if requests.is_empty() {
        return Err(RegistryError::invalid(
            "requests",
            "must hold at least one request",
        ));
    }
    if requests.len() > MAX_BATCH_CREATE {
        return Err(RegistryError::invalid(
            "requests",
            format!(
                "holds {} requests; at most {MAX_BATCH_CREATE} are accepted per call",
                requests.len()
            ),
        ));
    }
    let mut bad = Violations::new();
    let mut specs = Vec::with_capacity(requests.len());
    let mut seen: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for (i, r) in requests.iter().enumerate() {
        if let Err(v) = check_request_id(format!("requests[{i}].request_id"), &r.request_id) {
            bad.push(v.field, v.description);
        } else if !r.request_id.is_empty()
            && let Some(first) = seen.insert(r.request_id.as_str(), i)
        {
            bad.push(
                format!("requests[{i}].request_id"),
                format!("repeats the request_id of `requests[{first}]`"),
            );
        }
        match &r.facility {
            None => bad.push(format!("requests[{i}].facility"), "is required"),
            Some(f) => match facility_spec_from_pb(f) {
                Ok(spec) => specs.push(spec),
                Err(v) => bad.extend(v.prefixed(&format!("requests[{i}].facility"))),
            },
        }
    }
    if !bad.is_empty() {
        return Err(RegistryError::Invalid(bad));
    }
    Ok(requests
        .iter()
        .zip(specs)
        .map(|(r, spec)| Creation {
            facility: NewFacility {
                spec,
                request_id: r.request_id.clone(),
                request_hash: request_fingerprint(
                    r.facility.as_ref().unwrap_or(&pb::Facility::default()),
                    &r.reason,
                ),
            },
            reason: r.reason.clone(),
        })
        .collect())
}

/// The update an UpdateFacility request makes: `patch`'s values at the paths `mask` names (every
/// writable field when it is empty or holds `*`). A path that is no writable field is
/// INVALID_ARGUMENT on `update_mask`. Values that do not parse travel in the patch, named as in
/// the facility and in the order of its fields, to be reported once the facility is found; each
/// one named takes what a create would have taken in its place.
pub fn facility_patch(
    patch: &pb::Facility,
    mask: &[String],
) -> Result<FacilityPatch, RegistryError> {
    let paths: Vec<&str> = if mask.is_empty() || mask.iter().any(|p| p == "*") {
        FacilitySpec::WRITABLE.to_vec()
    } else {
        mask.iter().map(String::as_str).collect()
    };
    let mut bad = Violations::new();
    for p in &paths {
        if !FacilitySpec::is_writable(p) {
            bad.push(
                "update_mask",
                format!(
                    "`{}` is not a writable field of a facility",
                    shequ_domain::excerpt(p)
                ),
            );
        }
    }
    if !bad.is_empty() {
        return Err(RegistryError::Invalid(bad));
    }
    // Parsed as a create parses it, so violations come in the same order; those of fields the
    // mask does not name are no concern of this update.
    let parsed = parse_facility(patch);
    let named = |field: &str| {
        paths.iter().any(|p| {
            field == *p
                || field
                    .strip_prefix(p)
                    .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
        })
    };
    let mut invalid = Violations::new();
    for violation in parsed.violations.iter() {
        if named(&violation.field) {
            invalid.push(violation.field.clone(), violation.description.clone());
        }
    }
    let identity_invalid = (named("leaf_unit") && !parsed.leaf_unit_parsed)
        || (named("status") && !parsed.status_parsed);
    Ok(FacilityPatch {
        values: parsed.spec,
        paths: paths.into_iter().map(str::to_owned).collect(),
        invalid,
        identity_invalid,
        etag: patch.etag.clone(),
    })
}
