//! Upgrades: a database written at an earlier schema version, opened by this binary, keeps the
//! meaning of what it holds.

use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use shequ_proto::registry::v1 as pb;
use shequ_registry::store::migrations::MIGRATIONS;
use shequ_testkit::fixtures::{self, NINGXIA, TIANJIN};
use shequ_testkit::{Registry, TestDatabase, TestIssuer, TestService, registry_config, with_token};
use tonic::Code;

/// Runs `sql` (`$n` placeholders) on `conn`.
async fn execute(conn: &DatabaseConnection, sql: &str, values: Vec<sea_orm::Value>) {
    let backend = conn.get_database_backend();
    conn.execute_raw(shequ_platform::sql::stmt(backend, sql, values))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// Divisions as version 2 stored them, each with its ancestors from the parent links: 天津 and
/// 宁夏 down to one community each.
async fn insert_divisions(conn: &DatabaseConnection) {
    let rows: [(i64, &str, Option<i64>); 10] = [
        (120000000000, "天津市", None),
        (120100000000, "市辖区", Some(120000000000)),
        (120101000000, "和平区", Some(120100000000)),
        (120101001000, "劝业场街道", Some(120101000000)),
        (120101001001, "花园路社区居委会", Some(120101001000)),
        (640000000000, "宁夏回族自治区", None),
        (640100000000, "银川市", Some(640000000000)),
        (640104000000, "兴庆区", Some(640100000000)),
        (640104001000, "凤凰北街街道", Some(640104000000)),
        (640104001002, "崇安社区居委会", Some(640104001000)),
    ];
    let mut chains: std::collections::HashMap<i64, Vec<i64>> = std::collections::HashMap::new();
    for (code, name, parent) in rows {
        let mut chain = parent.map(|p| chains[&p].clone()).unwrap_or_default();
        chain.extend(parent);
        let level = chain.len() as i32 + 1;
        execute(
            conn,
            "INSERT INTO registry_divisions (code, name, level, parent_code, province_code, prefecture_code, county_code, township_code, kind, vintage) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, '2023')",
            vec![
                code.into(),
                name.into(),
                level.into(),
                parent.into(),
                chain.first().copied().unwrap_or(code).into(),
                chain.get(1).copied().into(),
                chain.get(2).copied().into(),
                chain.get(3).copied().into(),
                (level == 5).then(|| "community".to_owned()).into(),
            ],
        )
        .await;
        chains.insert(code, chain);
    }
}

/// A facility row as version 2 stored it.
async fn insert_facility(conn: &DatabaseConnection, id: &str, leaf: i64, request_id: Option<&str>) {
    execute(
        conn,
        "INSERT INTO registry_facilities (id, leaf_code, display_name, address, status, total_floor_area_m2, \
         activity_area_m2, opening_hours, services, online_24h_services, self_service_terminals, \
         community_workers, social_workers, operator_name, min_daily_open_minutes, meets_activity_share, \
         meets_opening_hours, online_24h, revision, request_id, request_hash, create_time, update_time) \
         VALUES ($1, $2, '旧中心', '旧路 1 号', 'in_service', 500, 300, '[]', '', '', 0, 1, 0, '', 0, 1, 0, 0, 1, \
         $3, 'stored-hash', 1, 1)",
        vec![id.into(), leaf.into(), request_id.map(str::to_owned).into()],
    )
    .await;
}

/// The `created` audit record (and a later `updated` one by someone else) of a facility.
async fn insert_audit(conn: &DatabaseConnection, id: &str, subject: &str, kind: &str) {
    for (subject, kind, action) in [
        (subject, kind, "created"),
        ("auditor-z", "token", "updated"),
    ] {
        execute(
            conn,
            "INSERT INTO registry_audit_records (at, subject, principal_kind, roles, method, resource, division, action, reason) \
             VALUES (1, $1, $2, 'registry.editor', '/shequ.registry.v1.FacilityService/CreateFacility', $3, NULL, $4, '')",
            vec![subject.into(), kind.into(), format!("facilities/{id}").into(), action.into()],
        )
        .await;
    }
}

/// The stored owner of facility `id`'s request id.
async fn owner_of(conn: &DatabaseConnection, id: &str) -> Option<String> {
    let backend = conn.get_database_backend();
    conn.query_one_raw(shequ_platform::sql::stmt(
        backend,
        "SELECT request_owner FROM registry_facilities WHERE id = $1",
        vec![id.into()],
    ))
    .await
    .unwrap()
    .unwrap()
    .try_get_by_index(0)
    .unwrap()
}

async fn create(
    registry: &TestService<Registry>,
    token: Option<&str>,
    leaf: &str,
    request_id: &str,
) -> Result<pb::Facility, tonic::Status> {
    let message = pb::CreateFacilityRequest {
        facility: Some(fixtures::facility(leaf)),
        request_id: request_id.into(),
        reason: String::new(),
    };
    let request = match token {
        Some(token) => with_token(message, token),
        None => tonic::Request::new(message),
    };
    Ok(registry
        .facilities()
        .await
        .unwrap()
        .create_facility(request)
        .await?
        .into_inner()
        .facility
        .unwrap())
}

/// Version 3 makes request ids belong to a principal. A stored id goes to the principal of its
/// facility's `created` audit record; one older than the audit trail (version 2), made when
/// every call was the development principal's, stays the development principal's. Afterwards a
/// principal's own key still finds its facility, another principal's reuse of it is a new key,
/// and development mode shares keys as before.
#[tokio::test]
async fn request_ids_stored_before_version_3_keep_their_owner() {
    let issuer = TestIssuer::new().unwrap();
    let database = TestDatabase::fresh().await.unwrap();
    let mut cfg = registry_config(database.url()).unwrap();
    cfg.auth = issuer.auth_config();
    let before = MIGRATIONS.iter().position(|m| m.version == 3).unwrap();
    let old = shequ_platform::Database::connect(
        &cfg.database,
        shequ_registry::SERVICE,
        &MIGRATIONS[..before],
    )
    .await
    .unwrap();
    assert_eq!(old.migrate().await.unwrap(), before);
    let conn = &old.conn;
    insert_divisions(conn).await;
    insert_facility(conn, "audited", 120101001001, Some("key-audited")).await;
    insert_audit(conn, "audited", "tianjin-editor", "token").await;
    insert_facility(conn, "legacy", 120101001001, Some("key-legacy")).await;
    insert_facility(conn, "no-key", 640104001002, None).await;
    insert_audit(conn, "no-key", "ningxia-editor", "token").await;
    old.conn.close().await.unwrap();

    let url = database.url().to_owned();
    let registry = TestService::<Registry>::start_with(cfg, database)
        .await
        .unwrap();
    let tianjin = issuer.token("tianjin-editor", &["registry.editor"], &[TIANJIN]);
    let ningxia = issuer.token("ningxia-editor", &["registry.editor"], &[NINGXIA]);
    // The first call waits for the migration.
    let err = create(
        &registry,
        Some(&tianjin),
        fixtures::TIANJIN_COMMUNITY,
        "key-audited",
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), Code::AlreadyExists, "{err:?}");
    assert!(err.message().contains("facilities/audited"), "{err:?}");
    let fresh = create(
        &registry,
        Some(&ningxia),
        fixtures::NINGXIA_COMMUNITY,
        "key-audited",
    )
    .await
    .unwrap();
    assert_ne!(fresh.name, "facilities/audited");
    // No token principal owns a key from before the audit trail.
    let fresh = create(
        &registry,
        Some(&tianjin),
        fixtures::TIANJIN_COMMUNITY,
        "key-legacy",
    )
    .await
    .unwrap();
    assert_ne!(fresh.name, "facilities/legacy");

    let conn = sea_orm::Database::connect(url.as_str()).await.unwrap();
    assert_eq!(
        owner_of(&conn, "audited").await.as_deref(),
        Some("token:tianjin-editor")
    );
    assert_eq!(
        owner_of(&conn, "legacy").await.as_deref(),
        Some("development:development")
    );
    assert_eq!(owner_of(&conn, "no-key").await, None);
    let version = conn
        .query_one_raw(Statement::from_string(
            conn.get_database_backend(),
            "SELECT max(version) FROM registry_schema_migrations",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get_by_index::<i64>(0)
        .unwrap();
    assert_eq!(version, MIGRATIONS.last().unwrap().version);
    conn.close().await.unwrap();

    // In development mode the legacy key is the development principal's, as before.
    let development = TestService::registry_on(registry.database.alias())
        .await
        .unwrap();
    let err = create(
        &development,
        None,
        fixtures::TIANJIN_COMMUNITY,
        "key-legacy",
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), Code::AlreadyExists, "{err:?}");
    assert!(err.message().contains("facilities/legacy"), "{err:?}");
    development.stop().await.unwrap();
    registry.stop().await.unwrap();
}
