
CREATE TABLE survey_tally_positions (
    round_id TEXT PRIMARY KEY,
    folded_seq BIGINT NOT NULL,
    deleted_seq BIGINT NOT NULL
);
