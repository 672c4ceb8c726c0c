"""The access rule (site_adapter/access.py) as ISPyB SQL: which sessions, and so which records, a
request's viewer may see (empty clauses without access control or for admins), and which are the
caller's own (`mine`: member of, or staff for)."""

from __future__ import annotations

from typing import Any

from site_adapter import access
from site_adapter.backends.ispyb.schema_check import SchemaInfo


def visible_sessions(s: SchemaInfo) -> tuple[str, list[Any]] | None:
    """SELECT of visible BLSession ids (with its arguments); None when everything is visible."""
    scope = access.restricted_scope()
    if scope is None:
        return None
    v = scope.viewer
    default, per_beamline = scope.embargo.cutoffs()
    args: list[Any] = []
    if per_beamline:
        cases = " ".join("WHEN %s THEN %s" for _ in per_beamline)
        cutoff = f"CASE LOWER(se.`beamLineName`) {cases} ELSE %s END"
        for bl, cut in per_beamline.items():
            args += [bl, cut]
        args.append(default)
    else:
        cutoff = "%s"
        args.append(default)
    # Public: ended (a zero date never ends) before the embargo cut-off of its beamline.
    rule = [f"(se.`endDate` >= '1000-01-01' AND se.`endDate` < {cutoff})"]
    owned, owned_args = _owner_rules(s, v.staff_beamlines, v.login)
    rule += owned
    args += owned_args
    return f"SELECT se.`sessionId` FROM BLSession se WHERE {' OR '.join(rule)}", args


def _owner_rules(s: SchemaInfo, beamlines: Any, login: str | None) -> tuple[list[str], list[Any]]:
    """Sessions (alias se) of the given beamlines, or that `login` is a member of: the part of the rule
    that the visibility rule and the `mine` filter share."""
    rule: list[str] = []
    args: list[Any] = []
    if beamlines:
        rule.append(f"LOWER(se.`beamLineName`) IN ({', '.join(['%s'] * len(beamlines))})")
        args += sorted(beamlines)
    if login:
        member, member_args = _member_rules(s, login)
        rule += member
        args += member_args
    return rule, args


def _member_rules(s: SchemaInfo, login: str) -> tuple[list[str], list[Any]]:
    """Sessions (alias se) whose proposal or session `login` is a member of, as far as the schema records it."""
    rule: list[str] = []
    args: list[Any] = []
    if s.has("Proposal", "personId"):
        rule.append(
            "se.`proposalId` IN (SELECT p1.`proposalId` FROM Proposal p1 JOIN Person pe1"
            " ON pe1.`personId` = p1.`personId` WHERE pe1.`login` = %s)"
        )
        args.append(login)
    if s.has("ProposalHasPerson"):
        rule.append(
            "se.`proposalId` IN (SELECT php.`proposalId` FROM ProposalHasPerson php JOIN Person pe2"
            " ON pe2.`personId` = php.`personId` WHERE pe2.`login` = %s)"
        )
        args.append(login)
    if s.has("Session_has_Person"):
        rule.append(
            "se.`sessionId` IN (SELECT shp.`sessionId` FROM Session_has_Person shp JOIN Person pe3"
            " ON pe3.`personId` = shp.`personId` WHERE pe3.`login` = %s)"
        )
        args.append(login)
    return rule, args


def owned_clause(s: SchemaInfo, owner: access.Ownership, alias: str) -> tuple[list[str], list[Any]] | None:
    """`mine` on data collections `alias`: their session is the owner's (member of, or staff for);
    no clause for staff of every beamline; None when the owner owns nothing here."""
    if owner.every_beamline:
        return [], []
    rule, args = _owner_rules(s, owner.beamlines, owner.login)
    if not rule:
        return None
    return [
        f"{alias}.`dataCollectionGroupId` IN (SELECT og.`dataCollectionGroupId` FROM DataCollectionGroup og"
        f" WHERE og.`sessionId` IN (SELECT se.`sessionId` FROM BLSession se WHERE {' OR '.join(rule)}))"
    ], args


def clause(s: SchemaInfo, kind: str, alias: str) -> tuple[list[str], list[Any]]:
    """WHERE clauses restricting `alias` (a table of `kind`) to what the viewer may see."""
    vis = visible_sessions(s)
    if vis is None:
        return [], []
    sql, args = vis
    if kind == "session":
        return [f"{alias}.`sessionId` IN ({sql})"], args
    if kind == "group":
        return [f"{alias}.`sessionId` IN ({sql})"], args
    if kind == "data_collection":
        return [
            f"{alias}.`dataCollectionGroupId` IN (SELECT vg.`dataCollectionGroupId` FROM DataCollectionGroup vg"
            f" WHERE vg.`sessionId` IN ({sql}))"
        ], args
    if kind == "proposal":
        return [
            f"{alias}.`proposalId` IN (SELECT vs.`proposalId` FROM BLSession vs WHERE vs.`sessionId` IN ({sql}))"
        ], args
    if kind == "sample":
        # A sample is seen through a visible data collection group of it (ISPyB ties samples to
        # proposals only through shipping, so a member's unused samples are not listed).
        legacy = (
            f" OR {alias}.`blSampleId` IN (SELECT vd.`BLSAMPLEID` FROM DataCollection vd JOIN DataCollectionGroup vg2"
            f" ON vg2.`dataCollectionGroupId` = vd.`dataCollectionGroupId` WHERE vg2.`sessionId` IN ({sql}))"
            if s.has("DataCollection", "BLSAMPLEID")
            else ""
        )
        return [
            f"({alias}.`blSampleId` IN (SELECT vg.`blSampleId` FROM DataCollectionGroup vg"
            f" WHERE vg.`sessionId` IN ({sql})){legacy})"
        ], args + (args if legacy else [])
    if kind == "crystal":
        inner, inner_args = clause(s, "sample", "vb")
        return [
            f"{alias}.`crystalId` IN (SELECT vb.`crystalId` FROM BLSample vb WHERE {inner[0]})"
        ], inner_args
    if kind == "protein":
        return [
            f"{alias}.`proposalId` IN (SELECT vs.`proposalId` FROM BLSession vs WHERE vs.`sessionId` IN ({sql}))"
        ], args
    return [], []
