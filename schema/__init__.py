"""The contract between sites and the hub: the SDL, global ids, cursors, units and error codes.

Imports only the standard library and graphql-core (mx_schema.postgres alone also asyncpg, issue 14);
both sides depend on it and it depends on neither.
"""

from pathlib import Path

if __name__ == "schema":  # imported by its folder name: be mx_schema, not a second copy
    from mx_schema.aliases import alias

    alias("schema", "mx_schema")

SCHEMA_VERSION = "1.2.0"
SDL_PATH = Path(__file__).with_name("mxhub.graphql")


def read_sdl() -> str:
    return SDL_PATH.read_text(encoding="utf-8")
