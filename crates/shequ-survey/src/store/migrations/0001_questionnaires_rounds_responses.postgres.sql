
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
