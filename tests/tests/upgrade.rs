//! Upgrades in place: every committed fixture set (the databases an earlier release left, see
//! `shequ_system_tests::upgrade`) is opened by today's binaries, which migrate it on start, and
//! must read back exactly what that release read from it. A new migration is covered as soon as
//! it exists, since every set is older than it.

use shequ_system_tests::System;
use shequ_system_tests::upgrade::{SERVICES, fixture_sets, read_back, reuse_request_ids};
use shequ_testkit::TestDatabase;

#[tokio::test]
async fn databases_of_earlier_releases_migrate_in_place_with_nothing_lost() {
    let sets = fixture_sets();
    assert!(
        !sets.is_empty(),
        "no fixture set under tests/fixtures/upgrade"
    );
    for set in sets {
        let first = TestDatabase::fresh().await.unwrap();
        let backend = if first.is_postgres() {
            "postgres"
        } else {
            "sqlite"
        };
        let databases = [
            first,
            TestDatabase::fresh().await.unwrap(),
            TestDatabase::fresh().await.unwrap(),
        ];
        for (database, service) in databases.iter().zip(SERVICES) {
            match database.sqlite_path() {
                Some(path) => {
                    std::fs::copy(set.join(format!("{service}.sqlite")), &path).unwrap();
                }
                None => {
                    let dump = std::fs::read_to_string(set.join(format!("{service}.postgres.sql")))
                        .unwrap();
                    database.execute(&dump).await.unwrap();
                }
            }
        }
        let sys = System::start_on(databases, &[], false)
            .await
            .unwrap_or_else(|e| panic!("{}: the services start: {e:#}", set.display()));
        let got = read_back(&sys).await.unwrap();
        let expected =
            std::fs::read_to_string(set.join(format!("expected.{backend}.txt"))).unwrap();
        let expected: Vec<&str> = expected.lines().collect();
        let got: Vec<&str> = got.iter().map(String::as_str).collect();
        assert_eq!(got, expected, "{} on {backend}", set.display());

        // Request ids stored before they belonged to a principal (registry version 3) are the
        // principal's that sent them: another body under one is refused naming its facility.
        let reused = reuse_request_ids(&sys).await.unwrap();
        assert_eq!(
            reused,
            [
                "upgrade-0 AlreadyExists 前门社区服务站 1",
                "upgrade-1 AlreadyExists 前门社区服务站 2",
                "upgrade-2 AlreadyExists 前门社区服务站 3",
            ],
            "{} on {backend}",
            set.display()
        );
        let again = read_back(&sys).await.unwrap();
        assert_eq!(again, got, "{} on {backend}", set.display());
    }
}
