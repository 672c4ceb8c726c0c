"""Detect the ISPyB schema at start: the allow-list of every column read, required or optional.

It reads information_schema and SchemaStatus/AdminVar only; it refuses (BackendError) an ISPyB that
lacks a required table or column, and tells the SQL builders which optional columns are absent.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from site_adapter.backends.base import BackendError
from site_adapter.backends.ispyb.connection import Database
from site_adapter.backends.ispyb.localtime import UTC_CLOCK, WallClock

# The allow-list: (required columns, optional columns) per table. Optional columns are absent from
# older or ESRF-derived schemas (v1.x) and are read as NULL there; optional tables likewise.
REQUIRED_TABLES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "Proposal": (("proposalId", "proposalCode", "proposalNumber"), ("title", "personId")),
    "BLSession": (
        ("sessionId", "proposalId", "startDate", "endDate", "beamLineName"),
        ("visit_number",),
    ),
    "Protein": (("proteinId", "proposalId", "acronym"), ("name", "sequence")),
    "Crystal": (
        ("crystalId", "proteinId"),
        ("crystalUUID", "spaceGroup", "cell_a", "cell_b", "cell_c", "cell_alpha", "cell_beta", "cell_gamma")
        + ("diffractionPlanId",),  # the plan of a sample that has none of its own: since 1.2.0
    ),
    "BLSample": (
        ("blSampleId", "crystalId", "name"),
        ("code", "containerId", "location", "diffractionPlanId"),  # the plan: since 1.2.0
    ),
    "DataCollectionGroup": (
        ("dataCollectionGroupId", "sessionId", "blSampleId"),
        ("experimentType", "startTime", "endTime"),
    ),
    "DataCollection": (
        (
            "dataCollectionId",
            "dataCollectionGroupId",
            "startTime",
            "endTime",
            "imageDirectory",
            "numberOfImages",
            "wavelength",
            "detectorDistance",
            "xBeam",
            "yBeam",
            "axisStart",
            "axisRange",
            "exposureTime",
        ),
        (
            "SESSIONID",
            "BLSAMPLEID",
            "experimenttype",
            "runStatus",
            "fileTemplate",
            "imagePrefix",
            "imageSuffix",
            "dataCollectionNumber",
            "startImageNumber",
            "axisEnd",
            "overlap",
            "rotationAxis",
            "transmission",
            "flux",
            "beamSizeAtSampleX",
            "beamSizeAtSampleY",
            "resolution",
            "detectorId",
            "detector2Theta",
            "kappaStart",
            "phiStart",
            "chiStart",
            "omegaStart",
            "comments",
            # Crystal snapshots (since 1.2.0, issue 16)
            "xtalSnapshotFullPath1",
            "xtalSnapshotFullPath2",
            "xtalSnapshotFullPath3",
            "xtalSnapshotFullPath4",
            "dataCollectionPlanId",  # the collection's plan: since 1.2.0
        ),
    ),
    "AutoProcIntegration": (
        ("autoProcIntegrationId", "dataCollectionId", "autoProcProgramId"),
        (
            "refinedXBeam",
            "refinedYBeam",
            "anomalous",
            # issue 16: the image range and refined geometry of each integration
            "startImageNumber",
            "endImageNumber",
            "refinedDetectorDistance",
            "rotationAxisX",
            "rotationAxisY",
            "rotationAxisZ",
            "cell_a",
            "cell_b",
            "cell_c",
            "cell_alpha",
            "cell_beta",
            "cell_gamma",
        ),
    ),
    "AutoProcProgram": (
        ("autoProcProgramId", "processingStatus"),
        ("processingPrograms", "processingStartTime", "processingEndTime", "processingMessage"),
    ),
    "AutoProc": (
        ("autoProcId", "autoProcProgramId", "spaceGroup"),
        (
            "refinedCell_a",
            "refinedCell_b",
            "refinedCell_c",
            "refinedCell_alpha",
            "refinedCell_beta",
            "refinedCell_gamma",
        ),
    ),
    "AutoProcScaling": (("autoProcScalingId", "autoProcId"), ()),
    "AutoProcScaling_has_Int": (("autoProcScalingId", "autoProcIntegrationId"), ()),
    "AutoProcScalingStatistics": (
        (
            "autoProcScalingId",
            "scalingStatisticsType",
            "resolutionLimitLow",
            "resolutionLimitHigh",
            "completeness",
            "multiplicity",
            "meanIOverSigI",
        ),
        (
            "autoProcScalingStatisticsId",
            "rMerge",
            "rMeasAllIPlusIMinus",
            "rMeasWithinIPlusIMinus",
            "rPimAllIPlusIMinus",
            "rPimWithinIPlusIMinus",
            "ccHalf",
            "ccAnomalous",
            "nTotalObservations",
            "nTotalUniqueObservations",
            "anomalousCompleteness",
            "anomalousMultiplicity",
        ),
    ),
    "Person": (("personId", "login"), ()),
}

OPTIONAL_TABLES: dict[str, tuple[str, ...]] = {
    "Container": ("containerId", "code", "barcode"),
    "Detector": (
        "detectorId",
        "detectorManufacturer",
        "detectorModel",
        "detectorSerialNumber",
        "detectorPixelSizeHorizontal",
        "detectorPixelSizeVertical",
        "numberOfPixelsX",
        "numberOfPixelsY",
        "sensorThickness",
        "composition",
    ),
    "Session_has_Person": ("sessionId", "personId", "role"),
    "ProposalHasPerson": ("proposalId", "personId", "role"),
    "UserGroup": ("userGroupId", "name"),
    "UserGroup_has_Person": ("userGroupId", "personId"),
    "UserGroup_has_Permission": ("userGroupId", "permissionId"),
    "Permission": ("permissionId", "type"),
    # Grid scans, per-image quality and X-ray centring (issue 16; backends/ispyb/grids.py)
    "GridInfo": (
        "gridInfoId",
        "dataCollectionId",
        "dataCollectionGroupId",
        "steps_x",
        "steps_y",
        "dx_mm",
        "dy_mm",
        "meshAngle",
        "orientation",
        "snaked",
        "micronsPerPixelX",
        "micronsPerPixelY",
        "snapshot_offsetXPixel",
        "snapshot_offsetYPixel",
    ),
    "ImageQualityIndicators": (
        "dataCollectionId",
        "imageNumber",
        "spotTotal",
        "inResTotal",
        "goodBraggCandidates",
        "iceRings",
        "method1Res",
        "method2Res",
        "maxUnitCell",
        "totalIntegratedSignal",
        "dozor_score",
    ),
    "XrayCentring": ("xrayCentringId", "dataCollectionGroupId", "status", "xrayCentringType"),
    "XrayCentringResult": (
        "xrayCentringResultId",
        "xrayCentringId",
        "centreOfMassX",
        "centreOfMassY",
        "centreOfMassZ",
        "maxVoxelX",
        "maxVoxelY",
        "maxVoxelZ",
        "numberOfVoxels",
        "totalCount",
        "boundingBoxMinX",
        "boundingBoxMaxX",
        "boundingBoxMinY",
        "boundingBoxMaxY",
        "boundingBoxMinZ",
        "boundingBoxMaxZ",
        "status",
    ),
    # Downstream results (issue 16; backends/ispyb/downstream.py)
    "MXMRRun": (
        "mxMRRunId",
        "autoProcScalingId",
        "autoProcProgramId",
        "rValueStart",
        "rValueEnd",
        "rFreeValueStart",
        "rFreeValueEnd",
        "LLG",
        "TFZ",
        "spaceGroup",
    ),
    "Phasing_has_Scaling": ("phasingHasScalingId", "phasingAnalysisId", "autoProcScalingId"),
    "Phasing": (
        "phasingId",
        "phasingAnalysisId",
        "phasingProgramRunId",
        "spaceGroupId",
        "method",
        "solventContent",
        "enantiomorph",
        "lowRes",
        "highRes",
    ),
    "PhasingProgramRun": (
        "phasingProgramRunId",
        "phasingPrograms",
        "phasingStatus",
        "phasingMessage",
        "phasingStartTime",
        "phasingEndTime",
    ),
    "PhasingStatistics": ("phasingHasScalingId1", "binNumber", "metric", "statisticsValue"),
    "SpaceGroup": ("spaceGroupId", "spaceGroupShortName"),
    # A processing program's files and messages (since 1.2.0, issue 16; site_adapter/backends/ispyb/files.py)
    "AutoProcProgramAttachment": (
        "autoProcProgramAttachmentId",
        "autoProcProgramId",
        "fileType",
        "fileName",
        "filePath",
        "recordTimeStamp",
        "importanceRank",
        "deleted",
    ),
    "AutoProcProgramMessage": (
        "autoProcProgramMessageId",
        "autoProcProgramId",
        "recordTimeStamp",
        "severity",
        "message",
        "description",
    ),
    # Characterisation, scans and plans (issue 16): read by ispyb/screening.py and ispyb/scans.py,
    # whose COLUMNS a test keeps within these lists.
    "Screening": (
        "screeningId",
        "dataCollectionId",
        "programVersion",
        "shortComments",
        "comments",
        "bltimeStamp",
    ),
    "ScreeningOutput": (
        "screeningId",
        "screeningOutputId",
        "statusDescription",
        "program",
        "indexingSuccess",
        "strategySuccess",
        "alignmentSuccess",
        "mosaicity",
        "mosaicityEstimated",
        "rankingResolution",
        "resolutionObtained",
        "iOverSigma",
        "spotDeviationR",
        "spotDeviationTheta",
        "beamShiftX",
        "beamShiftY",
        "numSpotsFound",
        "numSpotsUsed",
        "numSpotsRejected",
        "rejectedReflections",
        "diffractionRings",
        "doseTotal",
        "totalExposureTime",
        "totalRotationRange",
        "totalNumberOfImages",
        "rFriedel",
    ),
    "ScreeningOutputLattice": (
        "screeningOutputId",
        "screeningOutputLatticeId",
        "spaceGroup",
        "pointGroup",
        "bravaisLattice",
        "unitCell_a",
        "unitCell_b",
        "unitCell_c",
        "unitCell_alpha",
        "unitCell_beta",
        "unitCell_gamma",
    ),
    "ScreeningStrategy": (
        "screeningOutputId",
        "screeningStrategyId",
        "program",
        "anomalous",
        "exposureTime",
        "resolution",
        "rankingResolution",
        "transmission",
        "phiStart",
        "phiEnd",
        "rotation",
        "completeness",
        "multiplicity",
    ),
    "ScreeningStrategyWedge": (
        "screeningStrategyId",
        "screeningStrategyWedgeId",
        "wedgeNumber",
        "resolution",
        "completeness",
        "multiplicity",
        "doseTotal",
        "numberOfImages",
        "phi",
        "kappa",
        "chi",
        "wavelength",
        "comments",
    ),
    "ScreeningStrategySubWedge": (
        "screeningStrategyWedgeId",
        "screeningStrategySubWedgeId",
        "subWedgeNumber",
        "rotationAxis",
        "axisStart",
        "axisEnd",
        "oscillationRange",
        "exposureTime",
        "transmission",
        "completeness",
        "multiplicity",
        "RESOLUTION",
        "doseTotal",
        "numberOfImages",
        "comments",
    ),
    "EnergyScan": (
        "energyScanId",
        "sessionId",
        "blSampleId",
        "element",
        "edgeEnergy",
        "startEnergy",
        "endEnergy",
        "peakEnergy",
        "peakFPrime",
        "peakFDoublePrime",
        "inflectionEnergy",
        "inflectionFPrime",
        "inflectionFDoublePrime",
        "exposureTime",
        "transmissionFactor",
        "beamSizeHorizontal",
        "beamSizeVertical",
        "flux",
        "xrayDose",
        "fluorescenceDetector",
        "startTime",
        "endTime",
        "comments",
        "scanFileFullPath",
        "choochFileFullPath",
        "jpegChoochFileFullPath",
    ),
    "XFEFluorescenceSpectrum": (
        "xfeFluorescenceSpectrumId",
        "sessionId",
        "blSampleId",
        "energy",
        "exposureTime",
        "beamTransmission",
        "beamSizeHorizontal",
        "beamSizeVertical",
        "flux",
        "startTime",
        "endTime",
        "comments",
        "filename",
        "scanFileFullPath",
        "fittedDataFileFullPath",
        "annotatedPymcaXfeSpectrum",
        "jpegScanFileFullPath",
    ),
    "DiffractionPlan": (
        "diffractionPlanId",
        "name",
        "experimentKind",
        "requiredResolution",
        "requiredCompleteness",
        "requiredMultiplicity",
        "anomalousData",
        "anomalousScatterer",
        "preferredBeamSizeX",
        "preferredBeamSizeY",
        "radiationSensitivity",
        "numberOfPositions",
        "exposureTime",
        "energy",
        "forcedSpaceGroup",
        "comments",
    ),
    # Identifiers (issue 19): PDB entries and models of proteins, entries matched to processing programs
    "PDB": ("pdbId", "name", "code", "source"),
    "Protein_has_PDB": ("proteinid", "pdbid"),
    "PDBEntry": ("pdbEntryId", "autoProcProgramId", "code", "pdbTitle", "resolution"),
}


@dataclass(frozen=True, slots=True)
class SchemaInfo:
    """What start() found: the version and which optional columns exist (table -> column set), and
    the facility's wall clock the backend was configured with (its stored times are local)."""

    version: str
    columns: dict[str, frozenset[str]] = field(default_factory=dict)
    clock: WallClock = UTC_CLOCK

    def has(self, table: str, column: str | None = None) -> bool:
        cols = self.columns.get(table)
        if cols is None:
            return False
        return column is None or column.lower() in cols

    def col(self, alias: str, table: str, column: str) -> str:
        """`alias`.`column` when the column exists, else NULL (an optional column a site lacks)."""
        return f"{alias}.`{column}`" if self.has(table, column) else "NULL"


async def detect(db: Database) -> SchemaInfo:
    """Read information_schema and refuse, with one line, a database this backend cannot serve."""
    rows = await db.fetch(
        "SELECT TABLE_NAME, COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE()"
    )
    found: dict[str, set[str]] = {}
    for table, column in rows:
        found.setdefault(str(table), set()).add(str(column).lower())
    where = db.dsn.safe()
    if not found:
        raise BackendError(
            f"ispyb backend: {where} has no tables (or this user may not read them): not an ISPyB database"
        )
    missing_tables = [t for t in REQUIRED_TABLES if t not in found]
    if missing_tables:
        raise BackendError(
            f"ispyb backend: {where} is not an ISPyB database this adapter can serve: "
            f"missing tables {_some(missing_tables)}"
        )
    missing_cols = [
        f"{t}.{c}"
        for t, (required, _) in REQUIRED_TABLES.items()
        for c in required
        if c.lower() not in found[t]
    ]
    if missing_cols:
        raise BackendError(
            f"ispyb backend: {where} is an unsupported ISPyB schema: missing columns {_some(missing_cols)}"
        )
    columns = {t: frozenset(found[t]) for t in list(REQUIRED_TABLES) + list(OPTIONAL_TABLES) if t in found}
    return SchemaInfo(version=await _version(db, found), columns=columns)


def _some(names: list[str], shown: int = 6) -> str:
    """A short list for a one-line message."""
    more = len(names) - shown
    return ", ".join(names[:shown]) + (f" and {more} more" if more > 0 else "")


async def _version(db: Database, found: dict[str, set[str]]) -> str:
    """Diamond's schema keeps AdminVar.schemaVersion and one SchemaStatus row per upgrade script."""
    if "AdminVar" in found:
        rows = await db.fetch_rows("SELECT `value` FROM AdminVar WHERE `name` = 'schemaVersion' LIMIT 1")
        if rows and rows[0]["value"]:
            return str(rows[0]["value"])
    if "SchemaStatus" in found:
        rows = await db.fetch_rows(
            "SELECT scriptName AS script FROM SchemaStatus WHERE schemaStatus = 'DONE'"
            " ORDER BY schemaStatusId DESC LIMIT 1"
        )
        if rows:
            return f"unknown (last upgrade script {rows[0]['script']})"
    return "unknown (no SchemaStatus table: ESRF-derived schema?)"
