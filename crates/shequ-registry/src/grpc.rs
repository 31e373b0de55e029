//! The gRPC surface: parses requests, checks the caller's regional scope on the resource before
//! anything else, calls the service, converts results. No logic lives here.

use std::pin::Pin;
use std::sync::Arc;

use futures::{Stream, StreamExt};
use shequ_domain::Violations;
use shequ_proto::common::v1 as common;
use shequ_proto::convert::{
    kind_from_pb, kind_to_pb, level_from_pb, level_to_pb, service_from_pb, status_from_pb,
};
use shequ_proto::names::{
    division_name, parse_division_name, parse_facility_name, parse_optional_division_name,
};
use shequ_proto::registry::v1 as pb;
use shequ_proto::registry::v1::division_service_server::DivisionService;
use shequ_proto::registry::v1::facility_service_server::FacilityService;
use tonic::{Request, Response, Status, Streaming};

use shequ_platform::Principal;
use shequ_platform::server::{deadline_of, within_deadline};

use crate::error::RegistryError;
use crate::service::Registry;
use crate::service::access::{Reach, covers};
use crate::service::facilities::{FacilityFilter, WriteContext, change_to_pb, record_to_pb};
use crate::service::feed::parse_cursor;
use crate::service::import::{DivisionFile, ImportRequest};
use crate::store::rows::DivisionRecord;

/// Header naming who makes a write, recorded in history.
pub const ACTOR_HEADER: &str = "x-shequ-actor";
/// Largest import accepted, summed over all files before decompression.
const MAX_IMPORT_BYTES: usize = 512 * 1024 * 1024;

type Rpc<T> = Result<Response<T>, Status>;
type RpcStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send + 'static>>;

fn actor<T>(request: &Request<T>) -> String {
    request
        .metadata()
        .get(ACTOR_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.chars().take(128).collect())
        .filter(|s: &String| !s.is_empty())
        .unwrap_or_else(|| "anonymous".to_owned())
}

/// The caller and the name its writes are recorded under: a verified principal's subject, else
/// (development mode) the `x-shequ-actor` header.
fn caller<T>(request: &Request<T>) -> Result<(Arc<Principal>, String), Status> {
    let principal = Principal::of(request)?;
    let name = if principal.is_verified() {
        principal.subject.chars().take(128).collect()
    } else {
        actor(request)
    };
    Ok((principal, name))
}

fn field<T>(result: Result<T, shequ_domain::FieldViolation>) -> Result<T, Status> {
    result.map_err(|v| RegistryError::Invalid(v.into()).into())
}

pub fn division_to_pb(r: &DivisionRecord) -> pb::Division {
    let code = r.code();
    pb::Division {
        name: division_name(code),
        code: code.to_string(),
        display_name: r.name.clone(),
        level: level_to_pb(r.level()) as i32,
        parent: r
            .parent_code
            .and_then(|p| shequ_domain::DivisionCode::from_u64(p as u64).ok())
            .map(division_name)
            .unwrap_or_default(),
        leaf_unit_kind: r.kind().map(kind_to_pb).unwrap_or_default() as i32,
        leaf_unit_kind_overridden: r.kind_overridden != 0,
        vintage: r.vintage.clone(),
        retired: r.retired != 0,
    }
}

fn division_file(value: i32) -> Option<DivisionFile> {
    match pb::DivisionFile::try_from(value).ok()? {
        pb::DivisionFile::Unspecified => None,
        pb::DivisionFile::Provinces => Some(DivisionFile::Provinces),
        pb::DivisionFile::Cities => Some(DivisionFile::Cities),
        pb::DivisionFile::Areas => Some(DivisionFile::Areas),
        pb::DivisionFile::Streets => Some(DivisionFile::Streets),
        pb::DivisionFile::Villages => Some(DivisionFile::Villages),
    }
}

fn division_file_to_pb(file: DivisionFile) -> pb::DivisionFile {
    match file {
        DivisionFile::Provinces => pb::DivisionFile::Provinces,
        DivisionFile::Cities => pb::DivisionFile::Cities,
        DivisionFile::Areas => pb::DivisionFile::Areas,
        DivisionFile::Streets => pb::DivisionFile::Streets,
        DivisionFile::Villages => pb::DivisionFile::Villages,
    }
}

/// `shequ.registry.v1.DivisionService`
#[derive(Clone)]
pub struct DivisionApi(pub Registry);

#[tonic::async_trait]
impl DivisionService for DivisionApi {
    async fn import_divisions(
        &self,
        request: Request<Streaming<pb::ImportDivisionsRequest>>,
    ) -> Rpc<pb::ImportDivisionsResponse> {
        let (principal, who) = caller(&request)?;
        self.0.require_national(&principal, "importing divisions")?;
        let mut import = ImportRequest {
            actor: who,
            principal: Some(principal),
            ..Default::default()
        };
        let mut stream = request.into_inner();
        let mut total = 0usize;
        let mut first = true;
        while let Some(message) = stream.next().await {
            let message = message?;
            if first {
                import.vintage = message.vintage.clone();
                import.validate_only = message.validate_only;
                import.retire_missing = message.retire_missing;
                first = false;
            } else if !message.vintage.is_empty() && message.vintage != import.vintage {
                return Err(RegistryError::invalid(
                    "vintage",
                    "must be the same in every message of an import",
                )
                .into());
            }
            let Some(file) = division_file(message.file) else {
                return Err(RegistryError::invalid(
                    "file",
                    "must name one of the five division files",
                )
                .into());
            };
            total += message.data.len();
            if total > MAX_IMPORT_BYTES {
                return Err(RegistryError::invalid(
                    "data",
                    format!("an import may hold at most {MAX_IMPORT_BYTES} bytes"),
                )
                .into());
            }
            import
                .files
                .entry(file)
                .or_default()
                .extend_from_slice(&message.data);
        }
        let report = self.0.import_divisions(import).await?;
        Ok(Response::new(pb::ImportDivisionsResponse {
            vintage: report.vintage,
            files: report
                .rows
                .iter()
                .map(|(f, n)| pb::ImportedFileCount {
                    file: division_file_to_pb(*f) as i32,
                    rows: *n as i64,
                })
                .collect(),
            inserted: report.inserted as i64,
            updated: report.updated as i64,
            unchanged: report.unchanged as i64,
            retired: report.retired as i64,
            merged: report.merged as i64,
            validate_only: report.validate_only,
        }))
    }

    async fn get_division(
        &self,
        request: Request<pb::GetDivisionRequest>,
    ) -> Rpc<pb::GetDivisionResponse> {
        let principal = Principal::of(&request)?;
        let code = field(parse_division_name("name", &request.get_ref().name))?;
        self.0.authorize_division(&principal, code).await?;
        let division = self.0.get_division(code).await?;
        Ok(Response::new(pb::GetDivisionResponse {
            division: Some(division_to_pb(&division)),
        }))
    }

    async fn list_divisions(
        &self,
        request: Request<pb::ListDivisionsRequest>,
    ) -> Rpc<pb::ListDivisionsResponse> {
        let principal = Principal::of(&request)?;
        let r = request.into_inner();
        let parent = field(parse_optional_division_name("parent", &r.parent))?;
        let reach = self.0.reach(&principal, parent).await?;
        let page = self
            .0
            .list_divisions(parent, r.page_size, &r.page_token, r.show_retired)
            .await?;
        Ok(Response::new(pb::ListDivisionsResponse {
            divisions: page
                .divisions
                .iter()
                .filter(|d| reach == Reach::Inside || covers(&principal, d))
                .map(division_to_pb)
                .collect(),
            next_page_token: page.next_page_token,
        }))
    }

    async fn list_division_ancestors(
        &self,
        request: Request<pb::ListDivisionAncestorsRequest>,
    ) -> Rpc<pb::ListDivisionAncestorsResponse> {
        let principal = Principal::of(&request)?;
        let code = field(parse_division_name("name", &request.get_ref().name))?;
        self.0.authorize_division(&principal, code).await?;
        let ancestors = self.0.division_ancestors(code).await?;
        Ok(Response::new(pb::ListDivisionAncestorsResponse {
            ancestors: ancestors.iter().map(division_to_pb).collect(),
        }))
    }

    async fn search_divisions(
        &self,
        request: Request<pb::SearchDivisionsRequest>,
    ) -> Rpc<pb::SearchDivisionsResponse> {
        let principal = Principal::of(&request)?;
        let r = request.into_inner();
        let parent = field(parse_optional_division_name("parent", &r.parent))?;
        let reach = self.0.reach(&principal, parent).await?;
        let level = match common::DivisionLevel::try_from(r.level) {
            Ok(l) => level_from_pb(l),
            Err(_) => return Err(RegistryError::invalid("level", "is not a division level").into()),
        };
        let page = self
            .0
            .search_divisions(&r.query, parent, level, r.page_size, &r.page_token)
            .await?;
        Ok(Response::new(pb::SearchDivisionsResponse {
            divisions: page
                .divisions
                .iter()
                .filter(|d| reach == Reach::Inside || covers(&principal, d))
                .map(division_to_pb)
                .collect(),
            next_page_token: page.next_page_token,
        }))
    }

    async fn count_leaf_units(
        &self,
        request: Request<pb::CountLeafUnitsRequest>,
    ) -> Rpc<pb::CountLeafUnitsResponse> {
        let principal = Principal::of(&request)?;
        let code = field(parse_optional_division_name(
            "name",
            &request.get_ref().name,
        ))?;
        match code {
            Some(code) => self.0.authorize_division(&principal, code).await?,
            None => self
                .0
                .require_national(&principal, "counting the whole country")?,
        }
        let counts = self.0.count_leaf_units(code).await?;
        Ok(Response::new(pb::CountLeafUnitsResponse {
            communities: counts.communities as i64,
            villages: counts.villages as i64,
            total: (counts.communities + counts.villages) as i64,
        }))
    }

    async fn update_division(
        &self,
        request: Request<pb::UpdateDivisionRequest>,
    ) -> Rpc<pb::UpdateDivisionResponse> {
        let (principal, who) = caller(&request)?;
        let r = request.into_inner();
        let division = r.division.unwrap_or_default();
        let code = field(parse_division_name("division.name", &division.name))?;
        self.0.authorize_division(&principal, code).await?;
        let paths = r.update_mask.map(|m| m.paths).unwrap_or_default();
        if paths != ["leaf_unit_kind"] {
            return Err(RegistryError::invalid(
                "update_mask",
                "must be `leaf_unit_kind`, the only writable field",
            )
            .into());
        }
        let Some(kind) = common::LeafUnitKind::try_from(division.leaf_unit_kind)
            .ok()
            .and_then(kind_from_pb)
        else {
            return Err(RegistryError::invalid(
                "division.leaf_unit_kind",
                "must be community or village",
            )
            .into());
        };
        let updated = self
            .0
            .set_leaf_unit_kind(code, kind, &who, &principal)
            .await?;
        Ok(Response::new(pb::UpdateDivisionResponse {
            division: Some(division_to_pb(&updated)),
        }))
    }
}

/// `shequ.registry.v1.FacilityService`
#[derive(Clone)]
pub struct FacilityApi(pub Registry);

fn facility_id(field_name: &str, name: &str) -> Result<String, Status> {
    field(parse_facility_name(field_name, name).map(str::to_owned))
}

#[tonic::async_trait]
impl FacilityService for FacilityApi {
    async fn create_facility(
        &self,
        request: Request<pb::CreateFacilityRequest>,
    ) -> Rpc<pb::CreateFacilityResponse> {
        let (principal, who) = caller(&request)?;
        let ctx = WriteContext {
            actor: who,
            reason: request.get_ref().reason.clone(),
            principal: Some(principal.clone()),
        };
        let r = request.into_inner();
        let Some(facility) = r.facility else {
            return Err(RegistryError::invalid("facility", "is required").into());
        };
        // A leaf unit that does not parse cannot be written anywhere; it is reported with the
        // other bad fields.
        if let Ok(leaf) = parse_division_name("facility.leaf_unit", &facility.leaf_unit) {
            self.0.authorize_division(&principal, leaf).await?;
        }
        let record = self
            .0
            .create_facility(&facility, &r.request_id, &ctx)
            .await?;
        Ok(Response::new(pb::CreateFacilityResponse {
            facility: Some(record_to_pb(&record)),
        }))
    }

    async fn batch_create_facilities(
        &self,
        request: Request<pb::BatchCreateFacilitiesRequest>,
    ) -> Rpc<pb::BatchCreateFacilitiesResponse> {
        let (principal, who) = caller(&request)?;
        let ctx = WriteContext {
            actor: who,
            reason: String::new(),
            principal: Some(principal.clone()),
        };
        let r = request.into_inner();
        let parent = field(parse_optional_division_name("parent", &r.parent))?;
        if let Some(parent) = parent {
            self.0.authorize_division(&principal, parent).await?;
        }
        // Leaf units that do not parse are reported with the other bad fields; every other one
        // must lie in scope before anything is looked at.
        let leaves: Vec<(usize, shequ_domain::DivisionCode)> = r
            .requests
            .iter()
            .enumerate()
            .filter_map(|(i, c)| {
                let leaf = &c.facility.as_ref()?.leaf_unit;
                parse_division_name("leaf_unit", leaf)
                    .ok()
                    .map(|code| (i, code))
            })
            .collect();
        self.0.authorize_batch(&principal, &leaves).await?;
        let records = self
            .0
            .batch_create_facilities(parent, &r.requests, &ctx)
            .await?;
        Ok(Response::new(pb::BatchCreateFacilitiesResponse {
            facilities: records.iter().map(record_to_pb).collect(),
        }))
    }

    async fn get_facility(
        &self,
        request: Request<pb::GetFacilityRequest>,
    ) -> Rpc<pb::GetFacilityResponse> {
        let principal = Principal::of(&request)?;
        let id = facility_id("name", &request.get_ref().name)?;
        self.0.authorize_facility(&principal, &id).await?;
        let facility = self
            .0
            .read_facility(&id, request.get_ref().show_deleted)
            .await?;
        Ok(Response::new(pb::GetFacilityResponse {
            facility: Some(facility),
        }))
    }

    async fn update_facility(
        &self,
        request: Request<pb::UpdateFacilityRequest>,
    ) -> Rpc<pb::UpdateFacilityResponse> {
        let (principal, who) = caller(&request)?;
        let ctx = WriteContext {
            actor: who,
            reason: request.get_ref().reason.clone(),
            principal: Some(principal.clone()),
        };
        let r = request.into_inner();
        let Some(facility) = r.facility else {
            return Err(RegistryError::invalid("facility", "is required").into());
        };
        let id = facility_id("facility.name", &facility.name)?;
        self.0.authorize_facility(&principal, &id).await?;
        let mask = r.update_mask.map(|m| m.paths).unwrap_or_default();
        let moves = mask.is_empty() || mask.iter().any(|p| p == "*" || p == "leaf_unit");
        if moves && let Ok(leaf) = parse_division_name("facility.leaf_unit", &facility.leaf_unit) {
            // Moving a facility needs scope at its destination as well.
            self.0.authorize_division(&principal, leaf).await?;
        }
        let record = self.0.update_facility(&id, &facility, &mask, &ctx).await?;
        Ok(Response::new(pb::UpdateFacilityResponse {
            facility: Some(record_to_pb(&record)),
        }))
    }

    async fn delete_facility(
        &self,
        request: Request<pb::DeleteFacilityRequest>,
    ) -> Rpc<pb::DeleteFacilityResponse> {
        let (principal, who) = caller(&request)?;
        let ctx = WriteContext {
            actor: who,
            reason: request.get_ref().reason.clone(),
            principal: Some(principal.clone()),
        };
        let id = facility_id("name", &request.get_ref().name)?;
        self.0.authorize_facility(&principal, &id).await?;
        let record = self
            .0
            .set_deleted(&id, true, &request.get_ref().etag, &ctx)
            .await?;
        Ok(Response::new(pb::DeleteFacilityResponse {
            facility: Some(record_to_pb(&record)),
        }))
    }

    async fn undelete_facility(
        &self,
        request: Request<pb::UndeleteFacilityRequest>,
    ) -> Rpc<pb::UndeleteFacilityResponse> {
        let (principal, who) = caller(&request)?;
        let ctx = WriteContext {
            actor: who,
            reason: request.get_ref().reason.clone(),
            principal: Some(principal.clone()),
        };
        let id = facility_id("name", &request.get_ref().name)?;
        self.0.authorize_facility(&principal, &id).await?;
        let record = self.0.set_deleted(&id, false, "", &ctx).await?;
        Ok(Response::new(pb::UndeleteFacilityResponse {
            facility: Some(record_to_pb(&record)),
        }))
    }

    async fn list_facilities(
        &self,
        request: Request<pb::ListFacilitiesRequest>,
    ) -> Rpc<pb::ListFacilitiesResponse> {
        let principal = Principal::of(&request)?;
        let r = request.into_inner();
        let parent = field(parse_division_name("parent", &r.parent))?;
        let reach = self.0.reach(&principal, Some(parent)).await?;
        let mut violations = Violations::new();
        let mut filter = FacilityFilter {
            show_deleted: r.show_deleted,
            ..Default::default()
        };
        for (i, s) in r.statuses.iter().enumerate() {
            match pb::FacilityStatus::try_from(*s)
                .ok()
                .and_then(status_from_pb)
            {
                Some(s) => filter.statuses.push(s),
                None => violations.push(format!("statuses[{i}]"), "is not a facility status"),
            }
        }
        match common::LeafUnitKind::try_from(r.leaf_unit_kind) {
            Ok(k) => filter.leaf_unit_kind = kind_from_pb(k),
            Err(_) => violations.push("leaf_unit_kind", "is not a leaf-unit kind"),
        }
        match common::ServiceKind::try_from(r.service) {
            Ok(k) => filter.service = service_from_pb(k),
            Err(_) => violations.push("service", "is not a service in the catalogue"),
        }
        if !violations.is_empty() {
            return Err(RegistryError::Invalid(violations).into());
        }
        let page = self
            .0
            .list_facilities(parent, &filter, r.page_size, &r.page_token)
            .await?;
        let visible = match reach {
            Reach::Inside => None,
            Reach::Above => Some(
                self.0
                    .leaf_units_in_scope(&principal, page.facilities.iter().map(|f| f.leaf_code))
                    .await?,
            ),
        };
        Ok(Response::new(pb::ListFacilitiesResponse {
            facilities: page
                .facilities
                .iter()
                .filter(|f| visible.as_ref().is_none_or(|v| v.contains(&f.leaf_code)))
                .map(record_to_pb)
                .collect(),
            next_page_token: page.next_page_token,
        }))
    }

    async fn list_facility_revisions(
        &self,
        request: Request<pb::ListFacilityRevisionsRequest>,
    ) -> Rpc<pb::ListFacilityRevisionsResponse> {
        let principal = Principal::of(&request)?;
        let r = request.into_inner();
        let id = facility_id("name", &r.name)?;
        self.0.authorize_facility(&principal, &id).await?;
        let page = self
            .0
            .list_revisions(&id, r.page_size, &r.page_token)
            .await?;
        Ok(Response::new(pb::ListFacilityRevisionsResponse {
            revisions: page.revisions.iter().map(change_to_pb).collect(),
            next_page_token: page.next_page_token,
        }))
    }

    type StreamLeafUnitFactsStream = RpcStream<pb::StreamLeafUnitFactsResponse>;

    async fn stream_leaf_unit_facts(
        &self,
        request: Request<pb::StreamLeafUnitFactsRequest>,
    ) -> Rpc<Self::StreamLeafUnitFactsStream> {
        let principal = Principal::of(&request)?;
        let deadline = deadline_of(request.metadata());
        let parent = field(parse_optional_division_name(
            "parent",
            &request.get_ref().parent,
        ))?;
        match parent {
            Some(code) => self.0.authorize_division(&principal, code).await?,
            None => self
                .0
                .require_national(&principal, "the facts of the whole country")?,
        }
        let stream = self.0.leaf_unit_facts(parent).await?;
        Ok(Response::new(within_deadline(
            stream.map(|r| r.map_err(Status::from)),
            deadline,
        )))
    }

    type WatchFacilityChangesStream = RpcStream<pb::WatchFacilityChangesResponse>;

    async fn watch_facility_changes(
        &self,
        request: Request<pb::WatchFacilityChangesRequest>,
    ) -> Rpc<Self::WatchFacilityChangesStream> {
        let principal = Principal::of(&request)?;
        let deadline = deadline_of(request.metadata());
        let r = request.into_inner();
        let after = parse_cursor(&r.after_cursor)?;
        let parent = field(parse_optional_division_name("parent", &r.parent))?;
        match parent {
            Some(code) => self.0.authorize_division(&principal, code).await?,
            None => self
                .0
                .require_national(&principal, "the changes of the whole country")?,
        }
        let stream = self.0.watch_changes(after, r.follow, parent).await?;
        Ok(Response::new(within_deadline(
            stream.map(|r| r.map_err(Status::from)),
            deadline,
        )))
    }
}
