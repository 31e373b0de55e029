//! Versioned schema of the registry. Tables carry the `registry_` prefix; no other service reads
//! them. Flags are integers and times are microseconds since the epoch, so both backends share
//! every query.

use shequ_platform::Migration;

pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "divisions, facilities and their change log",
        sqlite: r#"
CREATE TABLE registry_divisions (
    code BIGINT PRIMARY KEY,
    name TEXT NOT NULL,
    level INTEGER NOT NULL,
    parent_code BIGINT,
    province_code BIGINT NOT NULL,
    prefecture_code BIGINT,
    county_code BIGINT,
    township_code BIGINT,
    kind TEXT,
    kind_overridden INTEGER NOT NULL DEFAULT 0,
    vintage TEXT NOT NULL,
    retired INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX registry_divisions_parent ON registry_divisions (parent_code, code);
CREATE INDEX registry_divisions_province ON registry_divisions (province_code, level, code);
CREATE INDEX registry_divisions_prefecture ON registry_divisions (prefecture_code, level, code);
CREATE INDEX registry_divisions_county ON registry_divisions (county_code, level, code);
CREATE INDEX registry_divisions_township ON registry_divisions (township_code, code);

CREATE TABLE registry_imports (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    vintage TEXT NOT NULL,
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    inserted BIGINT NOT NULL,
    updated BIGINT NOT NULL,
    unchanged BIGINT NOT NULL,
    retired BIGINT NOT NULL
);

CREATE TABLE registry_facilities (
    id TEXT PRIMARY KEY,
    leaf_code BIGINT NOT NULL REFERENCES registry_divisions (code),
    display_name TEXT NOT NULL,
    address TEXT NOT NULL,
    latitude DOUBLE PRECISION,
    longitude DOUBLE PRECISION,
    status TEXT NOT NULL,
    total_floor_area_m2 DOUBLE PRECISION NOT NULL,
    activity_area_m2 DOUBLE PRECISION NOT NULL,
    opening_hours TEXT NOT NULL,
    services TEXT NOT NULL,
    online_24h_services TEXT NOT NULL,
    self_service_terminals INTEGER NOT NULL,
    community_workers INTEGER NOT NULL,
    social_workers INTEGER NOT NULL,
    operator_name TEXT NOT NULL,
    operator_uscc TEXT,
    min_daily_open_minutes INTEGER NOT NULL,
    meets_activity_share INTEGER NOT NULL,
    meets_opening_hours INTEGER NOT NULL,
    online_24h INTEGER NOT NULL,
    revision BIGINT NOT NULL,
    request_id TEXT UNIQUE,
    request_hash TEXT,
    create_time BIGINT NOT NULL,
    update_time BIGINT NOT NULL,
    delete_time BIGINT
);
CREATE INDEX registry_facilities_leaf ON registry_facilities (leaf_code);

CREATE TABLE registry_facility_changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    facility_id TEXT NOT NULL,
    revision BIGINT NOT NULL,
    kind TEXT NOT NULL,
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    reason TEXT NOT NULL,
    changed_fields TEXT NOT NULL,
    snapshot TEXT NOT NULL,
    leaf_code BIGINT NOT NULL,
    UNIQUE (facility_id, revision)
);
"#,
        postgres: r#"
CREATE TABLE registry_divisions (
    code BIGINT PRIMARY KEY,
    name TEXT NOT NULL,
    level INTEGER NOT NULL,
    parent_code BIGINT,
    province_code BIGINT NOT NULL,
    prefecture_code BIGINT,
    county_code BIGINT,
    township_code BIGINT,
    kind TEXT,
    kind_overridden INTEGER NOT NULL DEFAULT 0,
    vintage TEXT NOT NULL,
    retired INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX registry_divisions_parent ON registry_divisions (parent_code, code);
CREATE INDEX registry_divisions_province ON registry_divisions (province_code, level, code);
CREATE INDEX registry_divisions_prefecture ON registry_divisions (prefecture_code, level, code);
CREATE INDEX registry_divisions_county ON registry_divisions (county_code, level, code);
CREATE INDEX registry_divisions_township ON registry_divisions (township_code, code);

CREATE TABLE registry_imports (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    vintage TEXT NOT NULL,
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    inserted BIGINT NOT NULL,
    updated BIGINT NOT NULL,
    unchanged BIGINT NOT NULL,
    retired BIGINT NOT NULL
);

CREATE TABLE registry_facilities (
    id TEXT PRIMARY KEY,
    leaf_code BIGINT NOT NULL REFERENCES registry_divisions (code),
    display_name TEXT NOT NULL,
    address TEXT NOT NULL,
    latitude DOUBLE PRECISION,
    longitude DOUBLE PRECISION,
    status TEXT NOT NULL,
    total_floor_area_m2 DOUBLE PRECISION NOT NULL,
    activity_area_m2 DOUBLE PRECISION NOT NULL,
    opening_hours TEXT NOT NULL,
    services TEXT NOT NULL,
    online_24h_services TEXT NOT NULL,
    self_service_terminals INTEGER NOT NULL,
    community_workers INTEGER NOT NULL,
    social_workers INTEGER NOT NULL,
    operator_name TEXT NOT NULL,
    operator_uscc TEXT,
    min_daily_open_minutes INTEGER NOT NULL,
    meets_activity_share INTEGER NOT NULL,
    meets_opening_hours INTEGER NOT NULL,
    online_24h INTEGER NOT NULL,
    revision BIGINT NOT NULL,
    request_id TEXT UNIQUE,
    request_hash TEXT,
    create_time BIGINT NOT NULL,
    update_time BIGINT NOT NULL,
    delete_time BIGINT
);
CREATE INDEX registry_facilities_leaf ON registry_facilities (leaf_code);

CREATE TABLE registry_facility_changes (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    facility_id TEXT NOT NULL,
    revision BIGINT NOT NULL,
    kind TEXT NOT NULL,
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    reason TEXT NOT NULL,
    changed_fields TEXT NOT NULL,
    snapshot TEXT NOT NULL,
    leaf_code BIGINT NOT NULL,
    UNIQUE (facility_id, revision)
);
"#,
    },
    shequ_platform::audit_migration!(2, "registry_audit_records"),
    Migration {
        version: 3,
        name: "request ids belong to the principal that sent them",
        sqlite: REQUEST_OWNER_SQLITE,
        postgres: REQUEST_OWNER_POSTGRES,
    },
    Migration {
        version: 4,
        name: "a facility's contact telephone",
        sqlite: CONTACT_TELEPHONE,
        postgres: CONTACT_TELEPHONE,
    },
];

/// Empty for the facilities stored before it.
const CONTACT_TELEPHONE: &str =
    "ALTER TABLE registry_facilities ADD COLUMN contact_telephone TEXT NOT NULL DEFAULT '';";

/// The owner of each stored request id, as `{principal_kind}:{subject}`: the principal of the
/// facility's `created` audit record. Facilities older than the audit trail were made in
/// development mode, the only mode there was: their ids belong to the development principal.
macro_rules! creators {
    () => {
        "(SELECT resource, min(principal_kind || ':' || subject) AS owner \
         FROM registry_audit_records WHERE action = 'created' GROUP BY resource)"
    };
}

/// SQLite cannot drop the column's own UNIQUE constraint, so the table is rebuilt with the
/// same columns plus `request_owner`, and the key becomes unique per owner.
const REQUEST_OWNER_SQLITE: &str = concat!(
    r#"
CREATE TABLE registry_facilities_next (
    id TEXT PRIMARY KEY,
    leaf_code BIGINT NOT NULL REFERENCES registry_divisions (code),
    display_name TEXT NOT NULL,
    address TEXT NOT NULL,
    latitude DOUBLE PRECISION,
    longitude DOUBLE PRECISION,
    status TEXT NOT NULL,
    total_floor_area_m2 DOUBLE PRECISION NOT NULL,
    activity_area_m2 DOUBLE PRECISION NOT NULL,
    opening_hours TEXT NOT NULL,
    services TEXT NOT NULL,
    online_24h_services TEXT NOT NULL,
    self_service_terminals INTEGER NOT NULL,
    community_workers INTEGER NOT NULL,
    social_workers INTEGER NOT NULL,
    operator_name TEXT NOT NULL,
    operator_uscc TEXT,
    min_daily_open_minutes INTEGER NOT NULL,
    meets_activity_share INTEGER NOT NULL,
    meets_opening_hours INTEGER NOT NULL,
    online_24h INTEGER NOT NULL,
    revision BIGINT NOT NULL,
    request_id TEXT,
    request_hash TEXT,
    create_time BIGINT NOT NULL,
    update_time BIGINT NOT NULL,
    delete_time BIGINT,
    request_owner TEXT
);
INSERT INTO registry_facilities_next
SELECT f.id, f.leaf_code, f.display_name, f.address, f.latitude, f.longitude, f.status,
    f.total_floor_area_m2, f.activity_area_m2, f.opening_hours, f.services, f.online_24h_services,
    f.self_service_terminals, f.community_workers, f.social_workers, f.operator_name,
    f.operator_uscc, f.min_daily_open_minutes, f.meets_activity_share, f.meets_opening_hours,
    f.online_24h, f.revision, f.request_id, f.request_hash, f.create_time, f.update_time,
    f.delete_time,
    CASE WHEN f.request_id IS NULL THEN NULL ELSE coalesce(c.owner, 'development:development') END
FROM registry_facilities f LEFT JOIN "#,
    creators!(),
    r#" c ON c.resource = 'facilities/' || f.id;
DROP TABLE registry_facilities;
ALTER TABLE registry_facilities_next RENAME TO registry_facilities;
CREATE INDEX registry_facilities_leaf ON registry_facilities (leaf_code);
CREATE UNIQUE INDEX registry_facilities_request ON registry_facilities (request_owner, request_id);
"#
);

const REQUEST_OWNER_POSTGRES: &str = concat!(
    r#"
ALTER TABLE registry_facilities ADD COLUMN request_owner TEXT;
UPDATE registry_facilities f SET request_owner = c.owner FROM "#,
    creators!(),
    r#" c
WHERE f.request_id IS NOT NULL AND c.resource = 'facilities/' || f.id;
UPDATE registry_facilities SET request_owner = 'development:development'
WHERE request_id IS NOT NULL AND request_owner IS NULL;
ALTER TABLE registry_facilities DROP CONSTRAINT registry_facilities_request_id_key;
CREATE UNIQUE INDEX registry_facilities_request ON registry_facilities (request_owner, request_id);
"#
);
