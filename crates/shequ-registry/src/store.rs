//! Storage of the registry: migrations, row types, and the shared SQL helpers.

pub mod changes;
pub mod migrations;
pub mod rows;

pub use shequ_platform::sql::{now_micros, stmt};
