-- Issue 17: totalCount at 1,000,000 collections within 50 ms. A native count reads at most 20,001 matches
-- (site_adapter/backends/native/counting.py); these indexes let it read them from an index alone (an
-- index-only scan, no table rows) for the filters whose existing index could not, measured with
-- EXPLAIN ANALYZE by bench/bench_counts.py.

-- proteinAcronym/proteinName/uniprotId with resolutionBetterThan (the issue's "thermolysin better than
-- 1.6 Å": 12,488 matches, a parallel scan of the whole table, 570 ms): one range per protein.
CREATE INDEX dc_protein_resolution ON data_collection (protein_id, best_resolution);

-- spaceGroup: an expression index serves an index-only scan only when the column it reads is in it too
-- (20,001 matches: a bitmap heap scan of 94 ms before).
DROP INDEX dc_best_space_group;
CREATE INDEX dc_best_space_group ON data_collection (upper(replace(best_space_group, ' ', '')))
    INCLUDE (best_space_group);

-- startAfter/startBefore: a sort_time range with start_time present (queries.py), from one index.
CREATE INDEX dc_time_range ON data_collection (sort_time) INCLUDE (start_time);

-- beamline with experimentType and a time range, a facility's everyday question (35,162 matches of
-- 1M: a bitmap heap scan of 177 ms before).
CREATE INDEX dc_beamline_type ON data_collection (beamline, experiment_type, sort_time) INCLUDE (start_time);

-- spaceGroup with a time range (11,198 matches: two bitmaps and the table rows, 37 ms before).
CREATE INDEX dc_space_group_time ON data_collection (upper(replace(best_space_group, ' ', '')), sort_time)
    INCLUDE (best_space_group, start_time);

-- The estimate past the cap is the planner's: tell it that experiment types and space groups go together
-- (screening and mesh collections have no processing, so no space group): Characterization + P6122 was
-- estimated at 3,981 collections for none.
CREATE STATISTICS dc_type_space_group (mcv, dependencies)
    ON experiment_type, (upper(replace(best_space_group, ' ', ''))) FROM data_collection;
ANALYZE data_collection;
