-- Issue 16 (schema 1.2.0): characterisation, energy scans, XRF spectra, diffraction plans and dose.
-- Columns are named as the common model's fields (site_adapter.model), in canonical units, so rows
-- become records by name. A screening's outputs are one jsonb tree (outputs -> lattices, strategies ->
-- wedges -> sub_wedges), as processing_result keeps its shells: it is written and read whole.

ALTER TABLE data_collection ADD COLUMN dose double precision;  -- MGy absorbed

CREATE TABLE diffraction_plan (
    id                    bigint PRIMARY KEY,
    name                  text,
    experiment_kind       text,
    required_resolution   double precision,  -- Å
    required_completeness double precision,  -- %
    required_multiplicity double precision,
    anomalous             boolean,
    anomalous_scatterer   text,
    preferred_beam_size_x double precision,  -- µm
    preferred_beam_size_y double precision,  -- µm
    radiation_sensitivity double precision,
    number_of_positions   integer,
    exposure_time         double precision,  -- s
    energy                double precision,  -- eV
    forced_space_group    text,
    comments              text
);
ALTER TABLE sample ADD COLUMN diffraction_plan_id bigint REFERENCES diffraction_plan(id);
ALTER TABLE data_collection ADD COLUMN diffraction_plan_id bigint REFERENCES diffraction_plan(id);

CREATE TABLE screening (
    id                 bigint PRIMARY KEY,
    data_collection_id bigint NOT NULL REFERENCES data_collection(id),
    program            text,
    short_comments     text,
    comments           text,
    time               timestamptz,
    outputs            jsonb NOT NULL DEFAULT '[]'  -- [model.ScreeningOutput as an object, children nested]
);
CREATE INDEX screening_dc ON screening (data_collection_id);

CREATE TABLE energy_scan (
    id                        bigint PRIMARY KEY,
    session_id                bigint NOT NULL REFERENCES session(id),
    sample_id                 bigint REFERENCES sample(id),
    element                   text,
    edge                      text,
    start_energy              double precision,  -- eV
    end_energy                double precision,  -- eV
    peak_energy               double precision,  -- eV
    peak_f_prime              double precision,  -- electrons
    peak_f_double_prime       double precision,  -- electrons
    inflection_energy         double precision,  -- eV
    inflection_f_prime        double precision,  -- electrons
    inflection_f_double_prime double precision,  -- electrons
    exposure_time             double precision,  -- s
    transmission              double precision,  -- %
    beam_size_x               double precision,  -- µm
    beam_size_y               double precision,  -- µm
    flux                      double precision,  -- photons/s
    dose                      double precision,  -- MGy
    fluorescence_detector     text,
    start_time                timestamptz,
    end_time                  timestamptz,
    comments                  text,
    scan_file                 text,
    chooch_file               text,
    chooch_plot_file          text
);
CREATE INDEX energy_scan_session ON energy_scan (session_id);
CREATE INDEX energy_scan_sample ON energy_scan (sample_id);

CREATE TABLE xrf_spectrum (
    id             bigint PRIMARY KEY,
    session_id     bigint NOT NULL REFERENCES session(id),
    sample_id      bigint REFERENCES sample(id),
    energy         double precision,  -- eV
    exposure_time  double precision,  -- s
    transmission   double precision,  -- %
    beam_size_x    double precision,  -- µm
    beam_size_y    double precision,  -- µm
    flux           double precision,  -- photons/s
    start_time     timestamptz,
    end_time       timestamptz,
    comments       text,
    spectrum_file  text,
    scan_file      text,
    fitted_file    text,
    annotated_file text,
    plot_file      text,
    elements       text[] NOT NULL DEFAULT '{}'
);
CREATE INDEX xrf_spectrum_session ON xrf_spectrum (session_id);
CREATE INDEX xrf_spectrum_sample ON xrf_spectrum (sample_id);
