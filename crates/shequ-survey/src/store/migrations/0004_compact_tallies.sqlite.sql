
DELETE FROM survey_tally_deltas;
DELETE FROM survey_tallies;
INSERT INTO survey_tally_rebuilds (round_id)
    SELECT DISTINCT round_id FROM survey_responses
    WHERE round_id NOT IN (SELECT round_id FROM survey_tally_rebuilds);
