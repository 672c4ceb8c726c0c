"""The access rule (site_adapter/access.py) as ISPyB SQL: which sessions, and so which records, a
request's viewer may see (empty clauses without access control or for admins), and which are the
caller's own (`mine`: member of, or staff for)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from site_adapter import access
from site_adapter.backends.ispyb.schema_check import SchemaInfo
from site_adapter.query import REACH, AccessSpec, Reach, access_spec


def visible_sessions(s: SchemaInfo, spec: AccessSpec) -> tuple[str, list[Any]]:
    """SELECT of the BLSession ids `spec` lets the viewer see (site_adapter.access.session_visible)."""
    args: list[Any] = []
    if spec.beamline_cutoffs:
        cases = " ".join("WHEN %s THEN %s" for _ in spec.beamline_cutoffs)
        cutoff = f"CASE LOWER(se.`beamLineName`) {cases} ELSE %s END"
        for bl, cut in spec.beamline_cutoffs:
            args += [bl, _wall(s, cut)]
    else:
        cutoff = "%s"
    args.append(_wall(s, spec.default_cutoff))
    # Public: ended (a zero date never ends) before the embargo cut-off of its beamline.
    rule = [f"(se.`endDate` >= '1000-01-01' AND se.`endDate` < {cutoff})"]
    owned, owned_args = _owner_rules(s, spec.staff_beamlines, spec.login)
    rule += owned
    args += owned_args
    return f"SELECT se.`sessionId` FROM BLSession se WHERE {' OR '.join(rule)}", args


def _wall(s: SchemaInfo, cutoff: dt.datetime | None) -> dt.datetime | None:
    """A cut-off instant as the facility's wall time: `endDate < wall` is `ended before the instant`."""
    return None if cutoff is None else s.clock.wall(cutoff)


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


def member_proposals(s: SchemaInfo, login: str) -> tuple[str, list[Any]] | None:
    """SELECT of the proposal ids `login` owns (Proposal.personId) or is a member of (ProposalHasPerson)."""
    parts: list[str] = []
    if s.has("Proposal", "personId"):
        parts.append(
            "SELECT p4.`proposalId` FROM Proposal p4 JOIN Person pe4 ON pe4.`personId` = p4.`personId`"
            " WHERE pe4.`login` = %s"
        )
    if s.has("ProposalHasPerson"):
        parts.append(
            "SELECT php5.`proposalId` FROM ProposalHasPerson php5 JOIN Person pe5"
            " ON pe5.`personId` = php5.`personId` WHERE pe5.`login` = %s"
        )
    return (" UNION ".join(parts), [login] * len(parts)) if parts else None


def _used_samples(s: SchemaInfo, sessions: str, args: list[Any]) -> tuple[str, list[Any]]:
    """SELECT of the BLSample ids used by a collection of a visible session: the group's sample, else
    the legacy DataCollection.BLSAMPLEID."""
    sql = f"SELECT vg.`blSampleId` FROM DataCollectionGroup vg WHERE vg.`sessionId` IN ({sessions})"
    if not s.has("DataCollection", "BLSAMPLEID"):
        return sql, list(args)
    legacy = (
        " UNION SELECT vd.`BLSAMPLEID` FROM DataCollection vd JOIN DataCollectionGroup vg2"
        f" ON vg2.`dataCollectionGroupId` = vd.`dataCollectionGroupId` WHERE vg2.`sessionId` IN ({sessions})"
    )
    return sql + legacy, args + args


def _owned(s: SchemaInfo, spec: AccessSpec, own: str) -> tuple[str, list[Any]]:
    """` OR <own> IN (proposals of the viewer)`, the member half of the rule for sample, protein, proposal."""
    members = member_proposals(s, spec.login) if spec.login else None
    if members is None:
        return "", []
    return f" OR {own} IN ({members[0]})", members[1]


def clause(s: SchemaInfo, kind: str, alias: str) -> tuple[list[str], list[Any]]:
    """WHERE clauses restricting `alias` (a table of `kind`) to what the viewer may see: the rule of
    site_adapter.access.visible, compiled from the request's site_adapter.query.AccessSpec."""
    spec = access_spec()
    reach = REACH.get("data_collection_group" if kind == "group" else kind, Reach.PUBLIC)
    if spec is None or reach is Reach.PUBLIC:
        return [], []
    sql, args = visible_sessions(s, spec)
    if kind in ("session", "group", "data_collection_group"):
        return [f"{alias}.`sessionId` IN ({sql})"], args
    if kind == "data_collection":
        return [
            f"{alias}.`dataCollectionGroupId` IN (SELECT vg.`dataCollectionGroupId` FROM DataCollectionGroup vg"
            f" WHERE vg.`sessionId` IN ({sql}))"
        ], args
    if kind == "proposal":
        member, member_args = _owned(s, spec, f"{alias}.`proposalId`")
        return [
            f"({alias}.`proposalId` IN (SELECT vs.`proposalId` FROM BLSession vs WHERE vs.`sessionId` IN ({sql}))"
            f"{member})"
        ], args + member_args
    used, used_args = _used_samples(s, sql, args)
    if kind == "sample":
        # The sample's proposal is its protein's (BLSample -> Crystal -> Protein.proposalId).
        member, member_args = _owned(
            s,
            spec,
            f"(SELECT vp.`proposalId` FROM Crystal vc JOIN Protein vp ON vp.`proteinId` = vc.`proteinId`"
            f" WHERE vc.`crystalId` = {alias}.`crystalId`)",
        )
        return [f"({alias}.`blSampleId` IN ({used}){member})"], used_args + member_args
    if kind == "crystal":
        inner, inner_args = clause(s, "sample", "vb")
        return [
            f"{alias}.`crystalId` IN (SELECT vb.`crystalId` FROM BLSample vb WHERE {inner[0]})"
        ], inner_args
    if kind == "protein":
        member, member_args = _owned(s, spec, f"{alias}.`proposalId`")
        return [
            f"({alias}.`proteinId` IN (SELECT uc.`proteinId` FROM Crystal uc JOIN BLSample ub"
            f" ON ub.`crystalId` = uc.`crystalId` WHERE ub.`blSampleId` IN ({used})){member})"
        ], used_args + member_args
    return [], []
