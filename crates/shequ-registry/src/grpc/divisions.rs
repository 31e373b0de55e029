//! `shequ.registry.v1.DivisionService`: imports, lookups, listings, search, counts and kind
//! overrides of the hierarchy.

use futures::StreamExt;
use shequ_proto::common::v1 as common;
use shequ_proto::convert::{kind_from_pb, level_from_pb};
use shequ_proto::names::{parse_division_name, parse_optional_division_name};
use shequ_proto::registry::v1 as pb;
use shequ_proto::registry::v1::division_service_server::DivisionService;
use tonic::{Request, Response, Streaming};

use shequ_platform::Principal;

use super::convert::{division_file, division_file_to_pb, division_to_pb};
use super::{Rpc, caller, field};
use crate::error::RegistryError;
use crate::service::Registry;
use crate::service::access::{Reach, covers};
use crate::service::import::ImportRequest;

/// Largest import accepted, summed over all files before decompression.
const MAX_IMPORT_BYTES: usize = 512 * 1024 * 1024;

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
