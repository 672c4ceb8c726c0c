"""The one visibility rule, and who is asking. Each backend turns the rule into a SQL predicate.

A caller sees a record when its session is public (ended more than the embargo period ago, per
beamline), or the caller is a member of its proposal or session, or staff of its beamline. Who the
caller is comes only from a token signed by a trusted hub (X-MXHub-Caller), never a plain header.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import hashlib
import json
import logging
import logging.handlers
import os
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from mx_schema.errors import ContractError

CALLER_HEADER = "x-mxhub-caller"
ISSUER = "mxhub-hub"
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
    embargo: "EmbargoPolicy"

    @property
    def restricted(self) -> bool:
        return not self.viewer.sees_everything


# The request's scope, set by the site's view; None means this site runs without access control
# (a trusted network). Backends read it when they build SQL, so every path to data obeys it.
SCOPE: contextvars.ContextVar[Scope | None] = contextvars.ContextVar("mxhub_scope", default=None)
# Proposals of the records a request touched (for the audit log), collected by the backends.
TOUCHED: contextvars.ContextVar[set[str] | None] = contextvars.ContextVar("mxhub_touched", default=None)


def restricted_scope() -> Scope | None:
    scope = SCOPE.get()
    return scope if scope is not None and scope.restricted else None


def touch(proposals: Iterable[Any]) -> None:
    bucket = TOUCHED.get()
    if bucket is not None:
        bucket.update(str(p) for p in proposals if p is not None)


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

    def cutoffs(self, now: dt.datetime | None = None) -> tuple[dt.datetime | None, dict[str, dt.datetime | None]]:
        current = now or dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
        return (self.cutoff(self.default_years, current),
                {bl.lower(): self.cutoff(y, current) for bl, y in self.per_beamline.items()})


class Unauthenticated(ContractError):
    code = "UNAUTHENTICATED"


@dataclass
class AccessPolicy:
    """A site's access control: the hubs it trusts (Ed25519 public keys) and its embargo."""

    trusted_keys: list[Any]  # cryptography Ed25519PublicKey objects
    embargo: EmbargoPolicy = field(default_factory=EmbargoPolicy)
    audit: "AuditLog | None" = None

    @classmethod
    def from_pem_files(cls, paths: Iterable[str], embargo: EmbargoPolicy | None = None,
                       audit: "AuditLog | None" = None) -> "AccessPolicy":
        from cryptography.hazmat.primitives.serialization import load_pem_public_key

        keys = []
        for p in paths:
            with open(p, "rb") as fh:
                keys.append(load_pem_public_key(fh.read()))
        return cls(trusted_keys=keys, embargo=embargo or EmbargoPolicy(), audit=audit)

    def viewer(self, token: str | None, site: str) -> Viewer:
        """The verified caller; no token is an anonymous caller; a bad token is refused, not downgraded."""
        if not token:
            return ANONYMOUS
        import jwt

        last: Exception | None = None
        for key in self.trusted_keys:
            try:
                claims = jwt.decode(token, key=key, algorithms=["EdDSA"], audience=site, issuer=ISSUER,
                                    options={"require": ["exp", "iat", "aud", "iss"]}, leeway=5)
            except jwt.ExpiredSignatureError:
                raise Unauthenticated("the hub's caller token has expired") from None
            except jwt.InvalidAudienceError:
                raise Unauthenticated(f"the caller token is not for site {site!r}") from None
            except jwt.PyJWTError as exc:
                last = exc
                continue
            staff = claims.get("mxhub_staff") or []
            if not isinstance(staff, list) or not all(isinstance(b, str) for b in staff):
                raise Unauthenticated("malformed caller token")
            login = claims.get("sub")
            return Viewer(login=login if isinstance(login, str) and login else None,
                          staff_beamlines=frozenset(b.lower() if b != "*" else b for b in staff),
                          admin=claims.get("mxhub_admin") is True)
        log.warning("caller token refused: %s", type(last).__name__ if last else "no trusted key")
        raise Unauthenticated("the caller token is not signed by a hub this site trusts")


MAX_AUDIT_PROPOSALS = 100  # proposals named per record; the count is always whole


class _PrivateRotatingFile(logging.handlers.RotatingFileHandler):
    """Audit files are created 0600: they say who looked at which proposals."""

    def _open(self):  # type: ignore[no-untyped-def]
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

    def record(self, viewer: Viewer | None, query: str, variables: Any, proposals: Iterable[str],
               operation: str | None = None) -> None:
        names = sorted(set(proposals))
        raw_variables = json.dumps(variables, default=str, sort_keys=True) if variables else ""
        entry = {
            "at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "who": None if viewer is None else (viewer.login or "anonymous"),
            "staff": sorted(viewer.staff_beamlines)[:MAX_AUDIT_PROPOSALS] if viewer else [],
            "admin": bool(viewer and viewer.admin),
            "operation": (operation or "")[:200] or None,
            "query_sha256": hashlib.sha256(query.encode()).hexdigest()[:16],
            "query_bytes": len(query),
            "variables_sha256": hashlib.sha256(raw_variables.encode()).hexdigest()[:16] if raw_variables else None,
            "variables_bytes": len(raw_variables),
            "proposals": names[:MAX_AUDIT_PROPOSALS],
            "proposal_count": len(names),
        }
        self.logger.info(json.dumps(entry, default=str, sort_keys=True))
