-- Issue 16, part 4: dataCollections(orderBy:). The best result's overall completeness, CC½ and mean
-- I/sigI join best_resolution and best_space_group on data_collection, kept by the loader
-- (loader.refresh_best_processing) from the same best result (types.best_of: successful, smallest
-- overall resolution_high, ties by the lowest result id).
ALTER TABLE data_collection
    ADD COLUMN best_completeness double precision,       -- %
    ADD COLUMN best_cc_half double precision,            -- fraction 0-1
    ADD COLUMN best_mean_i_over_sig_i double precision;  -- mean I/sigI

UPDATE data_collection dc
SET best_completeness = (b.overall->>'completeness')::float8,
    best_cc_half = (b.overall->>'cc_half')::float8,
    best_mean_i_over_sig_i = (b.overall->>'mean_i_over_sig_i')::float8
FROM (
    SELECT DISTINCT ON (pr.data_collection_id) pr.data_collection_id AS id, pr.overall
    FROM processing_result pr
    WHERE pr.status = 'SUCCESS' AND pr.overall->>'resolution_high' IS NOT NULL
    ORDER BY pr.data_collection_id, (pr.overall->>'resolution_high')::float8, pr.id
) b
WHERE dc.id = b.id;

-- Missing values sort last in both directions (site_adapter.backends.native.queries.order_by): ascending
-- reads the value with a missing one as +infinity, descending as -infinity scanned backwards, so every
-- ordering is one index scan from its keyset position, whatever the page.
CREATE INDEX dc_order_start_asc ON data_collection (coalesce(start_time, 'infinity'::timestamptz), id);
CREATE INDEX dc_order_resolution_asc ON data_collection (coalesce(best_resolution, 'Infinity'::float8), id);
CREATE INDEX dc_order_resolution_desc ON data_collection (coalesce(best_resolution, '-Infinity'::float8), id);
CREATE INDEX dc_order_completeness_asc ON data_collection (coalesce(best_completeness, 'Infinity'::float8), id);
CREATE INDEX dc_order_completeness_desc ON data_collection (coalesce(best_completeness, '-Infinity'::float8), id);
CREATE INDEX dc_order_cc_half_asc ON data_collection (coalesce(best_cc_half, 'Infinity'::float8), id);
CREATE INDEX dc_order_cc_half_desc ON data_collection (coalesce(best_cc_half, '-Infinity'::float8), id);
CREATE INDEX dc_order_i_over_sigma_asc ON data_collection (coalesce(best_mean_i_over_sig_i, 'Infinity'::float8), id);
CREATE INDEX dc_order_i_over_sigma_desc ON data_collection (coalesce(best_mean_i_over_sig_i, '-Infinity'::float8), id);

-- Kept by the store itself as well as by the loader: whatever writes processing_result (COPY, INSERT,
-- UPDATE, DELETE), the collections it touched get their best_* again, once per statement. A collection
-- left without a successful result gets NULLs (it sorts last).
CREATE FUNCTION refresh_best_of_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ids bigint[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(DISTINCT data_collection_id) INTO ids FROM changed_new;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT array_agg(DISTINCT data_collection_id) INTO ids FROM changed_old;
    ELSE
        SELECT array_agg(DISTINCT id) INTO ids FROM (
            SELECT data_collection_id AS id FROM changed_new
            UNION SELECT data_collection_id FROM changed_old) u;
    END IF;
    UPDATE data_collection dc
    SET best_resolution = (b.overall->>'resolution_high')::float8,
        best_space_group = b.space_group,
        best_completeness = (b.overall->>'completeness')::float8,
        best_cc_half = (b.overall->>'cc_half')::float8,
        best_mean_i_over_sig_i = (b.overall->>'mean_i_over_sig_i')::float8
    FROM unnest(ids) AS t(id)
    LEFT JOIN LATERAL (
        SELECT pr.overall, pr.space_group FROM processing_result pr
        WHERE pr.data_collection_id = t.id AND pr.status = 'SUCCESS'
          AND pr.overall->>'resolution_high' IS NOT NULL
        ORDER BY (pr.overall->>'resolution_high')::float8, pr.id LIMIT 1
    ) b ON true
    WHERE dc.id = t.id;
    RETURN NULL;
END $$;

CREATE TRIGGER processing_best_insert AFTER INSERT ON processing_result
    REFERENCING NEW TABLE AS changed_new FOR EACH STATEMENT EXECUTE FUNCTION refresh_best_of_changed();
CREATE TRIGGER processing_best_update AFTER UPDATE ON processing_result
    REFERENCING OLD TABLE AS changed_old NEW TABLE AS changed_new
    FOR EACH STATEMENT EXECUTE FUNCTION refresh_best_of_changed();
CREATE TRIGGER processing_best_delete AFTER DELETE ON processing_result
    REFERENCING OLD TABLE AS changed_old FOR EACH STATEMENT EXECUTE FUNCTION refresh_best_of_changed();
