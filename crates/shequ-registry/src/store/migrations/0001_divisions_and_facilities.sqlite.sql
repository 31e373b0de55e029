
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
