"""Example queries: CONTRACT.md's query (tests and benchmarks run it), and the demo's examples."""

from __future__ import annotations

CONTRACT_FIELDS = """
      id site localId experimentType startTime
      imageDirectory fileTemplate startImageNumber numberOfImages
      wavelength detectorDistance beamCentreX beamCentreY
      axisStart axisRange exposureTime transmission flux
      session { visit proposal beamline }
      sample { id name barcode
               crystal { uuid spaceGroup cell { a b c alpha beta gamma } }
               protein { acronym name uniprotIds } }
      detector { manufacturer model serialNumber pixelSizeX pixelSizeY }
      processing { program status spaceGroup
                   overall { resolutionLow resolutionHigh completeness multiplicity meanIOverSigI ccHalf rMerge rPim }
                   outer { resolutionHigh completeness ccHalf } }
      bestProcessing { program spaceGroup overall { resolutionHigh } }
"""

# CONTRACT.md's query with the filter, page size and cursor as variables.
CONTRACT_QUERY = (
    "query Contract($filter: DataCollectionFilter, $first: Int, $after: String) {\n"
    "  dataCollections(filter: $filter, first: $first, after: $after) {\n"
    "    totalCount\n"
    "    pageInfo { hasNextPage endCursor }\n"
    "    edges { cursor node {" + CONTRACT_FIELDS + "    } }\n"
    "  }\n"
    "}\n"
)

DEMO_EXAMPLES: list[tuple[str, str]] = [
    (
        "Every thermolysin collection better than 1.8 Å, at every facility",
        """{
  dataCollections(filter: {proteinAcronym: "TLN", resolutionBetterThan: 1.8}, first: 5) {
    totalCount
    edges { node { site localId startTime session { visit beamline } sample { name }
                   bestProcessing { program spaceGroup overall { resolutionHigh completeness ccHalf } } } }
  }
}""",
    ),
    (
        "Lysozyme by UniProt accession, with detector geometry",
        """{
  dataCollections(filter: {uniprotId: "P00698", experimentType: "OSC"}, first: 3) {
    edges { node { site wavelength detectorDistance beamCentreX beamCentreY axisRange numberOfImages
                   detector { model pixelSizeX } } }
  }
}""",
    ),
    (
        "Collections of crystals grown with sodium chloride (a LIMS search), with their crystallisation",
        """{
  dataCollections(filter: {lims: {chemical: "sodium chloride"}, resolutionBetterThan: 2.0}, first: 5) {
    totalCount
    edges { node { site localId sample { name crystallisation { method ph temperature screen
      components { name concentration unit } cryoProtectant source } } } }
  }
}""",
    ),
    (
        "The registered sites and their health",
        """{
  sites { name url status schemaVersion lastSeen latencyMs }
}""",
    ),
]
