//! The registry's messages as the survey reads them, through the platform's [`RegistryClient`]:
//! the leaf units of a region from `StreamLeafUnitFacts`, and a division and its ancestors from
//! `GetDivision` and `ListDivisionAncestors`, each turned into domain types here so that the
//! round's region (`crate::region`) speaks domain types only.

use shequ_domain::{DivisionCode, DivisionLevel};
use shequ_platform::registry::{RegistryClient, RegistryFailure};
use shequ_proto::common::v1 as common;
use shequ_proto::convert::level_from_pb;
use tokio_stream::StreamExt;
use tonic::Status;

use crate::region::Ancestors;

/// A division as a leaf unit is checked against it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DivisionState {
    /// `None` when the registry names no level the survey knows.
    pub level: Option<DivisionLevel>,
    pub retired: bool,
}

/// An ancestor of a division, by the registry's parent links.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ancestor {
    /// Its resource name, `divisions/{code}`.
    pub name: String,
    /// Its code, when the registry's code is a number.
    pub code: Option<i64>,
    pub level: Option<DivisionLevel>,
}

/// A level of the wire; `None` for unspecified or unknown.
fn level(level: i32) -> Option<DivisionLevel> {
    common::DivisionLevel::try_from(level)
        .ok()
        .and_then(level_from_pb)
}

/// Calls `each` with every leaf unit under `parent` (the whole country when `None`) and its
/// ancestors, in the order the registry streams them. Any failure, including one mid-stream, is
/// the registry's status, for the caller to judge.
pub async fn each_leaf_unit(
    registry: &RegistryClient,
    parent: Option<DivisionCode>,
    mut each: impl FnMut(i64, Ancestors),
) -> Result<(), Status> {
    let mut stream = registry.leaf_unit_facts(parent).await?;
    while let Some(batch) = stream.next().await {
        for f in batch?.facts {
            let opt = |c: u64| (c != 0).then_some(c as i64);
            each(
                f.code as i64,
                Ancestors {
                    province: f.province as i64,
                    prefecture: opt(f.prefecture),
                    county: opt(f.county),
                    township: opt(f.township),
                },
            );
        }
    }
    Ok(())
}

/// The division `code`, or `None` when the registry does not know it.
pub async fn division(
    registry: &RegistryClient,
    code: DivisionCode,
) -> Result<Option<DivisionState>, RegistryFailure> {
    Ok(registry.division(code).await?.map(|d| DivisionState {
        level: level(d.level),
        retired: d.retired,
    }))
}

/// The ancestors of division `code` as the registry answers them now (province first); `None`
/// when it does not know the code.
pub async fn ancestors(
    registry: &RegistryClient,
    code: DivisionCode,
) -> Result<Option<Vec<Ancestor>>, RegistryFailure> {
    Ok(registry.ancestors(code).await?.map(|ancestors| {
        ancestors
            .into_iter()
            .map(|a| Ancestor {
                code: a.code.parse::<i64>().ok(),
                level: level(a.level),
                name: a.name,
            })
            .collect()
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_wire_level_reads_as_the_same_domain_level() {
        assert_eq!(level(common::DivisionLevel::Unspecified as i32), None);
        assert_eq!(level(99), None);
        for l in DivisionLevel::ALL {
            assert_eq!(level(shequ_proto::convert::level_to_pb(l) as i32), Some(l));
        }
    }
}
