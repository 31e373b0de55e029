
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
FROM registry_facilities f LEFT JOIN (SELECT resource, min(principal_kind || ':' || subject) AS owner FROM registry_audit_records WHERE action = 'created' GROUP BY resource) c ON c.resource = 'facilities/' || f.id;
DROP TABLE registry_facilities;
ALTER TABLE registry_facilities_next RENAME TO registry_facilities;
CREATE INDEX registry_facilities_leaf ON registry_facilities (leaf_code);
CREATE UNIQUE INDEX registry_facilities_request ON registry_facilities (request_owner, request_id);
