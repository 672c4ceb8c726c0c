"""The LIMS's checked-in SDL (schema/lims.graphql) is what it serves, and every number states its unit."""

from pathlib import Path

import httpx
from graphql import (
    GraphQLFloat,
    GraphQLInt,
    build_schema,
    get_named_type,
    is_input_object_type,
    is_object_type,
)

from site_adapter.lims.schema import schema

SDL = Path(__file__).resolve().parents[2] / "schema" / "lims.graphql"


def test_lims_schema_equals_checked_in_sdl():
    assert schema.as_str() + "\n" == SDL.read_text(encoding="utf-8"), (
        'regenerate: python -c "from site_adapter.lims.schema import schema; print(schema.as_str())" > schema/lims.graphql'
    )


async def test_service_sdl_is_the_file(empty_pg_dsn):
    from site_adapter.lims.app import create_lims_app
    from site_adapter.lims.store import LimsStore

    store = LimsStore(empty_pg_dsn)
    await store.start()
    try:
        app = create_lims_app(store, name="lims", manage_store=False)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://lims.test"
        ) as client:
            body = (
                await client.post(
                    "/graphql", json={"query": "{ _service { sdl } limsInfo { name kind schemaVersion } }"}
                )
            ).json()
    finally:
        await store.close()
    assert body["data"]["_service"]["sdl"] + "\n" == SDL.read_text(encoding="utf-8")
    assert body["data"]["limsInfo"] == {"name": "lims", "kind": "lims", "schemaVersion": "1.1.0"}


def _schema():
    prelude = (
        "directive @link(url: String!, import: [String]) repeatable on SCHEMA\n"
        "directive @key(fields: String!, resolvable: Boolean = true) repeatable on OBJECT | INTERFACE\n"
        "directive @external on OBJECT | FIELD_DEFINITION\n"
        "directive @requires(fields: String!) on FIELD_DEFINITION\n"
        "directive @shareable repeatable on OBJECT | FIELD_DEFINITION\n"
    )
    return build_schema(prelude + SDL.read_text(encoding="utf-8"))


def test_every_numeric_field_states_its_unit():
    missing = []
    for name, t in _schema().type_map.items():
        if name.startswith("_") or not (is_object_type(t) or is_input_object_type(t)):
            continue
        for field_name, field in t.fields.items():
            if get_named_type(field.type) in (GraphQLFloat, GraphQLInt) and "Unit:" not in (
                field.description or ""
            ):
                missing.append(f"{name}.{field_name}")
    assert missing == []


def test_contract_crystallisation_fields_exist():
    s = _schema()
    c = s.type_map["Crystallisation"].fields
    for f in [
        "method",
        "temperature",
        "ph",
        "setupDate",
        "plate",
        "well",
        "drop",
        "screen",
        "components",
        "soaks",
        "cryoProtectant",
        "source",
        "crystalUuid",
        "pinBarcode",
        "construct",
        "conflicts",
    ]:
        assert f in c, f
    assert set(s.type_map["Plate"].fields) >= {"barcode", "type"}
    assert set(s.type_map["Component"].fields) >= {"name", "casNumber", "concentration", "unit", "role", "ph"}
    assert set(s.type_map["Soak"].fields) >= {
        "compound",
        "ccdId",
        "smiles",
        "concentration",
        "unit",
        "durationMinutes",
    }
    assert "crystallisation" in s.type_map["Sample"].fields
    assert set(s.type_map["CrystallisationMatches"].fields) >= {
        "crystalUuids",
        "pinBarcodes",
        "count",
        "truncated",
    }
