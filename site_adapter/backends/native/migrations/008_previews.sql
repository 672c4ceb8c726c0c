-- Diffraction previews (issue 22): small pictures of a sweep's first, middle and last frames (and a grid
-- scan's heat map of total counts), made at index time and kept in the site store, so they outlive the
-- raw files. Each image's total counts, stored when its pixels were decoded, feed the per-image chart.

CREATE TABLE image_preview (
    image_set_id  bigint NOT NULL REFERENCES image_set(id) ON DELETE CASCADE,
    kind          text NOT NULL,               -- frame | heatmap
    image_number  integer NOT NULL,            -- the frame shown; 0 for a heat map
    size          integer NOT NULL,            -- longest side asked for, px (512 | 1024)
    media_type    text NOT NULL,               -- image/png
    width         integer NOT NULL,            -- px of the picture
    height        integer NOT NULL,
    binning       integer NOT NULL,            -- detector pixels per picture pixel along each axis
    source_path   text,                        -- the file it was made from
    source_mtime_ns bigint,                    -- that file's mtime when made: a changed file is redone
    data          bytea NOT NULL,
    made_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (image_set_id, kind, image_number, size)
);

ALTER TABLE image_file ADD COLUMN total_counts bigint;  -- sum of counts >= 0 over the frame, when decoded
