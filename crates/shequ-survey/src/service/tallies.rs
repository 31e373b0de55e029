//! Tallies of a round: valid and scored responses, the score sum, covered leaf units and every
//! answer count, per leaf unit, per ancestor division and for the whole round (code 0), each in
//! one row with the answer counts packed into a blob.
//!
//! A batch of responses commits with one `survey_tally_deltas` row that lists what it adds (an
//! invalidation, what it takes away); folding moves pending deltas into `survey_tallies` in
//! passes that each take the whole backlog (up to a bound on touched tallies) and write every
//! touched tally once, after commits in the background and before every read, so reads see
//! every acknowledged response and writers never contend on tally rows.
//!
//! One file per workflow: `fold` (deltas into the stored tallies), `rebuild` (the tallies of a
//! round that predates them, from its stored responses).

mod fold;
mod rebuild;

use sea_orm::ConnectionTrait;

use super::Survey;
use crate::error::Result;
use crate::model::tally::Entry;
use crate::store::{audit, deltas};

pub use fold::FoldClock;

impl Survey {
    /// Adds a delta row in the caller's transaction; call it just before the audit record and
    /// the commit. On PostgreSQL it first takes the audit trail's advisory lock (held until the
    /// commit), so deltas commit in `seq` order and a process following them never skips one.
    pub(crate) async fn record_delta(
        &self,
        conn: &impl ConnectionTrait,
        round_id: &str,
        entries: &[Entry],
    ) -> Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        audit::lock_trail(conn).await?;
        deltas::insert(conn, round_id, entries).await?;
        Ok(())
    }
}
