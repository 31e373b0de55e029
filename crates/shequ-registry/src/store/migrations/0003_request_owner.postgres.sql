
ALTER TABLE registry_facilities ADD COLUMN request_owner TEXT;
UPDATE registry_facilities f SET request_owner = c.owner FROM (SELECT resource, min(principal_kind || ':' || subject) AS owner FROM registry_audit_records WHERE action = 'created' GROUP BY resource) c
WHERE f.request_id IS NOT NULL AND c.resource = 'facilities/' || f.id;
UPDATE registry_facilities SET request_owner = 'development:development'
WHERE request_id IS NOT NULL AND request_owner IS NULL;
ALTER TABLE registry_facilities DROP CONSTRAINT registry_facilities_request_id_key;
CREATE UNIQUE INDEX registry_facilities_request ON registry_facilities (request_owner, request_id);
