-- Issue 19: identifiers a data set is cited, deposited and archived by. A DOI belongs to exactly one
-- session, data set (collection group) or collection; a PDB entry to a protein or a processing result
-- (pdb_id NULL: a model with no PDB code, e.g. an AlphaFold prediction); archive links to a collection.
CREATE TABLE doi (
    id                       bigserial PRIMARY KEY,
    doi                      text NOT NULL,         -- bare name, e.g. 10.15151/ESRF-ES-90632078
    licence                  text,                  -- SPDX id or licence URL
    open_from                timestamptz,           -- when the data become open (end of embargo)
    session_id               bigint REFERENCES session(id),
    data_collection_group_id bigint REFERENCES data_collection_group(id),
    data_collection_id       bigint REFERENCES data_collection(id),
    CHECK (num_nonnulls(session_id, data_collection_group_id, data_collection_id) = 1)
);
CREATE UNIQUE INDEX doi_session ON doi (session_id) WHERE session_id IS NOT NULL;
CREATE UNIQUE INDEX doi_group ON doi (data_collection_group_id) WHERE data_collection_group_id IS NOT NULL;
CREATE UNIQUE INDEX doi_collection ON doi (data_collection_id) WHERE data_collection_id IS NOT NULL;

CREATE TABLE pdb_entry (
    id                   bigserial PRIMARY KEY,
    pdb_id               text CHECK (pdb_id = upper(pdb_id)),
    name                 text,
    title                text,
    source               text,
    resolution           double precision,      -- Å
    protein_id           bigint REFERENCES protein(id),
    processing_result_id bigint REFERENCES processing_result(id),
    CHECK (num_nonnulls(protein_id, processing_result_id) = 1)
);
CREATE INDEX pdb_entry_protein ON pdb_entry (protein_id);
CREATE INDEX pdb_entry_result ON pdb_entry (processing_result_id);
CREATE INDEX pdb_entry_code ON pdb_entry (pdb_id);

CREATE TABLE archive_link (
    id                 bigserial PRIMARY KEY,
    data_collection_id bigint NOT NULL REFERENCES data_collection(id),
    url                text NOT NULL,
    kind               text,
    open_from          timestamptz
);
CREATE INDEX archive_link_collection ON archive_link (data_collection_id);
