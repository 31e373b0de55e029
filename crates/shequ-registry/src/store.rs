//! Storage of the registry: every SQL statement it runs, as typed functions over any connection
//! or transaction (so a use case composes several in one transaction), the row types, and the
//! migrations.

pub mod changes;
pub mod divisions;
pub mod facilities;
pub mod facts;
pub mod imports;
pub mod migrations;
pub mod rows;

use shequ_domain::DivisionCode;

pub use shequ_platform::sql::{now_micros, stmt};

/// Rows per multi-row insert (a facility takes 25 parameters, a change row 9: well within both
/// backends' limits).
pub const INSERT_ROWS: usize = 100;

/// Rows under a division: the `registry_divisions` column that names it in the rows below it
/// ([`rows::scope_column`]) and its code.
pub type Scope = (&'static str, DivisionCode);
