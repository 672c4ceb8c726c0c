-- The LIMS store's tables (issue 6). Written idempotent when the store had no version table;
-- kept so, which is harmless.
CREATE TABLE IF NOT EXISTS lims_construct (
    id              bigserial PRIMARY KEY,
    name            text NOT NULL UNIQUE,
    protein_name    text NOT NULL,
    uniprot_id      text,
    residue_start   integer,
    residue_end     integer,
    expression_host text,
    modifications   text
);
CREATE TABLE IF NOT EXISTS lims_purification_batch (
    id            bigserial PRIMARY KEY,
    code          text NOT NULL UNIQUE,
    construct_id  bigint NOT NULL REFERENCES lims_construct (id),
    purified_on   date,
    concentration double precision,   -- mg/ml
    buffer        text
);
CREATE TABLE IF NOT EXISTS lims_screen (
    id           bigserial PRIMARY KEY,
    name         text NOT NULL UNIQUE,
    manufacturer text
);
CREATE TABLE IF NOT EXISTS lims_condition (
    id        bigserial PRIMARY KEY,
    screen_id bigint NOT NULL REFERENCES lims_screen (id) ON DELETE CASCADE,
    position  text NOT NULL,          -- well of the screen block, e.g. B7
    ph        double precision,
    UNIQUE (screen_id, position)
);
CREATE TABLE IF NOT EXISTS lims_component (
    condition_id  bigint NOT NULL REFERENCES lims_condition (id) ON DELETE CASCADE,
    ordinal       integer NOT NULL,
    name          text NOT NULL,
    cas_number    text,
    concentration double precision,   -- in `unit`: M, %w/v, %v/v or mg/ml
    unit          text,
    role          text,
    ph            double precision,
    PRIMARY KEY (condition_id, ordinal)
);
CREATE INDEX IF NOT EXISTS lims_component_name ON lims_component (lower(name));
CREATE INDEX IF NOT EXISTS lims_component_cas ON lims_component (cas_number);
CREATE TABLE IF NOT EXISTS lims_plate (
    id          bigserial PRIMARY KEY,
    barcode     text NOT NULL UNIQUE,
    plate_type  text,
    screen_id   bigint REFERENCES lims_screen (id),
    method      text,                 -- mmCIF _exptl_crystal_grow.method
    temperature double precision,     -- K
    setup_date  date
);
CREATE TABLE IF NOT EXISTS lims_drop (
    id           bigserial PRIMARY KEY,
    plate_id     bigint NOT NULL REFERENCES lims_plate (id) ON DELETE CASCADE,
    well         text NOT NULL,
    drop_no      integer NOT NULL,
    condition_id bigint REFERENCES lims_condition (id),
    batch_id     bigint REFERENCES lims_purification_batch (id),
    UNIQUE (plate_id, well, drop_no)
);
-- Crystal UUIDs and pin barcodes are deliberately not unique: two LIMS rows naming one crystal are a
-- conflict the service reports (issue 6: "conflicting records for one crystal: reported, not merged").
CREATE TABLE IF NOT EXISTS lims_crystal (
    id              bigserial PRIMARY KEY,
    crystal_uuid    uuid,
    pin_barcode     text,
    drop_id         bigint NOT NULL REFERENCES lims_drop (id) ON DELETE CASCADE,
    harvested_on    date,
    cryo_protectant text,
    origin          text
);
CREATE UNIQUE INDEX IF NOT EXISTS lims_crystal_identity
    ON lims_crystal (drop_id, (coalesce(crystal_uuid::text, '')), (coalesce(pin_barcode, '')));
CREATE INDEX IF NOT EXISTS lims_crystal_uuid ON lims_crystal (crystal_uuid);
CREATE INDEX IF NOT EXISTS lims_crystal_pin ON lims_crystal (pin_barcode);
CREATE TABLE IF NOT EXISTS lims_soak (
    crystal_id       bigint NOT NULL REFERENCES lims_crystal (id) ON DELETE CASCADE,
    ordinal          integer NOT NULL,
    compound         text NOT NULL,
    ccd_id           text,            -- PDB Chemical Component Dictionary id
    smiles           text,
    concentration    double precision, -- mM
    unit             text,
    duration_minutes double precision,
    PRIMARY KEY (crystal_id, ordinal)
);
CREATE INDEX IF NOT EXISTS lims_soak_ccd ON lims_soak (ccd_id);
