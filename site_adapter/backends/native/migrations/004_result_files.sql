-- Issue 16: the files a processing program wrote (logs, results, graphs), the messages it left, and
-- the crystal snapshots of a data collection. Paths are as the facility records them; the site's file
-- roots decide what it serves (docs/files.md). Each is as visible as its data collection.
CREATE TABLE result_file (
    id                   bigserial PRIMARY KEY,
    processing_result_id bigint NOT NULL REFERENCES processing_result(id) ON DELETE CASCADE,
    name                 text NOT NULL,          -- file name, e.g. fast_dp.log
    directory            text,                   -- where the facility wrote it
    kind                 text,                   -- Log | Result | Graph | Debug | Input
    importance           integer,                -- higher is more important, within one result and kind
    recorded             timestamptz
);
CREATE INDEX result_file_result ON result_file (processing_result_id);

CREATE TABLE program_message (
    id                   bigserial PRIMARY KEY,
    processing_result_id bigint NOT NULL REFERENCES processing_result(id) ON DELETE CASCADE,
    severity             text NOT NULL,          -- ERROR | WARNING | INFO
    message              text,
    description          text,
    recorded             timestamptz
);
CREATE INDEX program_message_result ON program_message (processing_result_id);

CREATE TABLE snapshot (
    data_collection_id   bigint NOT NULL REFERENCES data_collection(id) ON DELETE CASCADE,
    position             smallint NOT NULL CHECK (position BETWEEN 1 AND 4),
    path                 text NOT NULL,
    PRIMARY KEY (data_collection_id, position)
);
