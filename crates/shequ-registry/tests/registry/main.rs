//! Registry behaviour over real gRPC on loopback, on SQLite and (with `SHEQU_TEST_DATABASE_URL`)
//! on PostgreSQL.

mod auth;
mod batch;
mod divisions;
mod facilities;
mod feed;
mod fuzz;
mod server;
mod tls;
mod upgrade;

use shequ_platform::status::field_violations;
use tonic::{Code, Status};

/// Asserts a status code and that `field` is among its field violations.
pub fn assert_violation(status: &Status, code: Code, field: &str) {
    assert_eq!(status.code(), code, "{status:?}");
    let fields: Vec<String> = field_violations(status)
        .into_iter()
        .map(|(f, _)| f)
        .collect();
    assert!(
        fields.iter().any(|f| f == field),
        "expected a violation of `{field}`, got {fields:?} ({status:?})"
    );
}
