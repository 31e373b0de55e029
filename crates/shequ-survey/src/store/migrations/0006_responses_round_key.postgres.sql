
ALTER TABLE survey_responses DROP CONSTRAINT IF EXISTS survey_responses_round_id_fkey;
