-- Issue 16: grid scans, per-image quality, X-ray centring, and what a processing result led to
-- (its integrations, molecular replacement runs, phasing). Columns carry site_adapter.model's field
-- names (model.from_row reads them by name) and its canonical units: µm, Å, mm, fractions 0-1.
CREATE TABLE grid_scan (
    id                  bigint PRIMARY KEY,
    data_collection_id  bigint NOT NULL UNIQUE REFERENCES data_collection(id),
    steps_x             integer,
    steps_y             integer,
    step_size_x         double precision,  -- µm
    step_size_y         double precision,  -- µm
    orientation         text,              -- horizontal | vertical
    snaked              boolean,
    microns_per_pixel_x double precision,
    microns_per_pixel_y double precision,
    snapshot_offset_x   double precision,  -- pixels
    snapshot_offset_y   double precision,
    mesh_angle          double precision   -- degrees
);

CREATE TABLE image_quality (
    data_collection_id      bigint NOT NULL REFERENCES data_collection(id),
    image_number            integer NOT NULL,
    spot_total              integer,
    in_resolution_total     integer,
    good_bragg_candidates   integer,
    ice_rings               integer,
    method1_resolution      double precision,  -- Å
    method2_resolution      double precision,  -- Å
    max_unit_cell           double precision,  -- Å
    total_integrated_signal double precision,
    dozor_score             double precision,
    PRIMARY KEY (data_collection_id, image_number)
);

CREATE TABLE xray_centring_result (
    id                 bigint PRIMARY KEY,
    data_collection_id bigint NOT NULL REFERENCES data_collection(id),
    status             text,  -- SUCCESS | FAILED | PENDING
    kind               text,  -- 2d | 3d
    centre_of_mass_x double precision, centre_of_mass_y double precision, centre_of_mass_z double precision,
    max_voxel_x integer, max_voxel_y integer, max_voxel_z integer,
    number_of_voxels   integer,
    total_count        double precision,
    bounding_box_min_x double precision, bounding_box_max_x double precision,
    bounding_box_min_y double precision, bounding_box_max_y double precision,
    bounding_box_min_z double precision, bounding_box_max_z double precision
);
CREATE INDEX xray_centring_dc ON xray_centring_result (data_collection_id, id);

CREATE TABLE integration (
    id                        bigint PRIMARY KEY,
    processing_result_id      bigint NOT NULL REFERENCES processing_result(id),
    data_collection_id        bigint NOT NULL REFERENCES data_collection(id),
    program                   text,
    start_image_number        integer,
    end_image_number          integer,
    refined_detector_distance double precision,  -- mm
    refined_beam_centre_x     double precision,  -- mm
    refined_beam_centre_y     double precision,  -- mm
    cell_a double precision, cell_b double precision, cell_c double precision,
    cell_alpha double precision, cell_beta double precision, cell_gamma double precision,
    rotation_axis_x double precision, rotation_axis_y double precision, rotation_axis_z double precision,
    anomalous                 boolean
);
CREATE INDEX integration_result ON integration (processing_result_id, id);

CREATE TABLE mr_run (
    id                   bigint PRIMARY KEY,
    processing_result_id bigint NOT NULL REFERENCES processing_result(id),
    program              text,
    status               text NOT NULL,  -- SUCCESS | FAILED | RUNNING | UNKNOWN
    message              text,
    r_start double precision, r_end double precision,            -- fraction 0-1
    r_free_start double precision, r_free_end double precision,  -- fraction 0-1
    llg                  double precision,
    tfz                  double precision,
    space_group          text,
    start_time           timestamptz,
    end_time             timestamptz,
    log_files            text[] NOT NULL DEFAULT '{}'
);
CREATE INDEX mr_run_result ON mr_run (processing_result_id, id);

CREATE TABLE phasing (
    id                   bigint PRIMARY KEY,
    processing_result_id bigint NOT NULL REFERENCES processing_result(id),
    program              text,
    status               text NOT NULL,
    method               text,
    space_group          text,
    resolution_low       double precision,  -- Å
    resolution_high      double precision,  -- Å
    figure_of_merit      double precision,  -- fraction 0-1
    pseudo_free_cc       double precision,  -- %
    enantiomorph         boolean,
    solvent_content      double precision,  -- fraction 0-1
    start_time           timestamptz,
    end_time             timestamptz
);
CREATE INDEX phasing_result ON phasing (processing_result_id, id);
