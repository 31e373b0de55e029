//! Storage of the survey service: every SQL statement it runs, as typed functions over any
//! connection or transaction (so a use case composes several in one transaction), one file per
//! table or aggregate, with the row types and the migrations. The same statements run on SQLite
//! and PostgreSQL (`$n` placeholders, times in microseconds).

pub mod audit;
pub mod deltas;
pub mod migrations;
pub mod questionnaires;
pub mod responses;
pub mod rounds;
pub mod rows;
pub mod tallies;

pub use shequ_platform::sql::{now_micros, shaped_chunks, stmt, value_rows};

/// ` FOR SHARE` or ` FOR UPDATE` (`clause`) on PostgreSQL when `lock` asks for it; SQLite has one
/// writer and needs none.
fn lock_clause(
    conn: &impl sea_orm::ConnectionTrait,
    lock: bool,
    clause: &'static str,
) -> &'static str {
    if lock && conn.get_database_backend() == sea_orm::DbBackend::Postgres {
        clause
    } else {
        ""
    }
}
