//! Facility records: validated writes with optimistic concurrency, idempotent creates, soft
//! delete, a change-log entry for every write, and stable listings.

use prost::Message;
use sea_orm::{ConnectionTrait, DatabaseTransaction};
use sha2::{Digest, Sha256};
use shequ_domain::{
    DivisionCode, FacilitySpec, FacilityStatus, FieldViolation, LeafUnitKind, ServiceKind,
    Violations,
};
use shequ_proto::convert::{facility_spec_from_pb, facility_spec_to_pb, kind_to_pb};
use shequ_proto::names::{division_name, facility_name};
use shequ_proto::registry::v1 as pb;

use std::sync::Arc;

use shequ_platform::Principal;
use shequ_platform::audit::AuditEntry;

use super::Registry;
use crate::error::{RegistryError, Result};
pub use crate::store::changes::ChangeKind;
use crate::store::changes::{self, ChangeRecord, FacilityChange};
pub use crate::store::facilities::FacilityFilter;
use crate::store::facilities::{self as table, NewRow};
use crate::store::now_micros;
use crate::store::rows::FacilityRecord;
use shequ_platform::page;

/// Who writes and why, kept in the change log and the audit trail.
#[derive(Debug, Clone, Default)]
pub struct WriteContext {
    pub actor: String,
    pub reason: String,
    /// The authenticated principal; `None` is the development principal.
    pub principal: Option<Arc<Principal>>,
}

impl WriteContext {
    /// The principal recorded in the audit trail.
    pub fn principal(&self) -> Arc<Principal> {
        self.principal
            .clone()
            .unwrap_or_else(|| Arc::new(Principal::development()))
    }

    /// Whose request ids these are: a request id is looked up only among those the same
    /// principal sent (`{kind}:{subject}`), so another principal's reuse of the same key is a
    /// new key and says nothing about what it made. In development mode every caller is the
    /// development principal, so keys are shared as before.
    pub fn request_owner(&self) -> String {
        let principal = self.principal();
        format!("{}:{}", principal.kind.as_str(), principal.subject)
    }
}

#[derive(Debug)]
pub struct FacilityPage {
    pub facilities: Vec<FacilityRecord>,
    pub next_page_token: String,
}

#[derive(Debug)]
pub struct RevisionPage {
    pub revisions: Vec<FacilityChange>,
    pub next_page_token: String,
}

/// Fields a client may write, as update-mask paths.
const WRITABLE: &[&str] = &[
    "display_name",
    "leaf_unit",
    "address",
    "location",
    "status",
    "total_floor_area_m2",
    "activity_area_m2",
    "opening_hours",
    "services",
    "online_24h_services",
    "self_service_terminals",
    "staff",
    "operator",
];

const SUB_PATHS: &[&str] = &[
    "location.latitude",
    "location.longitude",
    "staff.community_workers",
    "staff.social_workers",
    "operator.display_name",
    "operator.uscc",
];

/// Most creations one BatchCreateFacilities call takes.
pub const MAX_BATCH_CREATE: usize = 1000;

const BATCH_CREATE_METHOD: &str = "/shequ.registry.v1.FacilityService/BatchCreateFacilities";

pub fn etag(revision: i64) -> String {
    format!("\"r{revision}\"")
}

fn decode_services(text: &str) -> Vec<i32> {
    text.split(',')
        .filter_map(ServiceKind::parse)
        .map(|k| shequ_proto::convert::service_to_pb(k) as i32)
        .collect()
}

fn timestamp(micros: i64) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: micros.div_euclid(1_000_000),
        nanos: (micros.rem_euclid(1_000_000) * 1000) as i32,
    }
}

/// The wire form of a stored facility.
pub fn record_to_pb(r: &FacilityRecord) -> pb::Facility {
    let hours: Vec<(u8, u16, u16)> = serde_json::from_str(&r.opening_hours).unwrap_or_default();
    let status = FacilityStatus::parse(&r.status)
        .map(shequ_proto::convert::status_to_pb)
        .unwrap_or_default();
    pb::Facility {
        name: facility_name(&r.id),
        display_name: r.display_name.clone(),
        leaf_unit: DivisionCode::from_u64(r.leaf_code as u64)
            .map(division_name)
            .unwrap_or_default(),
        address: r.address.clone(),
        location: r.latitude.zip(r.longitude).map(|(latitude, longitude)| {
            shequ_proto::common::v1::LatLng {
                latitude,
                longitude,
            }
        }),
        status: status as i32,
        total_floor_area_m2: r.total_floor_area_m2,
        activity_area_m2: r.activity_area_m2,
        opening_hours: hours
            .into_iter()
            .map(|(day, open, close)| pb::OpeningInterval {
                day: i32::from(day),
                open_minute: i32::from(open),
                close_minute: i32::from(close),
            })
            .collect(),
        services: decode_services(&r.services),
        online_24h_services: decode_services(&r.online_24h_services),
        self_service_terminals: r.self_service_terminals,
        staff: Some(pb::Staff {
            community_workers: r.community_workers,
            social_workers: r.social_workers,
        }),
        operator: (!r.operator_name.is_empty() || r.operator_uscc.is_some()).then(|| {
            pb::Operator {
                display_name: r.operator_name.clone(),
                uscc: r.operator_uscc.clone().unwrap_or_default(),
            }
        }),
        min_daily_open_minutes: r.min_daily_open_minutes,
        activity_area_share: if r.total_floor_area_m2 > 0.0 {
            r.activity_area_m2 / r.total_floor_area_m2
        } else {
            0.0
        },
        revision: r.revision,
        etag: etag(r.revision),
        create_time: Some(timestamp(r.create_time)),
        update_time: Some(timestamp(r.update_time)),
        delete_time: r.delete_time.map(timestamp),
        leaf_unit_kind: r
            .leaf_kind
            .as_deref()
            .and_then(LeafUnitKind::parse)
            .map(kind_to_pb)
            .unwrap_or_default() as i32,
    }
}

/// The wire form of a change-log entry.
pub fn change_to_pb(c: &FacilityChange) -> pb::FacilityRevision {
    let kind = match c.kind {
        ChangeKind::Created => pb::ChangeKind::Created,
        ChangeKind::Updated => pb::ChangeKind::Updated,
        ChangeKind::Deleted => pb::ChangeKind::Deleted,
        ChangeKind::Undeleted => pb::ChangeKind::Undeleted,
    };
    pb::FacilityRevision {
        facility: facility_name(&c.facility_id),
        revision: c.revision,
        kind: kind as i32,
        time: Some(timestamp(c.at)),
        actor: c.actor.clone(),
        reason: c.reason.clone(),
        changed_fields: c.changed_fields.clone(),
        snapshot: Some(record_to_pb(&c.snapshot)),
    }
}

/// Copies the field at `path` from `source` into `target`; false for an unknown path.
fn apply_path(target: &mut pb::Facility, source: &pb::Facility, path: &str) -> bool {
    match path {
        "display_name" => target.display_name = source.display_name.clone(),
        "leaf_unit" => target.leaf_unit = source.leaf_unit.clone(),
        "address" => target.address = source.address.clone(),
        "location" => target.location = source.location,
        "location.latitude" | "location.longitude" => {
            let src = source.location.unwrap_or_default();
            let dst = target.location.get_or_insert_with(Default::default);
            if path.ends_with("latitude") {
                dst.latitude = src.latitude;
            } else {
                dst.longitude = src.longitude;
            }
        }
        "status" => target.status = source.status,
        "total_floor_area_m2" => target.total_floor_area_m2 = source.total_floor_area_m2,
        "activity_area_m2" => target.activity_area_m2 = source.activity_area_m2,
        "opening_hours" => target.opening_hours = source.opening_hours.clone(),
        "services" => target.services = source.services.clone(),
        "online_24h_services" => target.online_24h_services = source.online_24h_services.clone(),
        "self_service_terminals" => target.self_service_terminals = source.self_service_terminals,
        "staff" => target.staff = source.staff,
        "staff.community_workers" => {
            target
                .staff
                .get_or_insert_with(Default::default)
                .community_workers = source.staff.unwrap_or_default().community_workers
        }
        "staff.social_workers" => {
            target
                .staff
                .get_or_insert_with(Default::default)
                .social_workers = source.staff.unwrap_or_default().social_workers
        }
        "operator" => target.operator = source.operator.clone(),
        "operator.display_name" => {
            target
                .operator
                .get_or_insert_with(Default::default)
                .display_name = source.operator.clone().unwrap_or_default().display_name
        }
        "operator.uscc" => {
            target.operator.get_or_insert_with(Default::default).uscc =
                source.operator.clone().unwrap_or_default().uscc
        }
        _ => return false,
    }
    true
}

/// Top-level writable fields whose values differ.
fn changed_fields(old: &pb::Facility, new: &pb::Facility) -> Vec<String> {
    let probe = |path: &str| {
        let mut a = pb::Facility::default();
        let mut b = pb::Facility::default();
        apply_path(&mut a, old, path);
        apply_path(&mut b, new, path);
        a != b
    };
    WRITABLE
        .iter()
        .filter(|p| probe(p))
        .map(|p| (*p).to_owned())
        .collect()
}

fn hash_request(facility: &pb::Facility, reason: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(facility.encode_to_vec());
    hasher.update([0]);
    hasher.update(reason.as_bytes());
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn prefixed(v: Violations) -> RegistryError {
    RegistryError::Invalid(v.prefixed("facility"))
}

impl Registry {
    async fn load_facility(
        &self,
        conn: &impl ConnectionTrait,
        id: &str,
    ) -> Result<Option<FacilityRecord>> {
        Ok(table::load(conn, id).await?)
    }

    fn not_found(id: &str) -> RegistryError {
        RegistryError::NotFound(format!("facility `facilities/{id}` not found"))
    }

    /// The leaf unit must exist, be a leaf and not be retired.
    async fn check_leaf_unit(&self, code: DivisionCode) -> Result<()> {
        let field = "facility.leaf_unit";
        let Some(division) = self.find_division(code).await? else {
            let message = format!("division `divisions/{code}` not found");
            return Err(RegistryError::ReferenceNotFound {
                violations: FieldViolation::new(field, message.clone()).into(),
                message,
            });
        };
        if !division.level().is_leaf() {
            return Err(RegistryError::invalid(
                field,
                format!(
                    "`divisions/{code}` is a level-{} division, not a leaf unit",
                    division.level
                ),
            ));
        }
        if division.retired != 0 {
            return Err(RegistryError::precondition(
                field,
                format!("`divisions/{code}` is retired"),
            ));
        }
        Ok(())
    }

    pub async fn get_facility(&self, id: &str, show_deleted: bool) -> Result<FacilityRecord> {
        match self.load_facility(&self.db.conn, id).await? {
            Some(r) if r.delete_time.is_none() || show_deleted => Ok(r),
            _ => Err(Self::not_found(id)),
        }
    }

    /// A facility in its wire form, from the cache when known.
    pub async fn read_facility(&self, id: &str, show_deleted: bool) -> Result<pb::Facility> {
        let cached = match self.cache.get(id) {
            Some(c) => c,
            None => {
                let generation = self.cache.generation();
                let record = self
                    .load_facility(&self.db.conn, id)
                    .await?
                    .ok_or_else(|| Self::not_found(id))?;
                self.cache.offer(&record, generation);
                if record.delete_time.is_some() && !show_deleted {
                    return Err(Self::not_found(id));
                }
                return Ok(record_to_pb(&record));
            }
        };
        if cached.deleted && !show_deleted {
            return Err(Self::not_found(id));
        }
        Ok(cached.facility.clone())
    }

    /// After a committed write: wake following feeds and keep the result for readers.
    fn committed(&self, record: &FacilityRecord) {
        self.changed.notify_waiters();
        self.audit.committed();
        self.cache.offer(record, self.cache.generation());
    }

    /// Creates a facility; with a request id, a retry returns the first result.
    pub async fn create_facility(
        &self,
        facility: &pb::Facility,
        request_id: &str,
        ctx: &WriteContext,
    ) -> Result<FacilityRecord> {
        if request_id.chars().count() > 128 {
            return Err(RegistryError::invalid(
                "request_id",
                "must be at most 128 characters",
            ));
        }
        let spec = facility_spec_from_pb(facility).map_err(prefixed)?;
        let hash = hash_request(facility, &ctx.reason);
        let owner = ctx.request_owner();
        if !request_id.is_empty()
            && let Some(existing) = self.facility_by_request(&owner, request_id, &hash).await?
        {
            return Ok(existing);
        }
        self.check_leaf_unit(spec.leaf_unit).await?;
        let id = uuid::Uuid::now_v7().to_string();
        let now = now_micros();
        let txn = self.begin_write().await?;
        let row = NewRow {
            id: &id,
            spec: &spec,
            request_id,
            hash: &hash,
        };
        let inserted = table::insert(&*txn, &row, &owner, now).await;
        if let Err(e) = inserted {
            txn.rollback().await?;
            // A concurrent retry with the same request id won the race.
            if !request_id.is_empty()
                && shequ_platform::database::is_unique_violation(&e)
                && let Some(existing) = self.facility_by_request(&owner, request_id, &hash).await?
            {
                return Ok(existing);
            }
            return Err(e.into());
        }
        let record = self
            .load_facility(&*txn, &id)
            .await?
            .ok_or_else(|| Self::not_found(&id))?;
        self.record_change(
            &txn,
            &record,
            ChangeKind::Created,
            WRITABLE.iter().map(|s| (*s).to_owned()).collect(),
            ctx,
        )
        .await?;
        txn.commit().await?;
        self.committed(&record);
        Ok(record)
    }

    /// Creates every facility of `requests` in one transaction, or none. Everything is checked
    /// before the transaction starts; each request keeps CreateFacility's idempotency, so a
    /// request whose id and body were stored before returns that facility and writes nothing.
    /// The records come back in request order.
    pub async fn batch_create_facilities(
        &self,
        parent: Option<DivisionCode>,
        requests: &[pb::CreateFacilityRequest],
        ctx: &WriteContext,
    ) -> Result<Vec<FacilityRecord>> {
        let specs = self.check_batch(parent, requests).await?;
        let hashes: Vec<String> = requests
            .iter()
            .map(|r| {
                hash_request(
                    r.facility.as_ref().unwrap_or(&pb::Facility::default()),
                    &r.reason,
                )
            })
            .collect();
        let owner = ctx.request_owner();
        // A concurrent call storing one of the same request ids first makes the insert fail;
        // the second pass then finds that facility like any retry.
        for attempt in 0..2 {
            let prior = self.batch_prior(&owner, requests, &hashes).await?;
            let mut ids = Vec::with_capacity(requests.len());
            let mut fresh = Vec::new();
            for (i, known) in prior.into_iter().enumerate() {
                match known {
                    Some(id) => ids.push(id),
                    None => {
                        let id = uuid::Uuid::now_v7().to_string();
                        fresh.push(i);
                        ids.push(id);
                    }
                }
            }
            if fresh.is_empty() {
                return self.facilities_by_id(&self.db.conn, &ids).await;
            }
            let now = now_micros();
            let txn = self.begin_write().await?;
            let rows: Vec<NewRow<'_>> = fresh
                .iter()
                .map(|&i| NewRow {
                    id: &ids[i],
                    spec: &specs[i],
                    request_id: &requests[i].request_id,
                    hash: &hashes[i],
                })
                .collect();
            if let Err(e) = table::insert_many(&*txn, &rows, &owner, now).await {
                txn.rollback().await?;
                if attempt == 0 && shequ_platform::database::is_unique_violation(&e) {
                    continue;
                }
                return Err(e.into());
            }
            let records = self.facilities_by_id(&*txn, &ids).await?;
            let created: Vec<(&FacilityRecord, &str)> = fresh
                .iter()
                .map(|&i| (&records[i], requests[i].reason.as_str()))
                .collect();
            self.record_creations(&txn, &created, ctx).await?;
            txn.commit().await?;
            self.changed.notify_waiters();
            self.audit.committed();
            let generation = self.cache.generation();
            for &i in &fresh {
                self.cache.offer(&records[i], generation);
            }
            return Ok(records);
        }
        Err(RegistryError::Aborted(
            "request ids of this batch were being stored concurrently; retry the batch".to_owned(),
        ))
    }

    /// The change rows (multi-row statements, in order) and audit records of new facilities,
    /// each with its own reason.
    async fn record_creations(
        &self,
        txn: &DatabaseTransaction,
        created: &[(&FacilityRecord, &str)],
        ctx: &WriteContext,
    ) -> Result<()> {
        changes::insert_created(txn, created, WRITABLE, &ctx.actor).await?;
        let principal = ctx.principal();
        for (record, reason) in created {
            self.audit
                .record(
                    txn,
                    &AuditEntry {
                        principal: &principal,
                        method: BATCH_CREATE_METHOD,
                        resource: format!("facilities/{}", record.id),
                        division: DivisionCode::from_u64(record.leaf_code as u64).ok(),
                        action: ChangeKind::Created.as_str(),
                        reason,
                    },
                )
                .await?;
        }
        Ok(())
    }

    /// Validates a whole batch, naming every offending field as `requests[i].…`, and returns the
    /// specifications in request order.
    async fn check_batch(
        &self,
        parent: Option<DivisionCode>,
        requests: &[pb::CreateFacilityRequest],
    ) -> Result<Vec<FacilitySpec>> {
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
            if r.request_id.chars().count() > 128 {
                bad.push(
                    format!("requests[{i}].request_id"),
                    "must be at most 128 characters",
                );
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
        let codes: std::collections::BTreeSet<DivisionCode> =
            specs.iter().map(|s| s.leaf_unit).collect();
        let known: std::collections::HashMap<i64, crate::store::rows::DivisionRecord> = self
            .divisions_by_code(codes)
            .await?
            .into_iter()
            .map(|r| (r.code, r))
            .collect();
        let (mut missing, mut retired) = (Violations::new(), Violations::new());
        for (i, spec) in specs.iter().enumerate() {
            let field = format!("requests[{i}].facility.leaf_unit");
            let code = spec.leaf_unit;
            let Some(division) = known.get(&code.as_i64()) else {
                missing.push(field, format!("division `divisions/{code}` not found"));
                continue;
            };
            if !division.level().is_leaf() {
                bad.push(
                    field,
                    format!(
                        "`divisions/{code}` is a level-{} division, not a leaf unit",
                        division.level
                    ),
                );
            } else if let Some(parent) = parent
                && !super::access::ancestry(division).any(|c| c == parent)
            {
                bad.push(
                    field,
                    format!("`divisions/{code}` does not lie under `parent` `divisions/{parent}`"),
                );
            } else if division.retired != 0 {
                retired.push(field, format!("`divisions/{code}` is retired"));
            }
        }
        if !bad.is_empty() {
            return Err(RegistryError::Invalid(bad));
        }
        let first = missing.iter().next().cloned();
        if let Some(first) = first {
            let message = format!(
                "{} of the batch's leaf units were not found; first {first}",
                missing.len()
            );
            return Err(RegistryError::ReferenceNotFound {
                message,
                violations: missing,
            });
        }
        let first = retired.iter().next().cloned();
        if let Some(first) = first {
            let message = format!(
                "{} of the batch's leaf units are retired; first {first}",
                retired.len()
            );
            return Err(RegistryError::FailedPrecondition {
                message,
                violations: retired,
            });
        }
        Ok(specs)
    }

    /// For each request, the id of the facility its request id and body created before (among
    /// `owner`'s request ids); a request id used before with another body is ALREADY_EXISTS
    /// naming every such request.
    async fn batch_prior(
        &self,
        owner: &str,
        requests: &[pb::CreateFacilityRequest],
        hashes: &[String],
    ) -> Result<Vec<Option<String>>> {
        let keys: Vec<&str> = requests
            .iter()
            .filter(|r| !r.request_id.is_empty())
            .map(|r| r.request_id.as_str())
            .collect();
        let mut found: std::collections::HashMap<String, table::PriorKey> =
            std::collections::HashMap::new();
        for row in table::by_requests(&self.db.conn, owner, &keys).await? {
            if let Some(key) = row.request_id.clone() {
                found.insert(key, row);
            }
        }
        let mut reused = Violations::new();
        let mut prior = Vec::with_capacity(requests.len());
        for (i, r) in requests.iter().enumerate() {
            match found.get(&r.request_id) {
                Some(p) if p.request_hash.as_deref() == Some(hashes[i].as_str()) => {
                    prior.push(Some(p.id.clone()))
                }
                Some(p) => {
                    reused.push(
                        format!("requests[{i}].request_id"),
                        format!(
                            "`request_id` was already used for `facilities/{}` with a different request",
                            p.id
                        ),
                    );
                    prior.push(None);
                }
                None => prior.push(None),
            }
        }
        let first = reused.iter().next().cloned();
        if let Some(first) = first {
            let message = format!(
                "{} request ids of the batch were already used with different requests; first {first}",
                reused.len()
            );
            return Err(RegistryError::AlreadyExists {
                message,
                violations: reused,
            });
        }
        Ok(prior)
    }

    /// The facilities `ids`, in that order.
    async fn facilities_by_id(
        &self,
        conn: &impl ConnectionTrait,
        ids: &[String],
    ) -> Result<Vec<FacilityRecord>> {
        let rows = table::by_ids(conn, ids).await?;
        let mut by_id: std::collections::HashMap<String, FacilityRecord> =
            rows.into_iter().map(|r| (r.id.clone(), r)).collect();
        ids.iter()
            .map(|id| by_id.remove(id).ok_or_else(|| Self::not_found(id)))
            .collect()
    }

    /// The facility `owner` created with `request_id`, when the body is the same; ALREADY_EXISTS
    /// naming it when the body differs.
    async fn facility_by_request(
        &self,
        owner: &str,
        request_id: &str,
        hash: &str,
    ) -> Result<Option<FacilityRecord>> {
        let prior = table::by_request(&self.db.conn, owner, request_id).await?;
        match prior {
            None => Ok(None),
            Some(p) if p.request_hash.as_deref() == Some(hash) => {
                Ok(self.load_facility(&self.db.conn, &p.id).await?)
            }
            Some(p) => {
                let message = format!(
                    "`request_id` was already used for `facilities/{}` with a different request",
                    p.id
                );
                Err(RegistryError::AlreadyExists {
                    violations: FieldViolation::new("request_id", message.clone()).into(),
                    message,
                })
            }
        }
    }

    async fn record_change(
        &self,
        txn: &DatabaseTransaction,
        record: &FacilityRecord,
        kind: ChangeKind,
        changed: Vec<String>,
        ctx: &WriteContext,
    ) -> Result<()> {
        changes::insert(txn, record, kind, &changed, &ctx.actor, &ctx.reason).await?;
        let (method, action) = match kind {
            ChangeKind::Created => (
                "/shequ.registry.v1.FacilityService/CreateFacility",
                "created",
            ),
            ChangeKind::Updated => (
                "/shequ.registry.v1.FacilityService/UpdateFacility",
                "updated",
            ),
            ChangeKind::Deleted => (
                "/shequ.registry.v1.FacilityService/DeleteFacility",
                "deleted",
            ),
            ChangeKind::Undeleted => (
                "/shequ.registry.v1.FacilityService/UndeleteFacility",
                "undeleted",
            ),
        };
        let principal = ctx.principal();
        self.audit
            .record(
                txn,
                &AuditEntry {
                    principal: &principal,
                    method,
                    resource: format!("facilities/{}", record.id),
                    division: DivisionCode::from_u64(record.leaf_code as u64).ok(),
                    action,
                    reason: &ctx.reason,
                },
            )
            .await?;
        Ok(())
    }

    fn check_etag(current: &FacilityRecord, given: &str) -> Result<()> {
        if !given.is_empty() && given != etag(current.revision) {
            return Err(RegistryError::Aborted(format!(
                "etag `{}` is stale: `facilities/{}` is now at {}; read it again and retry",
                shequ_domain::excerpt(given),
                current.id,
                etag(current.revision)
            )));
        }
        Ok(())
    }

    /// Replaces the fields named in `mask` (every writable field when empty or `*`).
    pub async fn update_facility(
        &self,
        id: &str,
        patch: &pb::Facility,
        mask: &[String],
        ctx: &WriteContext,
    ) -> Result<FacilityRecord> {
        let paths: Vec<&str> = if mask.is_empty() || mask.iter().any(|p| p == "*") {
            WRITABLE.to_vec()
        } else {
            mask.iter().map(String::as_str).collect()
        };
        let mut bad = Violations::new();
        for p in &paths {
            if !WRITABLE.contains(p) && !SUB_PATHS.contains(p) {
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
        let txn = self.begin_write().await?;
        let current = match self.load_facility(&*txn, id).await? {
            Some(r) if r.delete_time.is_none() => r,
            _ => return Err(Self::not_found(id)),
        };
        Self::check_etag(&current, &patch.etag)?;
        let old = record_to_pb(&current);
        let mut merged = old.clone();
        for p in &paths {
            apply_path(&mut merged, patch, p);
        }
        let spec = facility_spec_from_pb(&merged).map_err(prefixed)?;
        let old_status = FacilityStatus::parse(&current.status).unwrap_or(FacilityStatus::Planned);
        if !old_status.can_become(spec.status) {
            return Err(RegistryError::precondition(
                "facility.status",
                format!(
                    "a facility cannot go from `{}` to `{}`",
                    old_status.as_str(),
                    spec.status.as_str()
                ),
            ));
        }
        let changed = changed_fields(&old, &facility_spec_to_pb(&spec));
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

    /// Soft-deletes (`delete`) or restores a facility.
    pub async fn set_deleted(
        &self,
        id: &str,
        delete: bool,
        given_etag: &str,
        ctx: &WriteContext,
    ) -> Result<FacilityRecord> {
        let txn = self.begin_write().await?;
        let current = self
            .load_facility(&*txn, id)
            .await?
            .ok_or_else(|| Self::not_found(id))?;
        match (delete, current.delete_time.is_some()) {
            (true, true) => return Err(Self::not_found(id)),
            (false, false) => {
                return Err(RegistryError::precondition(
                    "name",
                    format!("`facilities/{id}` is not deleted"),
                ));
            }
            _ => {}
        }
        Self::check_etag(&current, given_etag)?;
        let now = now_micros();
        let delete_time = delete.then_some(now);
        table::set_delete_time(&*txn, id, delete_time, current.revision, now).await?;
        let record = self
            .load_facility(&*txn, id)
            .await?
            .ok_or_else(|| Self::not_found(id))?;
        let kind = if delete {
            ChangeKind::Deleted
        } else {
            ChangeKind::Undeleted
        };
        self.record_change(&txn, &record, kind, Vec::new(), ctx)
            .await?;
        txn.commit().await?;
        self.committed(&record);
        Ok(record)
    }

    /// Facilities under `parent` (any level), ordered by id, with keyset pages.
    pub async fn list_facilities(
        &self,
        parent: DivisionCode,
        filter: &FacilityFilter,
        page_size: i32,
        page_token: &str,
    ) -> Result<FacilityPage> {
        let size = page::page_size(page_size)?;
        let scope = self.get_division(parent).await?;
        let query = format!("facilities|{parent}|{filter:?}");
        let after = page::decode(&query, page_token)?.unwrap_or_default();
        let mut rows = table::list(
            &self.db.conn,
            (scope.scope_column(), parent),
            filter,
            &after,
            size as i64 + 1,
        )
        .await?;
        let next_page_token = if rows.len() as u64 > size {
            rows.truncate(size as usize);
            rows.last()
                .map(|r| page::encode(&query, &r.id))
                .unwrap_or_default()
        } else {
            String::new()
        };
        Ok(FacilityPage {
            facilities: rows,
            next_page_token,
        })
    }

    /// Every change of one facility, oldest first.
    pub async fn list_revisions(
        &self,
        id: &str,
        page_size: i32,
        page_token: &str,
    ) -> Result<RevisionPage> {
        let size = page::page_size(page_size)?;
        if self.load_facility(&self.db.conn, id).await?.is_none() {
            return Err(Self::not_found(id));
        }
        let query = format!("revisions|{id}");
        let after: i64 = match page::decode(&query, page_token)? {
            Some(k) => k
                .parse()
                .map_err(|_| RegistryError::invalid("page_token", "is malformed"))?,
            None => 0,
        };
        let mut rows = changes::of_facility(&self.db.conn, id, after, size as i64 + 1).await?;
        let next_page_token = if rows.len() as u64 > size {
            rows.truncate(size as usize);
            rows.last()
                .map(|r| page::encode(&query, &r.revision.to_string()))
                .unwrap_or_default()
        } else {
            String::new()
        };
        Ok(RevisionPage {
            revisions: rows
                .into_iter()
                .map(ChangeRecord::decode)
                .collect::<Result<_>>()?,
            next_page_token,
        })
    }
}
