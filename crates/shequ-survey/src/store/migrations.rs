//! Versioned schema of the survey service. Tables carry the `survey_` prefix; no other service
//! reads them. Flags are integers and times are microseconds since the epoch, so both backends
//! share every query. Version 2 replaces the per-leaf-unit aggregates and answer counts of
//! version 1 with tallies per division (`survey_tallies`), fed by one delta row per committed batch
//! (`survey_tally_deltas`); rounds that already hold responses are marked for a rebuild. Version 3
//! adds the audit trail (`survey_audit_records`).
//! Version 4 stores a tally's counts as 4-byte integers (sums stay 8-byte floats) and a delta's
//! count hits as bare slot numbers; the old tallies and pending deltas are dropped and every round
//! with responses is rebuilt from them on first use. On PostgreSQL delta bodies are stored
//! uncompressed: they are written once, read once and deleted, so compressing them only costs
//! the commit.

use shequ_platform::Migration;

pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "questionnaires, rounds, responses and their aggregates",
        sqlite: r#"
CREATE TABLE survey_questionnaires (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    questions TEXT NOT NULL,
    latest_version INTEGER NOT NULL DEFAULT 0,
    create_time BIGINT NOT NULL,
    update_time BIGINT NOT NULL
);

CREATE TABLE survey_questionnaire_versions (
    questionnaire_id TEXT NOT NULL REFERENCES survey_questionnaires (id),
    version INTEGER NOT NULL,
    title TEXT NOT NULL,
    questions TEXT NOT NULL,
    publish_time BIGINT NOT NULL,
    PRIMARY KEY (questionnaire_id, version)
);

CREATE TABLE survey_rounds (
    id TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    questionnaire_id TEXT NOT NULL,
    questionnaire_version INTEGER NOT NULL,
    region_code BIGINT NOT NULL,
    region_level INTEGER NOT NULL,
    start_time BIGINT NOT NULL,
    end_time BIGINT NOT NULL,
    min_valid_responses INTEGER NOT NULL,
    state TEXT NOT NULL,
    create_time BIGINT NOT NULL,
    update_time BIGINT NOT NULL,
    FOREIGN KEY (questionnaire_id, questionnaire_version)
        REFERENCES survey_questionnaire_versions (questionnaire_id, version)
);

CREATE TABLE survey_responses (
    round_id TEXT NOT NULL REFERENCES survey_rounds (id),
    response_id TEXT NOT NULL,
    leaf_code BIGINT NOT NULL,
    channel TEXT NOT NULL,
    collect_time BIGINT NOT NULL,
    receive_time BIGINT NOT NULL,
    answers TEXT NOT NULL,
    body_hash TEXT NOT NULL,
    score DOUBLE PRECISION,
    valid INTEGER NOT NULL,
    invalid_actor TEXT,
    invalid_reason TEXT,
    invalid_time BIGINT,
    PRIMARY KEY (round_id, response_id)
) WITHOUT ROWID;

CREATE TABLE survey_unit_aggregates (
    round_id TEXT NOT NULL,
    leaf_code BIGINT NOT NULL,
    province_code BIGINT NOT NULL,
    prefecture_code BIGINT,
    county_code BIGINT,
    township_code BIGINT,
    valid_responses BIGINT NOT NULL,
    scored_responses BIGINT NOT NULL,
    score_sum DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (round_id, leaf_code)
);
CREATE INDEX survey_unit_aggregates_province ON survey_unit_aggregates (round_id, province_code);
CREATE INDEX survey_unit_aggregates_prefecture ON survey_unit_aggregates (round_id, prefecture_code);
CREATE INDEX survey_unit_aggregates_county ON survey_unit_aggregates (round_id, county_code);
CREATE INDEX survey_unit_aggregates_township ON survey_unit_aggregates (round_id, township_code);

CREATE TABLE survey_answer_counts (
    round_id TEXT NOT NULL,
    leaf_code BIGINT NOT NULL,
    question_id TEXT NOT NULL,
    answer TEXT NOT NULL,
    responses BIGINT NOT NULL,
    value_sum DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (round_id, leaf_code, question_id, answer)
);

CREATE TABLE survey_response_changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    round_id TEXT NOT NULL,
    response_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    reason TEXT NOT NULL
);
CREATE INDEX survey_response_changes_response ON survey_response_changes (round_id, response_id);
"#,
        postgres: r#"
CREATE TABLE survey_questionnaires (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    questions TEXT NOT NULL,
    latest_version INTEGER NOT NULL DEFAULT 0,
    create_time BIGINT NOT NULL,
    update_time BIGINT NOT NULL
);

CREATE TABLE survey_questionnaire_versions (
    questionnaire_id TEXT NOT NULL REFERENCES survey_questionnaires (id),
    version INTEGER NOT NULL,
    title TEXT NOT NULL,
    questions TEXT NOT NULL,
    publish_time BIGINT NOT NULL,
    PRIMARY KEY (questionnaire_id, version)
);

CREATE TABLE survey_rounds (
    id TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    questionnaire_id TEXT NOT NULL,
    questionnaire_version INTEGER NOT NULL,
    region_code BIGINT NOT NULL,
    region_level INTEGER NOT NULL,
    start_time BIGINT NOT NULL,
    end_time BIGINT NOT NULL,
    min_valid_responses INTEGER NOT NULL,
    state TEXT NOT NULL,
    create_time BIGINT NOT NULL,
    update_time BIGINT NOT NULL,
    FOREIGN KEY (questionnaire_id, questionnaire_version)
        REFERENCES survey_questionnaire_versions (questionnaire_id, version)
);

CREATE TABLE survey_responses (
    round_id TEXT NOT NULL REFERENCES survey_rounds (id),
    response_id TEXT NOT NULL,
    leaf_code BIGINT NOT NULL,
    channel TEXT NOT NULL,
    collect_time BIGINT NOT NULL,
    receive_time BIGINT NOT NULL,
    answers TEXT NOT NULL,
    body_hash TEXT NOT NULL,
    score DOUBLE PRECISION,
    valid INTEGER NOT NULL,
    invalid_actor TEXT,
    invalid_reason TEXT,
    invalid_time BIGINT,
    PRIMARY KEY (round_id, response_id)
);

CREATE TABLE survey_unit_aggregates (
    round_id TEXT NOT NULL,
    leaf_code BIGINT NOT NULL,
    province_code BIGINT NOT NULL,
    prefecture_code BIGINT,
    county_code BIGINT,
    township_code BIGINT,
    valid_responses BIGINT NOT NULL,
    scored_responses BIGINT NOT NULL,
    score_sum DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (round_id, leaf_code)
);
CREATE INDEX survey_unit_aggregates_province ON survey_unit_aggregates (round_id, province_code);
CREATE INDEX survey_unit_aggregates_prefecture ON survey_unit_aggregates (round_id, prefecture_code);
CREATE INDEX survey_unit_aggregates_county ON survey_unit_aggregates (round_id, county_code);
CREATE INDEX survey_unit_aggregates_township ON survey_unit_aggregates (round_id, township_code);

CREATE TABLE survey_answer_counts (
    round_id TEXT NOT NULL,
    leaf_code BIGINT NOT NULL,
    question_id TEXT NOT NULL,
    answer TEXT NOT NULL,
    responses BIGINT NOT NULL,
    value_sum DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (round_id, leaf_code, question_id, answer)
);

CREATE TABLE survey_response_changes (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    round_id TEXT NOT NULL,
    response_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    reason TEXT NOT NULL
);
CREATE INDEX survey_response_changes_response ON survey_response_changes (round_id, response_id);
"#,
    },
    Migration {
        version: 2,
        name: "tallies per division fed by one delta per batch",
        sqlite: r#"
CREATE TABLE survey_tallies (
    round_id TEXT NOT NULL,
    code BIGINT NOT NULL,
    level INTEGER NOT NULL,
    valid_responses BIGINT NOT NULL,
    scored_responses BIGINT NOT NULL,
    score_sum DOUBLE PRECISION NOT NULL,
    covered_units BIGINT NOT NULL,
    answers BLOB NOT NULL,
    PRIMARY KEY (round_id, code)
);

CREATE TABLE survey_tally_deltas (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    round_id TEXT NOT NULL,
    body BLOB NOT NULL
);
CREATE INDEX survey_tally_deltas_round ON survey_tally_deltas (round_id, seq);

CREATE TABLE survey_tally_rebuilds (
    round_id TEXT PRIMARY KEY
);
INSERT INTO survey_tally_rebuilds (round_id) SELECT DISTINCT round_id FROM survey_responses;

DROP TABLE survey_answer_counts;
DROP TABLE survey_unit_aggregates;
"#,
        postgres: r#"
CREATE TABLE survey_tallies (
    round_id TEXT NOT NULL,
    code BIGINT NOT NULL,
    level INTEGER NOT NULL,
    valid_responses BIGINT NOT NULL,
    scored_responses BIGINT NOT NULL,
    score_sum DOUBLE PRECISION NOT NULL,
    covered_units BIGINT NOT NULL,
    answers BYTEA NOT NULL,
    PRIMARY KEY (round_id, code)
);

CREATE TABLE survey_tally_deltas (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    round_id TEXT NOT NULL,
    body BYTEA NOT NULL
);
CREATE INDEX survey_tally_deltas_round ON survey_tally_deltas (round_id, seq);

CREATE TABLE survey_tally_rebuilds (
    round_id TEXT PRIMARY KEY
);
INSERT INTO survey_tally_rebuilds (round_id) SELECT DISTINCT round_id FROM survey_responses;

DROP TABLE survey_answer_counts;
DROP TABLE survey_unit_aggregates;
"#,
    },
    shequ_platform::audit_migration!(3, "survey_audit_records"),
    Migration {
        version: 4,
        name: "tallies with 4-byte counts and compact deltas, rebuilt from the responses",
        sqlite: r#"
DELETE FROM survey_tally_deltas;
DELETE FROM survey_tallies;
INSERT INTO survey_tally_rebuilds (round_id)
    SELECT DISTINCT round_id FROM survey_responses
    WHERE round_id NOT IN (SELECT round_id FROM survey_tally_rebuilds);
"#,
        postgres: r#"
DELETE FROM survey_tally_deltas;
DELETE FROM survey_tallies;
INSERT INTO survey_tally_rebuilds (round_id)
    SELECT DISTINCT round_id FROM survey_responses
    ON CONFLICT (round_id) DO NOTHING;
ALTER TABLE survey_tally_deltas ALTER COLUMN body SET STORAGE EXTERNAL;
"#,
    },
    Migration {
        version: 5,
        name: "the fold's position per round, for processes that follow the deltas",
        sqlite: r#"
CREATE TABLE survey_tally_positions (
    round_id TEXT PRIMARY KEY,
    folded_seq BIGINT NOT NULL,
    deleted_seq BIGINT NOT NULL
);
"#,
        postgres: r#"
CREATE TABLE survey_tally_positions (
    round_id TEXT PRIMARY KEY,
    folded_seq BIGINT NOT NULL,
    deleted_seq BIGINT NOT NULL
);
"#,
    },
    Migration {
        version: 6,
        name: "responses' round checked once per write, not per row",
        // On PostgreSQL the foreign key from a response to its round ran a locking lookup of the
        // round for every row inserted, over a third of the database's work in a bulk load. Every
        // write of responses already reads its round `FOR SHARE` in the same transaction (the
        // round must exist and be open), which holds what the key held, once per batch; rounds
        // are never deleted. On SQLite the check is a lookup in the same file and costs little,
        // while dropping it would mean copying every stored response into a new table; it stays.
        sqlite: "",
        postgres: r#"
ALTER TABLE survey_responses DROP CONSTRAINT IF EXISTS survey_responses_round_id_fkey;
"#,
    },
];
