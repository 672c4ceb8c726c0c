-- The hub's registry: every site adapter and LIMS source it fans out to.
CREATE TABLE IF NOT EXISTS site (
    name           text PRIMARY KEY,
    url            text NOT NULL,
    kind           text NOT NULL DEFAULT 'site',   -- site | lims
    schema_version text,
    backend        text,
    sdl            text,
    status         text NOT NULL DEFAULT 'unknown', -- up | down | unknown
    latency_ms     double precision,
    last_seen      timestamptz,
    last_error     text,
    registered_at  timestamptz NOT NULL DEFAULT now()
);
