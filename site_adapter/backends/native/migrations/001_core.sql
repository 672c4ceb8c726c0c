-- The native site store: ISPyB's shape, canonical units, indexes for every CONTRACT.md filter.
-- Values are stored already in the units the schema serves (see site_adapter/model.py).

CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE proposal (
    id          bigint PRIMARY KEY,
    code        text NOT NULL UNIQUE,          -- e.g. cm14451
    title       text
);

CREATE TABLE person (
    id          bigint PRIMARY KEY,
    login       text NOT NULL UNIQUE,
    name        text
);

CREATE TABLE proposal_member (
    proposal_id bigint NOT NULL REFERENCES proposal(id),
    person_id   bigint NOT NULL REFERENCES person(id),
    PRIMARY KEY (proposal_id, person_id)
);

CREATE TABLE session (
    id           bigint PRIMARY KEY,
    proposal_id  bigint NOT NULL REFERENCES proposal(id),
    visit_number integer,
    visit        text NOT NULL UNIQUE,         -- e.g. cm14451-1
    beamline     text,
    start_time   timestamp,
    end_time     timestamp
);
CREATE INDEX session_proposal ON session (proposal_id);
CREATE INDEX session_beamline ON session (beamline);

CREATE TABLE session_member (
    session_id  bigint NOT NULL REFERENCES session(id),
    person_id   bigint NOT NULL REFERENCES person(id),
    role        text,
    PRIMARY KEY (session_id, person_id)
);

CREATE TABLE protein (
    id            bigint PRIMARY KEY,
    proposal_id   bigint REFERENCES proposal(id),
    acronym       text,
    name          text,
    uniprot_ids   text[] NOT NULL DEFAULT '{}',
    sequence_hash text
);
CREATE INDEX protein_acronym ON protein (acronym);
CREATE INDEX protein_name_trgm ON protein USING gin (lower(name) gin_trgm_ops);
CREATE INDEX protein_uniprot ON protein USING gin (uniprot_ids);

CREATE TABLE crystal (
    id           bigint PRIMARY KEY,
    protein_id   bigint REFERENCES protein(id),
    uuid         text,
    space_group  text,
    cell_a double precision, cell_b double precision, cell_c double precision,
    cell_alpha double precision, cell_beta double precision, cell_gamma double precision
);
CREATE INDEX crystal_uuid ON crystal (uuid);
CREATE INDEX crystal_protein ON crystal (protein_id);

CREATE TABLE sample (
    id             bigint PRIMARY KEY,
    crystal_id     bigint REFERENCES crystal(id),
    protein_id     bigint REFERENCES protein(id),  -- the crystal's protein, kept here so filters need one join
    proposal_id    bigint REFERENCES proposal(id),
    name           text,
    barcode        text,
    container_code text,
    position       integer,
    external_ids   jsonb NOT NULL DEFAULT '[]'     -- [{"system":..,"kind":..,"value":..}]
);
CREATE INDEX sample_name ON sample (name);
CREATE INDEX sample_barcode ON sample (barcode);
CREATE INDEX sample_crystal ON sample (crystal_id);
CREATE INDEX sample_protein ON sample (protein_id);

CREATE TABLE detector (
    id                 bigint PRIMARY KEY,
    manufacturer       text,
    model              text,
    serial_number      text,
    pixel_size_x       double precision,   -- mm
    pixel_size_y       double precision,   -- mm
    number_of_pixels_x integer,
    number_of_pixels_y integer,
    sensor_material    text,
    sensor_thickness   double precision    -- mm
);

CREATE TABLE data_collection_group (
    id              bigint PRIMARY KEY,
    session_id      bigint REFERENCES session(id),
    sample_id       bigint REFERENCES sample(id),
    experiment_type text,
    start_time      timestamp,
    end_time        timestamp
);

CREATE TABLE data_collection (
    id                 bigint PRIMARY KEY,
    group_id           bigint REFERENCES data_collection_group(id),
    session_id         bigint REFERENCES session(id),
    sample_id          bigint REFERENCES sample(id),
    detector_id        bigint REFERENCES detector(id),
    -- Denormalised for filtering: copied from the sample and session when loaded.
    protein_id         bigint REFERENCES protein(id),
    proposal_id        bigint REFERENCES proposal(id),
    beamline           text,
    experiment_type    text,
    start_time         timestamp,
    end_time           timestamp,
    run_status         text,
    image_directory    text,
    file_template      text,
    start_image_number integer,
    number_of_images   integer,
    wavelength         double precision,   -- Å
    detector_distance  double precision,   -- mm
    beam_centre_x      double precision,   -- mm
    beam_centre_y      double precision,   -- mm
    axis_start         double precision,   -- degrees
    axis_end           double precision,   -- degrees
    axis_range         double precision,   -- degrees
    overlap            double precision,   -- degrees
    rotation_axis      text,
    exposure_time      double precision,   -- s
    transmission       double precision,   -- %
    flux               double precision,   -- photons/s
    beam_size_x        double precision,   -- µm
    beam_size_y        double precision,   -- µm
    resolution         double precision,   -- Å at the detector edge
    detector_2theta    double precision,
    kappa_start        double precision,
    phi_start          double precision,
    chi_start          double precision,
    omega_start        double precision,
    comments           text,
    -- Best successful processing result (smallest overall high-resolution limit), kept by the loader.
    best_resolution    double precision,
    best_space_group   text,
    -- Keyset order: newest first; a missing start time sorts last.
    sort_time          timestamp GENERATED ALWAYS AS (coalesce(start_time, '0001-01-01 00:00:00'::timestamp)) STORED
);
CREATE INDEX dc_order ON data_collection (sort_time DESC, id DESC);
CREATE INDEX dc_sample ON data_collection (sample_id, sort_time DESC, id DESC);
CREATE INDEX dc_protein ON data_collection (protein_id, sort_time DESC, id DESC);
CREATE INDEX dc_session ON data_collection (session_id, sort_time DESC, id DESC);
CREATE INDEX dc_proposal ON data_collection (proposal_id, sort_time DESC, id DESC);
CREATE INDEX dc_beamline ON data_collection (beamline, sort_time DESC, id DESC);
CREATE INDEX dc_experiment_type ON data_collection (experiment_type, sort_time DESC, id DESC);
CREATE INDEX dc_best_resolution ON data_collection (best_resolution);
CREATE INDEX dc_best_space_group ON data_collection (upper(replace(best_space_group, ' ', '')));
CREATE INDEX dc_group ON data_collection (group_id);
CREATE INDEX dc_image_directory ON data_collection (image_directory);

CREATE TABLE processing_result (
    id                 bigint PRIMARY KEY,
    data_collection_id bigint NOT NULL REFERENCES data_collection(id),
    program            text,
    status             text NOT NULL,      -- SUCCESS | FAILED | RUNNING | UNKNOWN
    space_group        text,
    cell_a double precision, cell_b double precision, cell_c double precision,
    cell_alpha double precision, cell_beta double precision, cell_gamma double precision,
    start_time         timestamp,
    end_time           timestamp,
    anomalous          boolean,
    -- One row per shell, as jsonb objects with model.ShellStatistics' field names (canonical units).
    overall            jsonb,
    inner_shell        jsonb,
    outer_shell        jsonb
);
CREATE INDEX processing_dc ON processing_result (data_collection_id);
