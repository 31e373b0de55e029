//! The survey service's schema: its migrations in order, each one file under `migrations/`.
//! Tables carry the `survey_` prefix; no other service reads them. Flags are integers and times
//! are microseconds since the epoch, so both backends share every query.
//!
//! A migration is `NNNN_short_name.sql` when SQLite and PostgreSQL run the same text, otherwise
//! `NNNN_short_name.sqlite.sql` and `NNNN_short_name.postgres.sql`; the audit trail's comes from
//! `shequ_platform::audit_migration!`, and a backend a migration leaves alone gets `""`. A new
//! migration is a new file and a new entry at the end, one version past the last. Never renumber
//! a migration or edit one once released: databases that ran it will not run it again, so a
//! change belongs in a new migration. The tests below pin every migration's text.

use shequ_platform::Migration;

pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "questionnaires, rounds, responses and their aggregates",
        sqlite: include_str!("migrations/0001_questionnaires_rounds_responses.sqlite.sql"),
        postgres: include_str!("migrations/0001_questionnaires_rounds_responses.postgres.sql"),
    },
    // Replaces the per-leaf-unit aggregates and answer counts of version 1 with tallies per
    // division (`survey_tallies`), fed by one delta row per committed batch
    // (`survey_tally_deltas`); rounds that already hold responses are marked for a rebuild.
    Migration {
        version: 2,
        name: "tallies per division fed by one delta per batch",
        sqlite: include_str!("migrations/0002_tallies.sqlite.sql"),
        postgres: include_str!("migrations/0002_tallies.postgres.sql"),
    },
    shequ_platform::audit_migration!(3, "survey_audit_records"),
    // A tally's counts become 4-byte integers (sums stay 8-byte floats) and a delta's count hits
    // bare slot numbers; the old tallies and pending deltas are dropped and every round with
    // responses is rebuilt from them on first use. On PostgreSQL delta bodies are stored
    // uncompressed: they are written once, read once and deleted, so compressing them only costs
    // the commit.
    Migration {
        version: 4,
        name: "tallies with 4-byte counts and compact deltas, rebuilt from the responses",
        sqlite: include_str!("migrations/0004_compact_tallies.sqlite.sql"),
        postgres: include_str!("migrations/0004_compact_tallies.postgres.sql"),
    },
    Migration {
        version: 5,
        name: "the fold's position per round, for processes that follow the deltas",
        sqlite: include_str!("migrations/0005_tally_positions.sql"),
        postgres: include_str!("migrations/0005_tally_positions.sql"),
    },
    // On PostgreSQL the foreign key from a response to its round ran a locking lookup of the
    // round for every row inserted, over a third of the database's work in a bulk load. Every
    // write of responses already reads its round `FOR SHARE` in the same transaction (the round
    // must exist and be open), which holds what the key held, once per batch; rounds are never
    // deleted. On SQLite the check is a lookup in the same file and costs little, while dropping
    // it would mean copying every stored response into a new table; it stays.
    Migration {
        version: 6,
        name: "responses' round checked once per write, not per row",
        sqlite: "",
        postgres: include_str!("migrations/0006_responses_round_key.postgres.sql"),
    },
];

#[cfg(test)]
mod tests {
    use shequ_testkit::migrations::{
        Backend, assert_pinned, assert_sql_for_both_backends, assert_versions_count_from_one,
    };

    use super::MIGRATIONS;

    /// Each migration's fingerprint, pinned when it was written.
    const PINNED: &[(i64, &str)] = &[
        (1, "9db25fe0b7d1f39f"),
        (2, "f72281eff7b6c233"),
        (3, "32717398863de155"),
        (4, "df2e30e4dec9d6eb"),
        (5, "bf748e4a5e7b68eb"),
        (6, "21434c92aafbdb33"),
    ];

    #[test]
    fn versions_count_up_from_one() {
        assert_versions_count_from_one(MIGRATIONS);
    }

    #[test]
    fn every_migration_runs_sql_on_both_backends_but_where_it_says() {
        assert_sql_for_both_backends(MIGRATIONS, &[(6, Backend::Sqlite)]);
    }

    #[test]
    fn no_migration_differs_from_its_pin() {
        assert_pinned(MIGRATIONS, PINNED);
    }
}
