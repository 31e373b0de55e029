//! What every service's gRPC handlers share: the result types of a handler, who the caller is and
//! the name its writes are recorded under, and a field violation as a status.

use std::pin::Pin;
use std::sync::Arc;

use futures::Stream;
use tonic::{Request, Response, Status};

use crate::auth::Principal;
use crate::status;

/// Header naming who makes a write, recorded in history; it counts only in development mode,
/// otherwise the history names the authenticated principal.
pub const ACTOR_HEADER: &str = "x-shequ-actor";

/// What a unary handler returns.
pub type Rpc<T> = Result<Response<T>, Status>;

/// The stream a streaming handler returns.
pub type RpcStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send + 'static>>;

/// The longest recorded name, in characters.
const MAX_NAME_CHARS: usize = 128;

/// The name `principal`'s writes are recorded under: a verified principal's subject, else
/// (development mode) the `x-shequ-actor` header, else `anonymous`.
pub fn recorded_name<T>(request: &Request<T>, principal: &Principal) -> String {
    if principal.is_verified() {
        return principal.subject.chars().take(MAX_NAME_CHARS).collect();
    }
    request
        .metadata()
        .get(ACTOR_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.chars().take(MAX_NAME_CHARS).collect())
        .filter(|s: &String| !s.is_empty())
        .unwrap_or_else(|| "anonymous".to_owned())
}

/// The caller and the name its writes are recorded under ([`recorded_name`]).
pub fn caller<T>(request: &Request<T>) -> Result<(Arc<Principal>, String), Status> {
    let principal = Principal::of(request)?;
    let name = recorded_name(request, &principal);
    Ok((principal, name))
}

/// A field that did not parse, as INVALID_ARGUMENT naming it.
pub fn field<T>(result: Result<T, shequ_domain::FieldViolation>) -> Result<T, Status> {
    result.map_err(|v| status::invalid_argument(&v.into()))
}
