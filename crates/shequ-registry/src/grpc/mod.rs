//! The gRPC surface: parses requests, checks the caller's regional scope on the resource before
//! anything else, converts to domain values (`convert.rs`), calls the service, converts results.
//! No logic lives here, and nowhere else in the crate names a protobuf type, but for the
//! facility cache, which keeps facilities in wire form.

pub mod convert;
mod divisions;
mod facilities;

use shequ_platform::rpc::{Rpc, RpcStream, caller, field};

pub use divisions::DivisionApi;
pub use facilities::FacilityApi;

pub use shequ_platform::rpc::ACTOR_HEADER;
