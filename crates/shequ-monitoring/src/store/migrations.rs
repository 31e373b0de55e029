//! The monitoring service's schema: its migrations in order, each one file under `migrations/`.
//! Tables carry the `monitoring_` prefix; no other service reads them. Times are microseconds
//! since the epoch, so both backends share every query. An evaluation's results are one row per
//! (evaluation, division) holding every indicator's result as JSON, so one division is one
//! primary-key lookup and its children one indexed range. Every write is also recorded with its
//! principal in `monitoring_audit_records`.
//!
//! A migration is `NNNN_short_name.sql` when SQLite and PostgreSQL run the same text, otherwise
//! `NNNN_short_name.sqlite.sql` and `NNNN_short_name.postgres.sql`; the audit trail's comes from
//! `shequ_platform::audit_migration!`. A new migration is a new file and a new entry at the end,
//! one version past the last. Never renumber a migration or edit one once released: databases
//! that ran it will not run it again, so a change belongs in a new migration. The tests below
//! pin every migration's text.

use shequ_platform::Migration;

pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "plans, reported values, evaluations, results and leases",
        sqlite: include_str!("migrations/0001_plans_evaluations_leases.sql"),
        postgres: include_str!("migrations/0001_plans_evaluations_leases.sql"),
    },
    shequ_platform::audit_migration!(2, "monitoring_audit_records"),
    Migration {
        version: 3,
        name: "target revisions",
        sqlite: include_str!("migrations/0003_target_revisions.sql"),
        postgres: include_str!("migrations/0003_target_revisions.sql"),
    },
];

#[cfg(test)]
mod tests {
    use shequ_testkit::migrations::{
        assert_pinned, assert_sql_for_both_backends, assert_versions_count_from_one,
    };

    use super::MIGRATIONS;

    /// Each migration's fingerprint, pinned when it was written.
    const PINNED: &[(i64, &str)] = &[
        (1, "d67d8fb0cc914a8d"),
        (2, "07c15308503ef025"),
        (3, "7ee74cf15c928f2e"),
    ];

    #[test]
    fn versions_count_up_from_one() {
        assert_versions_count_from_one(MIGRATIONS);
    }

    #[test]
    fn every_migration_runs_sql_on_both_backends() {
        assert_sql_for_both_backends(MIGRATIONS, &[]);
    }

    #[test]
    fn no_migration_differs_from_its_pin() {
        assert_pinned(MIGRATIONS, PINNED);
    }
}
