-- Issue 21: every time in the native store is an instant (timestamptz). Until now the columns were
-- `timestamp` holding naive UTC (what the code assumed and the loaders wrote), so each stored value
-- is read AT TIME ZONE 'UTC'. The generated sort_time follows its column: it is dropped (with its
-- indexes), the columns converted, then it and its indexes are made again, as in 001_core.sql.
ALTER TABLE data_collection DROP COLUMN sort_time;

ALTER TABLE session
    ALTER COLUMN start_time TYPE timestamptz USING start_time AT TIME ZONE 'UTC',
    ALTER COLUMN end_time TYPE timestamptz USING end_time AT TIME ZONE 'UTC';
ALTER TABLE data_collection_group
    ALTER COLUMN start_time TYPE timestamptz USING start_time AT TIME ZONE 'UTC',
    ALTER COLUMN end_time TYPE timestamptz USING end_time AT TIME ZONE 'UTC';
ALTER TABLE data_collection
    ALTER COLUMN start_time TYPE timestamptz USING start_time AT TIME ZONE 'UTC',
    ALTER COLUMN end_time TYPE timestamptz USING end_time AT TIME ZONE 'UTC';
ALTER TABLE processing_result
    ALTER COLUMN start_time TYPE timestamptz USING start_time AT TIME ZONE 'UTC',
    ALTER COLUMN end_time TYPE timestamptz USING end_time AT TIME ZONE 'UTC';

-- A missing start time sorts as the first instant of year 1, UTC (site_adapter.backends.native.queries.NO_TIME).
ALTER TABLE data_collection ADD COLUMN
    sort_time timestamptz GENERATED ALWAYS AS (coalesce(start_time, '0001-01-01 00:00:00+00'::timestamptz)) STORED;
CREATE INDEX dc_order ON data_collection (sort_time DESC, id DESC);
CREATE INDEX dc_sample ON data_collection (sample_id, sort_time DESC, id DESC);
CREATE INDEX dc_protein ON data_collection (protein_id, sort_time DESC, id DESC);
CREATE INDEX dc_session ON data_collection (session_id, sort_time DESC, id DESC);
CREATE INDEX dc_proposal ON data_collection (proposal_id, sort_time DESC, id DESC);
CREATE INDEX dc_beamline ON data_collection (beamline, sort_time DESC, id DESC);
CREATE INDEX dc_experiment_type ON data_collection (experiment_type, sort_time DESC, id DESC);
