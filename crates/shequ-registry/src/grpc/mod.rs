//! The gRPC surface: parses requests, checks the caller's regional scope on the resource before
//! anything else, converts to domain values (`convert.rs`), calls the service, converts results.
//! No logic lives here, and nowhere else in the crate names a protobuf type, but for the
//! facility cache, which keeps facilities in wire form.

pub mod convert;
mod divisions;
mod facilities;

use std::pin::Pin;
use std::sync::Arc;

use futures::Stream;
use tonic::{Request, Response, Status};

use shequ_platform::Principal;

use crate::error::RegistryError;

pub use divisions::DivisionApi;
pub use facilities::FacilityApi;

/// Header naming who makes a write, recorded in history.
pub const ACTOR_HEADER: &str = "x-shequ-actor";

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
