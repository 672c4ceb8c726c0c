"""The checked-in SDL is the contract: the served schema must equal it, and every number has a unit."""

from graphql import GraphQLFloat, GraphQLInt, build_schema, get_named_type, is_object_type

from mx_schema import read_sdl
from site_adapter.graphql.schema import schema


def test_served_schema_equals_checked_in_sdl():
    assert schema.as_str() + "\n" == read_sdl(), (
        'regenerate: python -c "from site_adapter.graphql.schema import schema; print(schema.as_str())" > schema/mxhub.graphql'
    )


async def test_service_sdl_is_the_file(esrf_gql):
    body = await esrf_gql("{ _service { sdl } }")
    assert body["data"]["_service"]["sdl"] + "\n" == read_sdl()


def _sdl_schema():
    sdl = read_sdl()
    prelude = (
        "directive @link(url: String!, import: [String]) repeatable on SCHEMA\n"
        "directive @key(fields: String!, resolvable: Boolean = true) repeatable on OBJECT | INTERFACE\n"
        "directive @shareable repeatable on OBJECT | FIELD_DEFINITION\n"
    )
    return build_schema(prelude + sdl)


def test_every_numeric_field_states_its_unit():
    missing = []
    for name, t in _sdl_schema().type_map.items():
        if name.startswith("_") or name.startswith("__") or not is_object_type(t):
            continue
        for field_name, field in t.fields.items():
            if get_named_type(field.type) in (GraphQLFloat, GraphQLInt):
                if "Unit:" not in (field.description or ""):
                    missing.append(f"{name}.{field_name}")
    assert missing == []


def test_contract_fields_exist():
    s = _sdl_schema()
    dc = s.type_map["DataCollection"].fields
    for f in [
        "id",
        "site",
        "localId",
        "experimentType",
        "startTime",
        "imageDirectory",
        "fileTemplate",
        "startImageNumber",
        "numberOfImages",
        "wavelength",
        "detectorDistance",
        "beamCentreX",
        "beamCentreY",
        "axisStart",
        "axisRange",
        "exposureTime",
        "transmission",
        "flux",
        "session",
        "sample",
        "detector",
        "processing",
        "bestProcessing",
    ]:
        assert f in dc, f
    filt = s.type_map["DataCollectionFilter"].fields
    for f in [
        "sampleName",
        "sampleBarcode",
        "crystalUuid",
        "proteinAcronym",
        "proteinName",
        "uniprotId",
        "proposal",
        "visit",
        "beamline",
        "experimentType",
        "startAfter",
        "startBefore",
        "resolutionBetterThan",
        "spaceGroup",
    ]:
        assert f in filt, f
    for root in ["node", "dataCollections", "samples", "proteins", "sessions", "proposals"]:
        assert root in s.query_type.fields
