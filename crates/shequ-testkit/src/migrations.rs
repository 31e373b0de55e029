//! The checks every service's migration list passes, called from the service's own unit tests:
//! versions count up from 1 without a gap, each migration runs SQL on both backends unless it
//! says otherwise, and none differs from the fingerprint pinned when it was written.

use shequ_platform::Migration;

/// A backend, for a migration that leaves its text empty on purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Panics unless the versions are 1, 2, 3, … in list order.
pub fn assert_versions_count_from_one(list: &[Migration]) {
    let versions: Vec<i64> = list.iter().map(|m| m.version).collect();
    let expected: Vec<i64> = (1..=list.len() as i64).collect();
    assert_eq!(
        versions, expected,
        "migration versions must count up from 1"
    );
}

/// Panics unless every migration has SQL for both backends, except the texts `empty` names,
/// which must be empty: a migration that changes one backend's schema only.
pub fn assert_sql_for_both_backends(list: &[Migration], empty: &[(i64, Backend)]) {
    for m in list {
        for (backend, sql) in [(Backend::Sqlite, m.sqlite), (Backend::Postgres, m.postgres)] {
            let expect_empty = empty.contains(&(m.version, backend));
            assert_eq!(
                sql.trim().is_empty(),
                expect_empty,
                "migration {} ({}): {backend:?} text {}",
                m.version,
                m.name,
                if expect_empty {
                    "should be empty"
                } else {
                    "is empty"
                },
            );
        }
    }
}

/// Panics unless each migration's fingerprint equals its pin, `(version, fingerprint)`, in list
/// order. A released migration has run on databases that will never run it again, so a changed
/// pin is a mistake: the change belongs in a new migration. A new migration's message says what
/// to pin.
pub fn assert_pinned(list: &[Migration], pinned: &[(i64, &str)]) {
    for (i, m) in list.iter().enumerate() {
        let found = fingerprint(m);
        match pinned.get(i) {
            Some(&(version, pin)) if version == m.version => assert_eq!(
                pin, found,
                "migration {} ({}) differs from the one pinned; never edit a migration once \
                 released: add a new one",
                m.version, m.name
            ),
            _ => panic!(
                "migration {} ({}) is not pinned at position {i}; pin it with ({}, \"{found}\")",
                m.version, m.name, m.version
            ),
        }
    }
    assert_eq!(
        pinned.len(),
        list.len(),
        "a pinned migration is missing from the list"
    );
}

/// FNV-1a (64 bits) of the name and both texts: enough to notice an edit, stable across
/// platforms and compiler releases.
pub fn fingerprint(m: &Migration) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in [m.name, m.sqlite, m.postgres] {
        for byte in part.bytes().chain([0]) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{hash:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const fn migration(version: i64, sqlite: &'static str) -> Migration {
        Migration {
            version,
            name: "m",
            sqlite,
            postgres: "SELECT 1;",
        }
    }

    const LIST: &[Migration] = &[migration(1, "SELECT 1;"), migration(2, "")];

    #[test]
    fn a_sound_list_passes() {
        assert_versions_count_from_one(LIST);
        assert_sql_for_both_backends(LIST, &[(2, Backend::Sqlite)]);
        let pinned: Vec<(i64, String)> = LIST.iter().map(|m| (m.version, fingerprint(m))).collect();
        let pinned: Vec<(i64, &str)> = pinned.iter().map(|(v, f)| (*v, f.as_str())).collect();
        assert_pinned(LIST, &pinned);
    }

    #[test]
    #[should_panic(expected = "count up from 1")]
    fn a_gap_fails() {
        assert_versions_count_from_one(&[migration(1, "SELECT 1;"), migration(3, "SELECT 1;")]);
    }

    #[test]
    #[should_panic(expected = "Sqlite text is empty")]
    fn an_unannounced_empty_text_fails() {
        assert_sql_for_both_backends(LIST, &[]);
    }

    #[test]
    #[should_panic(expected = "differs from the one pinned")]
    fn an_edited_migration_fails() {
        let pin = fingerprint(&LIST[0]);
        assert_pinned(&[migration(1, "SELECT 2;")], &[(1, &pin)]);
    }

    #[test]
    #[should_panic(expected = "is not pinned")]
    fn an_unpinned_migration_fails() {
        assert_pinned(LIST, &[]);
    }
}
