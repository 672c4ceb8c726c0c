"""The one visibility rule, and who is asking. Each backend turns the rule into a SQL predicate.

A caller sees a record when its session is public (ended more than the embargo period ago, per
beamline), or the caller is a member of its proposal or session, or staff of its beamline. Who the
caller is comes only from a token signed by a trusted hub (X-MXHub-Caller) or, behind a facility's own
router, the facility's OIDC access token (Authorization: Bearer, issue 20), never a plain header.
A caller's own records (`mine`) are the last two parts alone: member of, or staff for (`ownership`).
The rule itself is `visible` (truth table: docs/security.md); past 400 lines while the caller-token
format still lives here (issue 14 moves it to schema/).
"""

from __future__ import annotations

import contextvars
import datetime as dt
import hashlib
import json
import logging
import logging.handlers
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mx_schema import caller_token
from mx_schema.errors import (
    CALLER_TOKEN_EXPIRED,
    CALLER_TOKEN_INVALID,
    CALLER_TOKEN_REQUIRED,
    SITE_NAME_MISMATCH,
    UNAUTHENTICATED,
    UNTRUSTED_HUB_KEY,
    ContractError,
)
from mx_schema.ids import SITE_NAME
from mx_schema.oidc import OidcError, OidcVerifier, bearer

CALLER_HEADER = caller_token.HEADER.lower()
log = logging.getLogger("mxhub.site.access")


@dataclass(frozen=True, slots=True)
class Viewer:
    login: str | None = None
    staff_beamlines: frozenset[str] = frozenset()
    admin: bool = False

    @property
    def sees_everything(self) -> bool:
        return self.admin or "*" in self.staff_beamlines


ANONYMOUS = Viewer()


@dataclass(frozen=True, slots=True)
class Scope:
    """What one request may see: the verified viewer and the site's embargo."""

    viewer: Viewer
    embargo: EmbargoPolicy

    @property
    def restricted(self) -> bool:
        return not self.viewer.sees_everything


# The request's scope, set by the site's view; None means this site runs without access control
# (a trusted network). Backends read it when they build SQL, so every path to data obeys it.
SCOPE: contextvars.ContextVar[Scope | None] = contextvars.ContextVar("mxhub_scope", default=None)
# Codes of the proposals whose records a request was served (for the audit log), from the backends.
TOUCHED: contextvars.ContextVar[set[str] | None] = contextvars.ContextVar("mxhub_touched", default=None)


def restricted_scope() -> Scope | None:
    scope = SCOPE.get()
    return scope if scope is not None and scope.restricted else None


def touch(proposals: Iterable[str | None]) -> None:
    """Note the proposals (by code, e.g. "cm14451", as docs/security.md says) whose records this request
    was served, for its audit line; every backend reports codes through here, never ids or sessions."""
    bucket = TOUCHED.get()
    if bucket is not None:
        bucket.update(str(p).lower() for p in proposals if p)


@dataclass(frozen=True, slots=True)
class EmbargoPolicy:
    """Data is public `years` after its session ended; per_beamline overrides (negative: never)."""

    default_years: float = 3.0
    per_beamline: Mapping[str, float] = field(default_factory=dict)

    def cutoff(self, years: float, now: dt.datetime) -> dt.datetime | None:
        """Sessions that ended before this are public; None when never."""
        if years < 0:
            return None
        return now - dt.timedelta(days=365.25 * years)

    def cutoffs(
        self, now: dt.datetime | None = None
    ) -> tuple[dt.datetime | None, dict[str, dt.datetime | None]]:
        current = _utc(now)
        return (
            self.cutoff(self.default_years, current),
            {bl.lower(): self.cutoff(y, current) for bl, y in self.per_beamline.items()},
        )

    def years_for(self, beamline: str | None) -> float:
        """The embargo of a beamline; beamline names compare case-insensitively ("I03" is "i03")."""
        if beamline is not None:
            for name, years in self.per_beamline.items():
                if name.lower() == beamline.lower():
                    return years
        return self.default_years

    def is_public(
        self, end_time: dt.datetime | None, beamline: str | None, now: dt.datetime | None = None
    ) -> bool:
        """A session that ended (a zero date never ends) before its beamline's cut-off is public."""
        if end_time is None:
            return False
        cut = self.cutoff(self.years_for(beamline), _utc(now))
        return cut is not None and _utc(end_time) < cut


def _utc(now: dt.datetime | None) -> dt.datetime:
    """An instant (aware UTC) to compare: a naive time is read as UTC, no time is the present. Cut-offs
    are instants; each backend turns them into its stored form (docs/time.md)."""
    current = now or dt.datetime.now(dt.UTC)
    if current.tzinfo is None:
        return current.replace(tzinfo=dt.UTC)
    return current.astimezone(dt.UTC)


@dataclass(frozen=True, slots=True)
class SessionFacts:
    """What the rule needs of one session: when it ended, where, and who is on it or its proposal."""

    end_time: dt.datetime | None
    beamline: str | None
    members: frozenset[str] = frozenset()  # logins on the session (Session_has_Person, session_member)
    proposal_members: frozenset[str] = frozenset()  # logins of the session's proposal


@dataclass(frozen=True, slots=True)
class RecordFacts:
    """What the rule needs of one record: the sessions it was collected in (a collection, group or
    processing result: its one session; a sample or protein: the sessions of the collections that use
    it; a proposal: its sessions) and, for records that belong to a proposal (sample, protein,
    proposal), the logins of that proposal's members."""

    sessions: tuple[SessionFacts, ...] = ()
    proposal_members: frozenset[str] | None = None  # None: the record belongs to no proposal of its own


def session_visible(viewer: Viewer, session: SessionFacts, now: dt.datetime, embargo: EmbargoPolicy) -> bool:
    """Public after its beamline's embargo, or the viewer is staff of its beamline or on it or its proposal."""
    if viewer.sees_everything or embargo.is_public(session.end_time, session.beamline, now):
        return True
    if session.beamline is not None and session.beamline.lower() in viewer.staff_beamlines:
        return True
    return viewer.login is not None and (
        viewer.login in session.members or viewer.login in session.proposal_members
    )


def visible(viewer: Viewer, facts: RecordFacts, now: dt.datetime, embargo: EmbargoPolicy) -> bool:
    """THE access rule (docs/security.md, "The access rule"): a record is visible when one of its
    sessions is, or the viewer is a member of the proposal the record belongs to. Each backend
    compiles the same rule to SQL from site_adapter.query.AccessSpec; tests check all three agree."""
    if viewer.sees_everything:
        return True
    if any(session_visible(viewer, s, now, embargo) for s in facts.sessions):
        return True
    members = facts.proposal_members
    return viewer.login is not None and members is not None and viewer.login in members


class Unauthenticated(ContractError):
    """A refused caller token; `code` and `extensions` say why, so the hub can tell its operator (issue 13)."""

    code = UNAUTHENTICATED

    def __init__(
        self, message: str, *, code: str | None = None, extensions: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(message, code=code)
        self.extensions: dict[str, Any] = dict(extensions or {})


def public_key_id(public_key: Any) -> str:
    """First 16 hex characters of sha256 over the raw 32-byte Ed25519 public key: the `kid` the hub
    puts in its tokens (docs/security.md, boundary 2). Safe to show: it identifies, it does not unlock."""
    from cryptography.hazmat.primitives import serialization

    return caller_token.key_id(
        public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    )


def _seen(value: Any, pattern: re.Pattern[str]) -> str | None:
    """A value read from an unverified token, echoed only when it has the expected shape."""
    return value if isinstance(value, str) and pattern.fullmatch(value) else None


_KID = re.compile(r"[0-9a-f]{16}")


@dataclass(frozen=True, slots=True)
class Ownership:
    """Whose records `mine` selects: sessions and proposals `login` is a member of, and sessions on the
    beamlines it is staff for (lower case); `every_beamline` for staff of all (`*`)."""

    login: str | None
    beamlines: frozenset[str] = frozenset()
    every_beamline: bool = False

    @property
    def nothing(self) -> bool:
        """An identity that owns nothing (the bootstrap admin token: no login, no beamline)."""
        return self.login is None and not self.beamlines and not self.every_beamline


def ownership() -> Ownership:
    """The request's caller as `mine` reads it; an error when the site does not know who is asking.

    Anonymous + mine is an error rather than an empty answer: an empty page would read as "you have
    no data here", which the site cannot know (docs/web.md, "Whose data").
    """
    scope = SCOPE.get()
    if scope is None:
        raise Unauthenticated(
            "`mine` needs to know the caller, but this site runs without access control "
            "(it does not verify the hub's caller tokens)"
        )
    v = scope.viewer
    if v.login is None and not v.staff_beamlines and not v.admin:
        raise Unauthenticated(
            "`mine` needs a signed-in caller: anonymous callers have no collections of their own"
        )
    return Ownership(
        login=v.login,
        beamlines=frozenset(b for b in v.staff_beamlines if b != "*"),
        every_beamline="*" in v.staff_beamlines,
    )


@dataclass
class AccessPolicy:
    """A site's access control: the hubs it trusts (Ed25519 public keys) and its embargo.

    With no trusted key the site can verify no caller, so every caller, the hub included, is
    anonymous and sees public (embargo-expired) records only; a caller token is then ignored, not
    refused, and the answer says so (`CALLER_TOKEN_IGNORED`). With keys, a bad token is refused."""

    trusted_keys: list[Any]  # cryptography Ed25519PublicKey objects
    embargo: EmbargoPolicy = field(default_factory=EmbargoPolicy)
    audit: AuditLog | None = None
    # A LIMS knows no sessions or embargo, so it cannot apply the rule itself: it answers only callers a
    # trusted hub vouches for, and the hub asks it only about samples the owning site let the caller see.
    require_caller: bool = False
    # The facility's OIDC issuer, for callers a facility's own router forwards with their own bearer
    # token (issue 20); the same verifier and role mapping as the hub's (mx_schema.oidc).
    oidc: OidcVerifier | None = None

    @classmethod
    def from_pem_files(
        cls, paths: Iterable[str], embargo: EmbargoPolicy | None = None, audit: AuditLog | None = None
    ) -> AccessPolicy:
        from cryptography.hazmat.primitives.serialization import load_pem_public_key

        keys = []
        for p in paths:
            with open(p, "rb") as fh:
                keys.append(load_pem_public_key(fh.read()))
        return cls(trusted_keys=keys, embargo=embargo or EmbargoPolicy(), audit=audit)

    @property
    def trusted_key_ids(self) -> list[str]:
        return [public_key_id(k) for k in self.trusted_keys]

    def ignored(self, token: str | None) -> str | None:
        """Why `token` is ignored (a site that trusts no hub key), or None when it counts."""
        if token and not self.trusted_keys:
            return (
                "this site trusts no hub key (started without --trust-hub-key): the caller's identity is "
                "ignored and only public (embargo-expired) records are served"
            )
        return None

    async def identify(self, token: str | None, authorization: str | None, site: str) -> Viewer:
        """The verified caller of one request: the hub's caller token when there is one (as before), else,
        at a site with a facility issuer, the OIDC token a router forwarded, else anonymous (refused where
        `require_caller`). There, a bearer token that does not verify is refused, never anonymous; a site
        without an issuer reads no `Authorization` header at all, as before issue 20."""
        if token or not authorization or self.oidc is None:
            if self.require_caller and not token and self.oidc is not None:
                raise Unauthenticated(
                    "this LIMS answers its hubs and signed-in users only: send the facility's access "
                    "token (Authorization: Bearer) or query through a hub it trusts",
                    code=CALLER_TOKEN_REQUIRED,
                )
            return self.viewer(token, site)
        try:
            identity = await self.oidc.verify(bearer(authorization))
        except OidcError as exc:
            log.info("facility token refused: %s", exc)
            raise Unauthenticated(str(exc), code=exc.code) from None
        # Staff beamlines compare in lower case, as the hub's caller token gives them (caller_token).
        staff = frozenset(b.lower() if b != "*" else b for b in identity.staff_beamlines)
        return Viewer(login=identity.login, staff_beamlines=staff, admin=identity.admin)

    def viewer(self, token: str | None, site: str) -> Viewer:
        """The verified caller; no token is an anonymous caller (refused where `require_caller`); a bad
        token is refused, not downgraded."""
        if self.require_caller and (not token or not self.trusted_keys):
            raise Unauthenticated(
                "this LIMS answers its hubs only: send the query through a hub it trusts "
                "(a caller token signed by the hub)",
                code=CALLER_TOKEN_REQUIRED,
            )
        if not token or not self.trusted_keys:
            return ANONYMOUS
        import jwt

        claims: dict[str, Any] | None = None
        problem: Exception | None = None
        for key in self.trusted_keys:
            try:
                claims = jwt.decode(
                    token,
                    key=key,
                    algorithms=[caller_token.ALGORITHM],
                    audience=site,
                    issuer=caller_token.ISSUER,
                    options={"require": list(caller_token.REQUIRED)},
                    leeway=caller_token.LEEWAY,
                )
                break
            except jwt.InvalidSignatureError as exc:
                problem = problem or exc  # another trusted key may still verify it
            except jwt.PyJWTError as exc:
                # Anything but the signature: the token is this key's, and wrong in itself.
                problem = exc
                if not isinstance(exc, jwt.DecodeError):
                    raise self._refusal(exc, token, site, key) from None
        if claims is None:
            raise self._refusal(problem, token, site, None)
        try:
            caller = caller_token.read_claims(claims)
        except caller_token.MalformedClaims as exc:
            raise Unauthenticated(str(exc), code=CALLER_TOKEN_INVALID) from None
        return Viewer(login=caller.login, staff_beamlines=caller.staff_beamlines, admin=caller.admin)

    def _refusal(self, exc: Exception | None, token: str, site: str, key: Any) -> Unauthenticated:
        """The refusal for `exc`, with what the hub's operator needs to fix it (key ids, names)."""
        import jwt

        if isinstance(exc, jwt.ExpiredSignatureError):
            return Unauthenticated(
                "the hub's caller token has expired (are the hub's and the site's clocks right?)",
                code=CALLER_TOKEN_EXPIRED,
            )
        if isinstance(exc, jwt.InvalidAudienceError):
            claims = jwt.decode(
                token,
                key=key,
                algorithms=[caller_token.ALGORITHM],
                options={"verify_aud": False, "verify_exp": False},
            )
            audience = _seen(claims.get(caller_token.AUDIENCE), SITE_NAME)
            log.warning("caller token refused: it is for site %r, this site is %r", audience, site)
            return Unauthenticated(
                f"the caller token is for site {audience!r}, but this site is {site!r} "
                f"(started with --name {site})",
                code=SITE_NAME_MISMATCH,
                extensions={"audience": audience, "siteName": site},
            )
        if isinstance(exc, jwt.InvalidSignatureError):
            try:
                kid = _seen(jwt.get_unverified_header(token).get("kid"), _KID)
            except jwt.PyJWTError:
                kid = None
            trusted = self.trusted_key_ids
            log.warning(
                "caller token refused: signed by hub key %s, this site trusts %s",
                kid or "(no kid)",
                ", ".join(trusted),
            )
            return Unauthenticated(
                f"the caller token is signed by hub key {kid or '(unnamed)'}, which this site "
                f"does not trust (it trusts {', '.join(trusted)})",
                code=UNTRUSTED_HUB_KEY,
                extensions={"keyId": kid, "trustedKeyIds": trusted},
            )
        log.warning("caller token refused: %s", type(exc).__name__ if exc else "unreadable")
        return Unauthenticated("the caller token is not a valid hub token", code=CALLER_TOKEN_INVALID)


MAX_AUDIT_PROPOSALS = 100  # proposals named per record; the count is always whole


class _PrivateRotatingFile(logging.handlers.RotatingFileHandler):
    """Audit files are created 0600: they say who looked at which proposals."""

    def _open(self):
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        os.chmod(self.baseFilename, 0o600)  # also an older file created world-readable
        return os.fdopen(fd, self.mode, encoding=self.encoding)


class AuditLog:
    """Who queried what, when: one bounded JSON line per request, in a size-rotated 0600 file at the site.

    A record names the request (operation, a digest and size of the query and of the variables), the
    caller and the proposals whose records it touched, never the request's content: an `_entities` call
    with 3,000 representations once wrote 556 MB and blocked the site for 28 s. Lines are written by a
    background thread, so the event loop only hands a short string to a queue.
    """

    def __init__(self, path: str, max_bytes: int = 10_000_000, backups: int = 10) -> None:
        import queue

        os.makedirs(os.path.dirname(os.path.abspath(path)), mode=0o700, exist_ok=True)
        self.logger = logging.getLogger(f"mxhub.audit.{hashlib.sha256(path.encode()).hexdigest()[:8]}")
        self.logger.propagate = False
        self.logger.setLevel(logging.INFO)
        self.listener: logging.handlers.QueueListener | None = None
        if not self.logger.handlers:
            handler = _PrivateRotatingFile(path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8")
            handler.setFormatter(logging.Formatter("%(message)s"))
            records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
            self.logger.addHandler(logging.handlers.QueueHandler(records))
            self.listener = logging.handlers.QueueListener(records, handler)
            self.listener.start()

    def flush(self) -> None:
        """Wait until every record so far is on disk (tests, shutdown)."""
        if self.listener is not None:
            self.listener.stop()
            self.listener.start()

    def record(
        self,
        viewer: Viewer | None,
        query: str,
        variables: Any,
        proposals: Iterable[str],
        operation: str | None = None,
    ) -> None:
        names = sorted(set(proposals))
        raw_variables = json.dumps(variables, default=str, sort_keys=True) if variables else ""
        entry = {
            "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "who": None if viewer is None else (viewer.login or "anonymous"),
            "staff": sorted(viewer.staff_beamlines)[:MAX_AUDIT_PROPOSALS] if viewer else [],
            "admin": bool(viewer and viewer.admin),
            "operation": (operation or "")[:200] or None,
            "query_sha256": hashlib.sha256(query.encode()).hexdigest()[:16],
            "query_bytes": len(query),
            "variables_sha256": hashlib.sha256(raw_variables.encode()).hexdigest()[:16]
            if raw_variables
            else None,
            "variables_bytes": len(raw_variables),
            "proposals": names[:MAX_AUDIT_PROPOSALS],
            "proposal_count": len(names),
        }
        self.logger.info(json.dumps(entry, default=str, sort_keys=True))
