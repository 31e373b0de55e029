
CREATE TABLE monitoring_plans (
    id TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    level INTEGER NOT NULL,
    scope_code BIGINT NOT NULL,
    parent_id TEXT,
    start_year INTEGER NOT NULL,
    end_year INTEGER NOT NULL,
    survey_round TEXT NOT NULL,
    body TEXT NOT NULL,
    create_time BIGINT NOT NULL
);

CREATE TABLE monitoring_reported_values (
    indicator TEXT NOT NULL,
    division_code BIGINT NOT NULL,
    period TEXT NOT NULL,
    period_start INTEGER NOT NULL,
    revision BIGINT NOT NULL,
    value DOUBLE PRECISION NOT NULL,
    actor TEXT NOT NULL,
    reason TEXT NOT NULL,
    change_time BIGINT NOT NULL,
    PRIMARY KEY (indicator, division_code, revision)
);
CREATE INDEX monitoring_reported_values_period ON monitoring_reported_values (indicator, period_start);

CREATE TABLE monitoring_evaluations (
    id TEXT PRIMARY KEY,
    plan_id TEXT NOT NULL REFERENCES monitoring_plans (id),
    evaluation_date TEXT NOT NULL,
    create_time BIGINT NOT NULL,
    trigger_kind TEXT NOT NULL,
    actor TEXT NOT NULL,
    registry_cursor TEXT NOT NULL,
    registry_vintage TEXT NOT NULL,
    survey_round TEXT NOT NULL,
    divisions BIGINT NOT NULL,
    leaf_units BIGINT NOT NULL,
    indicators TEXT NOT NULL
);
CREATE INDEX monitoring_evaluations_plan ON monitoring_evaluations (plan_id, create_time);

CREATE TABLE monitoring_evaluation_results (
    evaluation_id TEXT NOT NULL,
    division_code BIGINT NOT NULL,
    level INTEGER NOT NULL,
    parent_code BIGINT,
    results TEXT NOT NULL,
    PRIMARY KEY (evaluation_id, division_code)
);
CREATE INDEX monitoring_evaluation_results_parent ON monitoring_evaluation_results (evaluation_id, parent_code);

CREATE TABLE monitoring_leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expire_time BIGINT NOT NULL
);
