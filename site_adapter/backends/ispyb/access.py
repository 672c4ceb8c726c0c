"""Access facts of an ISPyB: who belongs to which proposal and session, and who is staff.

Facts only (Person, Proposal.personId, ProposalHasPerson, Session_has_Person, UserGroup); the
visibility rule and the embargo live in site_adapter/access.py, its SQL in visibility.py.
"""

from __future__ import annotations

from typing import Any

from site_adapter.backends.ispyb.schema_check import SchemaInfo
from site_adapter.backends.ispyb.visibility import member_proposals

# SynchWeb's staff permissions (Permission.type); a member of a UserGroup holding one is staff.
STAFF_PERMISSIONS = ("mx_admin", "super_admin")


async def proposals_of_login(db: Any, s: SchemaInfo, login: str) -> set[str]:
    """Proposal codes the login owns or is a member of: the membership the access rule uses
    (visibility.member_proposals), named by code."""
    members = member_proposals(s, login) if login else None
    if members is None:
        return set()
    sql, args = members
    rows = await db.fetch_rows(
        "SELECT p.`proposalCode` AS code, p.`proposalNumber` AS number FROM Proposal p"
        f" WHERE p.`proposalId` IN ({sql})",
        args,
    )
    return {f"{r['code'] or ''}{r['number'] or ''}" for r in rows}


async def sessions_of_login(db: Any, s: SchemaInfo, login: str) -> set[str]:
    """Visits the login is on (Session_has_Person), whatever the role."""
    if not s.has("Session_has_Person") or not s.has("BLSession", "visit_number") or not login:
        return set()
    rows = await db.fetch_rows(
        "SELECT p.`proposalCode` AS code, p.`proposalNumber` AS number, ses.`visit_number` AS visit"
        " FROM Session_has_Person shp"
        " JOIN BLSession ses ON ses.`sessionId` = shp.`sessionId`"
        " JOIN Proposal p ON p.`proposalId` = ses.`proposalId`"
        " JOIN Person pe ON pe.`personId` = shp.`personId` WHERE pe.`login` = %s",
        [login],
    )
    return {f"{r['code'] or ''}{r['number'] or ''}-{r['visit']}" for r in rows}


async def is_staff(db: Any, s: SchemaInfo, login: str) -> bool:
    """True when the login is in a UserGroup holding a staff permission (STAFF_PERMISSIONS)."""
    if not login or not all(
        s.has(t) for t in ("UserGroup_has_Person", "UserGroup_has_Permission", "Permission")
    ):
        return False
    rows = await db.fetch(
        "SELECT 1 FROM Person pe JOIN UserGroup_has_Person ugp ON ugp.`personId` = pe.`personId`"
        " JOIN UserGroup_has_Permission ugperm ON ugperm.`userGroupId` = ugp.`userGroupId`"
        " JOIN Permission perm ON perm.`permissionId` = ugperm.`permissionId`"
        f" WHERE pe.`login` = %s AND perm.`type` IN ({', '.join(['%s'] * len(STAFF_PERMISSIONS))}) LIMIT 1",
        [login, *STAFF_PERMISSIONS],
    )
    return bool(rows)
