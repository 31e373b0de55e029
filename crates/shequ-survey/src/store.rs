//! Storage of the survey service: migrations, row types, and the shared SQL helpers.

pub mod migrations;
pub mod rows;

pub use shequ_platform::sql::{now_micros, shaped_chunks, stmt, value_rows};
