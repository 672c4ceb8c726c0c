"""Importers against a real PostgreSQL store: the documented example files import, bad rows are reported
with their line and reason while the good rows import, and re-importing changes nothing."""

from pathlib import Path

from site_adapter.lims.importers import import_crims_csv, import_crims_json, import_file, import_rockmaker_xml
from site_adapter.lims.keys import PlateWellDrop

EXAMPLES = Path(__file__).resolve().parents[3] / "docs" / "lims-examples"

ENTITIES = """query($r: [_Any!]!) { _entities(representations: $r) { ... on Sample { id crystallisation {
  method temperature ph setupDate plate { barcode type } well drop screen condition
  components { name casNumber concentration unit role ph } soaks { compound ccdId smiles concentration unit durationMinutes }
  cryoProtectant source crystalUuid pinBarcode construct { name proteinName uniprotId residueStart residueEnd }
  purification { code concentration } conflicts } } } }"""


async def _import_examples(store):
    async with store.pool.acquire() as conn:
        xml = await import_file(conn, EXAMPLES / "hewl-optimisation.rockmaker.xml")
        csv_ = await import_file(conn, EXAMPLES / "crims-plate-export.csv")
        js = await import_file(conn, EXAMPLES / "crims-plate-export.json")
    return xml, csv_, js


async def test_example_files_import_and_are_served(empty_lims, empty_lims_gql):
    xml, csv_, js = await _import_examples(empty_lims)
    assert (xml.imported, xml.errors) == (3, [])
    assert (csv_.imported, csv_.errors) == (3, [])
    assert (js.imported, js.errors) == (1, [])
    body = await empty_lims_gql(
        ENTITIES,
        {
            "r": [
                {"__typename": "Sample", "id": "s1", "crystalUuid": "5b1f7a52-3c1e-4c8e-9a55-1b7d2f0e8c11"},
                {"__typename": "Sample", "id": "s3", "pinBarcode": "EXPIN0000003"},
                {"__typename": "Sample", "id": "s4", "plateWellDrop": "EXPL000003/C04/1"},
            ]
        },
    )
    assert "errors" not in body, body
    hewl, tryp, gi = (e["crystallisation"] for e in body["data"]["_entities"])
    assert hewl["screen"] == "HEWL optimisation (example)" and hewl["condition"] == "A1" and hewl["ph"] == 4.6
    assert hewl["components"] == [
        {
            "name": "sodium chloride",
            "casNumber": "7647-14-5",
            "concentration": 1.0,
            "unit": "M",
            "role": "precipitant",
            "ph": None,
        },
        {
            "name": "sodium acetate",
            "casNumber": "127-09-3",
            "concentration": 0.1,
            "unit": "M",
            "role": "buffer",
            "ph": 4.6,
        },
    ]
    assert hewl["soaks"] == [
        {
            "compound": "N-acetyl-beta-D-glucosamine",
            "ccdId": "NAG",
            "smiles": None,
            "concentration": 50.0,
            "unit": "mM",
            "durationMinutes": 60.0,
        }
    ]
    assert hewl["construct"] == {
        "name": "HEWL mature chain",
        "proteinName": "Lysozyme C (hen egg white)",
        "uniprotId": "P00698",
        "residueStart": 19,
        "residueEnd": 147,
    }
    assert (hewl["temperature"], hewl["setupDate"], hewl["source"], hewl["conflicts"]) == (
        293.0,
        "2024-03-04",
        "crims",
        [],
    )
    assert tryp["temperature"] == 277.0 and tryp["screen"] == "custom conditions of plate EXPL000002"
    assert [(c["name"], c["concentration"], c["unit"]) for c in tryp["components"]] == [
        ("polyethylene glycol 8000", 25.0, "%w/v"),
        ("ammonium sulfate", 0.2, "M"),
        ("HEPES", 0.1, "M"),
    ]
    assert tryp["soaks"][0]["ccdId"] == "BEN" and tryp["soaks"][0]["smiles"] == "NC(=N)c1ccccc1"
    # 100 mM HEPES and 10 mM MgCl2 are stored in M; the well C04 is read as C4.
    assert [(c["name"], c["concentration"]) for c in gi["components"]] == [
        ("ammonium sulfate", 1.2),
        ("HEPES", 0.1),
        ("magnesium chloride hexahydrate", 0.01),
    ]
    assert (gi["well"], gi["ph"], gi["purification"]) == (
        "C4",
        7.0,
        {"code": "GI-2024-05", "concentration": 30.0},
    )


async def test_reimport_is_idempotent(empty_lims):
    await _import_examples(empty_lims)
    before = await empty_lims.counts()
    xml, csv_, js = await _import_examples(empty_lims)
    assert xml.ok and csv_.ok and js.ok and csv_.warnings == []
    assert await empty_lims.counts() == before == {"crystals": 4, "plates": 3, "screens": 3, "soaks": 3}


BAD_XML = """<?xml version="1.0"?>
<screen name="Bad screen">
  <ingredients>
    <ingredient><name>Sodium chloride</name><casNumbers><casNumber>7647-14-5</casNumber></casNumbers>
      <stocks><stock><localID>1</localID><stockConcentration>5</stockConcentration><units>M</units></stock></stocks></ingredient>
    <ingredient><name>Mystery salt</name><casNumbers><casNumber>1234-56-7</casNumber></casNumbers>
      <stocks><stock><localID>2</localID><stockConcentration>5</stockConcentration><units>M</units></stock></stocks></ingredient>
  </ingredients>
  <conditions>
    <condition><conditionIngredient><concentration>1.0</concentration><type>Precipitant</type><stockLocalID>1</stockLocalID></conditionIngredient></condition>
    <condition><conditionIngredient><concentration>lots</concentration><type>Precipitant</type><stockLocalID>1</stockLocalID></conditionIngredient></condition>
    <condition><conditionIngredient><concentration>0.5</concentration><type>Precipitant</type><stockLocalID>9</stockLocalID></conditionIngredient></condition>
    <condition><conditionIngredient><concentration>0.5</concentration><type>Salt</type><stockLocalID>2</stockLocalID></conditionIngredient></condition>
    <condition><conditionIngredient><concentration>1.5</concentration><type>Precipitant</type><stockLocalID>1</stockLocalID></conditionIngredient></condition>
  </conditions>
</screen>
"""


async def test_rockmaker_bad_conditions_are_reported_by_line(empty_lims):
    async with empty_lims.pool.acquire() as conn:
        report = await import_rockmaker_xml(conn, BAD_XML, source="bad.xml")
        positions = [
            r["position"] for r in await conn.fetch("SELECT position FROM lims_condition ORDER BY position")
        ]
    assert report.imported == 2
    assert [(e.line, e.reason.split(":")[0]) for e in report.errors] == [
        (11, "condition A2"),
        (12, "condition A3"),
        (13, "condition A4"),
    ]
    assert "is not a number" in report.errors[0].reason
    assert "stockLocalID 9 names no stock" in report.errors[1].reason
    assert "check digit" in report.errors[2].reason  # 1234-56-7 fails the CAS check
    assert positions == ["A1", "A5"]


async def test_rockmaker_not_xml(empty_lims):
    async with empty_lims.pool.acquire() as conn:
        report = await import_rockmaker_xml(conn, "<screen>\n<conditions>\n</screen>", source="x.xml")
        wrong_root = await import_rockmaker_xml(conn, "<plate/>", source="y.xml")
    assert (
        report.imported == 0 and report.errors[0].line == 3 and "not well-formed" in report.errors[0].reason
    )
    assert "expected <screen>" in wrong_root.errors[0].reason


BAD_CSV = """plate_barcode,well,drop,method,temperature_k,components,crystal_uuid,pin_barcode,soak_ccd_id,protein_name
PL1,A1,1,"VAPOR DIFFUSION, SITTING DROP",293,1.0 M sodium chloride,11111111-2222-3333-4444-555555555555,PIN1,,Lysozyme
PL1,A2,1,sitting drop,293,1.0 M sodium chloride,11111111-2222-3333-4444-555555555556,PIN2,,Lysozyme
PL1,A3,1,,293,1.0 M sodium chloride,not-a-uuid,PIN3,,Lysozyme
PL1,A4,1,,293,1.0 M sodium chloride [7647-14-6],,PIN4,,Lysozyme
PL1,A5,1,,293,1.0 M sodium chloride [127-09-3],,PIN5,,Lysozyme
PL1,A6,1,,293,a bit of salt,,PIN6,,Lysozyme
PL1,Z99,1,,293,1.0 M sodium chloride,,PIN7,,Lysozyme
PL1,A8,1,,293,1.0 M sodium chloride,,PIN 8,,Lysozyme
PL1,A9,1,,293,1.0 M sodium chloride,,PIN9,benzamidine,Lysozyme
PL1,A10,1,,393,1.0 M sodium chloride,,PIN10,,Lysozyme
PL1,A11,1,,293,1.0 M sodium chloride,,PIN11,,Lysozyme,extra
PL1,A1,1,"VAPOR DIFFUSION, SITTING DROP",293,1.0 M sodium chloride,11111111-2222-3333-4444-555555555555,PIN1,,Lysozyme
PL1,B1,2,,293,0.1 M sodium acetate pH 4.6,11111111-2222-3333-4444-555555555555,PIN12,,Lysozyme
"""


async def test_crims_csv_bad_rows_are_reported_and_the_rest_imports(empty_lims):
    async with empty_lims.pool.acquire() as conn:
        report = await import_crims_csv(conn, BAD_CSV, source="bad.csv")
    reasons = {e.line: e.reason for e in report.errors}
    assert sorted(reasons) == [3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]
    assert "unknown crystallisation method" in reasons[3]
    assert "malformed crystal UUID" in reasons[4]
    assert "check digit" in reasons[5]
    assert "127-09-3 is not sodium chloride's (7647-14-5)" in reasons[6]
    assert "is not `<concentration>" in reasons[7]
    assert "malformed well" in reasons[8]
    assert "malformed pin barcode" in reasons[9]
    assert "malformed PDB chemical component id" in reasons[10]
    assert "not a crystallisation temperature" in reasons[11]
    assert "more fields than the header" in reasons[12]
    assert "same crystal as line 2" in reasons[13]
    assert report.imported == 2  # lines 2 and 14
    # Line 14 names line 2's crystal UUID in another drop: both kept, reported as a warning.
    assert [(w.line, "also recorded at PL1/A1/1" in w.reason) for w in report.warnings] == [(14, True)]
    found = await empty_lims.records_by_keys(["11111111-2222-3333-4444-555555555555"], [], [])
    assert sorted((r.well, r.drop) for r in found) == [("A1", 1), ("B1", 2)]


async def test_crims_json_lines_point_at_the_record(empty_lims):
    text = """[
  {"plate_barcode": "PJ1", "well": "A1", "drop": 1, "pin_barcode": "PJ-PIN1",
   "components": [{"name": "sodium chloride", "concentration": 1.0, "unit": "M"}]},
  {"plate_barcode": "PJ1", "well": "A2", "drop": 1, "pin_barcode": "PJ-PIN2",
   "components": [{"name": "sodium chloride", "concentration": 1.0, "unit": "parsecs"}]},
  "not an object",
  {"plate_barcode": "PJ1", "well": "A3", "drop": 1, "pin_barcode": "PJ-PIN3",
   "soaks": [{"ccd_id": "BEN", "concentration": 0.02, "unit": "M", "minutes": 30}]}
]"""
    async with empty_lims.pool.acquire() as conn:
        report = await import_crims_json(conn, text, source="x.json")
        bad = await import_crims_json(conn, '{"crystals": [\n{"well": "A1"}\n', source="y.json")
    assert [(e.line, e.reason.split(":")[0]) for e in report.errors] == [
        (4, "unknown concentration unit 'parsecs'"),
        (6, "a crystal record must be a JSON object"),
    ]
    assert report.imported == 2
    soaked = (await empty_lims.records_by_keys([], ["PJ-PIN3"], []))[0]
    assert (soaked.soaks[0].compound, soaked.soaks[0].concentration, soaked.soaks[0].unit) == (
        "BEN",
        20.0,
        "mM",
    )
    assert bad.imported == 0 and bad.errors[0].line == 3 and "not valid JSON" in bad.errors[0].reason


async def test_csv_naming_an_unknown_screen_is_a_row_error(empty_lims):
    text = "plate_barcode,well,drop,screen,pin_barcode\nPS1,A1,1,JCSG+,PS-PIN1\nPS1,A2,1,,PS-PIN2\n"
    async with empty_lims.pool.acquire() as conn:
        report = await import_crims_csv(conn, text)
    assert [(e.line, "unknown screen 'JCSG+'" in e.reason) for e in report.errors] == [(2, True)]
    assert report.imported == 1
    assert [
        r.plate_well_drop for r in await empty_lims.records_by_keys([], [], [PlateWellDrop("PS1", "A2", 1)])
    ] == ["PS1/A2/1"]
