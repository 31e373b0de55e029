
DELETE FROM survey_tally_deltas;
DELETE FROM survey_tallies;
INSERT INTO survey_tally_rebuilds (round_id)
    SELECT DISTINCT round_id FROM survey_responses
    ON CONFLICT (round_id) DO NOTHING;
ALTER TABLE survey_tally_deltas ALTER COLUMN body SET STORAGE EXTERNAL;
