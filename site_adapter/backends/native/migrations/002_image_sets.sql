-- Raw-image index (issue 4): every file the indexer saw, and the sweeps ("image sets") they form,
-- each linked to its data collection when one matches by directory, template and image range.

CREATE TABLE image_set (
    id                 bigserial PRIMARY KEY,
    data_collection_id bigint REFERENCES data_collection(id) ON DELETE SET NULL,
    directory          text NOT NULL,          -- where the files are now
    original_directory text,                   -- the directory as recorded at collection time (path map)
    template           text NOT NULL,          -- e.g. thau_3_2_####.cbf (compression suffix left out)
    first_image        integer NOT NULL,
    last_image         integer NOT NULL,
    image_count        integer NOT NULL,
    missing            integer[] NOT NULL DEFAULT '{}',
    duplicates         text[] NOT NULL DEFAULT '{}',
    total_bytes        bigint NOT NULL DEFAULT 0,
    verified           boolean,                -- null: Content-MD5 not checked
    format             text,                   -- miniCBF | imgCIF | NXmx
    kind               text NOT NULL,          -- rotation | grid | still
    updated_at         timestamptz NOT NULL DEFAULT now(),
    UNIQUE (directory, template, first_image)
);
CREATE INDEX image_set_dc ON image_set (data_collection_id);

CREATE TABLE image_file (
    id           bigserial PRIMARY KEY,
    path         text NOT NULL UNIQUE,
    directory    text NOT NULL,
    name         text NOT NULL,
    size         bigint,
    mtime_ns     bigint,
    format       text,
    image_number integer,
    header       jsonb,                        -- CbfHeader.to_dict(): canonical units
    pixels       jsonb,                        -- pixel summary when decoded (sum, max, gaps, bad, overloads)
    verified     boolean,
    error        text,                         -- why the file could not be indexed; null when indexed
    image_set_id bigint REFERENCES image_set(id) ON DELETE SET NULL,
    indexed_at   timestamptz NOT NULL DEFAULT now(),
    gone_at      timestamptz                   -- first scan that no longer found the file (deleted, on tape);
                                               -- its metadata is kept: catching it is the point

);
CREATE INDEX image_file_directory ON image_file (directory);
CREATE INDEX image_file_set ON image_file (image_set_id, image_number);
CREATE INDEX dc_file_template ON data_collection (file_template);
