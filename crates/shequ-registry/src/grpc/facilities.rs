//! `shequ.registry.v1.FacilityService`: facility writes and reads, history, the facts stream and
//! the change feed.

use futures::StreamExt;
use shequ_domain::Violations;
use shequ_proto::common::v1 as common;
use shequ_proto::convert::{kind_from_pb, service_from_pb, status_from_pb};
use shequ_proto::names::{parse_division_name, parse_facility_name, parse_optional_division_name};
use shequ_proto::registry::v1 as pb;
use shequ_proto::registry::v1::facility_service_server::FacilityService;
use tonic::{Request, Response, Status};

use shequ_domain::telephone;
use shequ_platform::server::{deadline_of, within_deadline};
use shequ_platform::{Principal, Role};

use super::convert::{self, facility_to_pb, revision_to_pb};
use super::{Rpc, RpcStream, caller, field};
use crate::error::RegistryError;
use crate::service::Registry;
use crate::service::access::Reach;
use crate::service::facilities::{FacilityFilter, WriteContext};
use crate::service::feed::parse_cursor;

/// `shequ.registry.v1.FacilityService`
#[derive(Clone)]
pub struct FacilityApi(pub Registry);

/// The roles that may read a facility's contacts; others see them masked.
pub const CONTACT_READERS: &[Role] = &[Role::RegistryEditor, Role::Service];

/// What of a facility a caller is shown: its contacts only with a role of [`CONTACT_READERS`],
/// otherwise masked ([`telephone::masked`]).
#[derive(Debug, Clone, Copy)]
pub struct Shown {
    contacts: bool,
}

impl Shown {
    pub fn to(principal: &Principal) -> Self {
        Self {
            contacts: principal.has_any_role(CONTACT_READERS),
        }
    }

    pub fn facility(self, mut facility: pb::Facility) -> pb::Facility {
        if !self.contacts {
            facility.contact_telephone = telephone::masked(&facility.contact_telephone);
        }
        facility
    }

    pub fn revision(self, mut revision: pb::FacilityRevision) -> pb::FacilityRevision {
        revision.snapshot = revision.snapshot.map(|f| self.facility(f));
        revision
    }
}

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
        let new = convert::new_facility(&facility, &r.request_id, &ctx.reason)?;
        let record = self.0.create_facility(&new, &ctx).await?;
        Ok(Response::new(pb::CreateFacilityResponse {
            facility: Some(Shown::to(&principal).facility(facility_to_pb(&record))),
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
        let creations = convert::creations(&r.requests)?;
        let records = self
            .0
            .batch_create_facilities(parent, &creations, &ctx)
            .await?;
        Ok(Response::new(pb::BatchCreateFacilitiesResponse {
            facilities: records
                .iter()
                .map(|r| Shown::to(&principal).facility(facility_to_pb(r)))
                .collect(),
        }))
    }

    async fn get_facility(
        &self,
        request: Request<pb::GetFacilityRequest>,
    ) -> Rpc<pb::GetFacilityResponse> {
        let principal = Principal::of(&request)?;
        let id = facility_id("name", &request.get_ref().name)?;
        self.0.authorize_facility(&principal, &id).await?;
        let cached = self
            .0
            .read_facility(&id, request.get_ref().show_deleted)
            .await?;
        Ok(Response::new(pb::GetFacilityResponse {
            facility: Some(Shown::to(&principal).facility(cached.facility.clone())),
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
        let patch = convert::facility_patch(&facility, &mask)?;
        let record = self.0.update_facility(&id, &patch, &ctx).await?;
        Ok(Response::new(pb::UpdateFacilityResponse {
            facility: Some(Shown::to(&principal).facility(facility_to_pb(&record))),
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
            facility: Some(Shown::to(&principal).facility(facility_to_pb(&record))),
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
            facility: Some(Shown::to(&principal).facility(facility_to_pb(&record))),
        }))
    }

    async fn list_facilities(
        &self,
        request: Request<pb::ListFacilitiesRequest>,
    ) -> Rpc<pb::ListFacilitiesResponse> {
        let principal = Principal::of(&request)?;
        let shown = Shown::to(&principal);
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
                .map(|r| shown.facility(facility_to_pb(r)))
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
            revisions: page
                .revisions
                .iter()
                .map(|c| Shown::to(&principal).revision(revision_to_pb(c)))
                .collect(),
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
            stream.map(|r| r.map(convert::facts_to_pb).map_err(Status::from)),
            deadline,
        )))
    }

    type WatchFacilityChangesStream = RpcStream<pb::WatchFacilityChangesResponse>;

    async fn watch_facility_changes(
        &self,
        request: Request<pb::WatchFacilityChangesRequest>,
    ) -> Rpc<Self::WatchFacilityChangesStream> {
        let principal = Principal::of(&request)?;
        let shown = Shown::to(&principal);
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
            stream.map(move |r| {
                r.map(|change| pb::WatchFacilityChangesResponse {
                    cursor: change.seq.to_string(),
                    revision: Some(shown.revision(revision_to_pb(&change))),
                })
                .map_err(Status::from)
            }),
            deadline,
        )))
    }
}
