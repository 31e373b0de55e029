
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
