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
