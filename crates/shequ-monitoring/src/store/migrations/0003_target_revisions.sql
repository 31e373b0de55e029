
CREATE TABLE monitoring_target_revisions (
    plan_id TEXT NOT NULL REFERENCES monitoring_plans (id),
    revision BIGINT NOT NULL,
    indicator TEXT NOT NULL,
    division_code BIGINT NOT NULL,
    effective_date TEXT NOT NULL,
    body TEXT NOT NULL,
    reason TEXT NOT NULL,
    actor TEXT NOT NULL,
    create_time BIGINT NOT NULL,
    PRIMARY KEY (plan_id, revision)
);
