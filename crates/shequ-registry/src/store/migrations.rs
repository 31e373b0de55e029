//! The registry's schema: its migrations in order, each one file under `migrations/`. Tables
//! carry the `registry_` prefix; no other service reads them. Flags are integers and times are
//! microseconds since the epoch, so both backends share every query.
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
        name: "divisions, facilities and their change log",
        sqlite: include_str!("migrations/0001_divisions_and_facilities.sqlite.sql"),
        postgres: include_str!("migrations/0001_divisions_and_facilities.postgres.sql"),
    },
    shequ_platform::audit_migration!(2, "registry_audit_records"),
    // The owner of each stored request id, as `{principal_kind}:{subject}`: the principal of the
    // facility's `created` audit record. Facilities older than the audit trail were made in
    // development mode, the only mode there was: their ids belong to the development principal.
    // SQLite cannot drop the column's own UNIQUE constraint, so there the table is rebuilt with
    // the same columns plus `request_owner`, and the key becomes unique per owner.
    Migration {
        version: 3,
        name: "request ids belong to the principal that sent them",
        sqlite: include_str!("migrations/0003_request_owner.sqlite.sql"),
        postgres: include_str!("migrations/0003_request_owner.postgres.sql"),
    },
    // Empty for the facilities stored before it.
    Migration {
        version: 4,
        name: "a facility's contact telephone",
        sqlite: include_str!("migrations/0004_contact_telephone.sql"),
        postgres: include_str!("migrations/0004_contact_telephone.sql"),
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
        (1, "6bca28ef641b25e8"),
        (2, "e311c5a320631fd7"),
        (3, "4e75c5c0cf1f78af"),
        (4, "6a8bba3dec992f55"),
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
