"""Registering a site or LIMS source: probe it, check it, store it, and when it cannot be registered
say the real cause and what to do (issue 13). Every call to the site goes through the SiteClient."""

from __future__ import annotations

import socket
import ssl
import time
from typing import TYPE_CHECKING, Any

from graphql import GraphQLError

from mx_hub import trust
from mx_hub.client import SiteAnswer, SiteFailure
from mx_hub.compat import differences, parse_site_sdl
from mx_hub.registry import SiteRecord
from mx_schema.errors import (
    CALLER_TOKEN_EXPIRED,
    CALLER_TOKEN_IGNORED,
    CALLER_TOKEN_INVALID,
    SITE_ERROR,
    SITE_INCOMPATIBLE,
    SITE_NAME_MISMATCH,
    SITE_TIMEOUT,
    SITE_TLS_ERROR,
    SITE_UNAVAILABLE,
    UNTRUSTED_HUB_KEY,
    WRONG_SITE_KIND,
    ContractError,
)
from mx_schema.ids import SITE_NAME

if TYPE_CHECKING:
    from mx_hub.context import HubContext

SDL_QUERY = "{ _service { sdl } }"
INFO_QUERY = {
    "site": "{ siteInfo { name backend schemaVersion } }",
    "lims": "{ limsInfo { name schemaVersion } }",
}
KEY_HELP = (
    "give the site this hub's public key: `mxhub hub key --hub HUB_URL > hub.pem` (or GET HUB_URL/hub-key), "
    "then restart the site with `--trust-hub-key hub.pem`"
)


class RegistrationError(ContractError):
    """Why a site cannot be registered; `extensions` carry what the operator needs (ids, names), no secrets."""

    def __init__(self, message: str, *, code: str, **extensions: Any) -> None:
        super().__init__(message, code=code)
        self.extensions = {k: v for k, v in extensions.items() if v is not None}


def graphql_url(url: str) -> str:
    url = url.rstrip("/")
    return url if url.endswith("/graphql") else url + "/graphql"


def transport_cause(failure: BaseException) -> tuple[str, str]:
    """(code, reason) for a call that got no HTTP answer, from the chain of exceptions under it
    (httpx wraps httpcore wraps the socket's error; `raise ... from None` keeps it as __context__)."""
    seen: set[int] = set()
    exc: BaseException | None = failure
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, ssl.SSLCertVerificationError):
            return SITE_TLS_ERROR, f"its TLS certificate is not trusted ({exc.verify_message})"
        if isinstance(exc, ssl.SSLError):
            return SITE_TLS_ERROR, (
                f"the TLS handshake failed ({exc.reason or type(exc).__name__}); is the site "
                "serving plain http on that port? then register it with an http:// URL"
            )
        if isinstance(exc, socket.gaierror):
            return SITE_UNAVAILABLE, "its host name does not resolve (DNS): check the URL's host"
        if isinstance(exc, ConnectionRefusedError):
            return SITE_UNAVAILABLE, (
                "the connection was refused: nothing listens at that host and port; is "
                "`mxhub site serve` running there, with that --host and --port?"
            )
        exc = exc.__cause__ or exc.__context__
    if isinstance(failure, SiteFailure) and failure.code == SITE_TIMEOUT:
        return SITE_TIMEOUT, "it did not answer in time"
    return getattr(failure, "code", SITE_UNAVAILABLE), str(failure)


def _first_error(answer: SiteAnswer) -> dict[str, Any]:
    first = answer.errors[0] if answer.errors and isinstance(answer.errors[0], dict) else {}
    ext = first.get("extensions")
    return {"message": str(first.get("message") or "error"), **(ext if isinstance(ext, dict) else {})}


def refusal(
    name: str, answer: SiteAnswer, hub_key_id: str | None, doing: str = "register"
) -> RegistrationError | None:
    """The site refused the hub's caller token: say which way, and what to do (`doing`: what failed,
    "register" or "check the health of")."""
    err = _first_error(answer)
    code = err.get("code")
    if code == UNTRUSTED_HUB_KEY:
        trusted = [str(k) for k in err.get("trustedKeyIds") or []]
        return RegistrationError(
            f"cannot {doing} {name}: the site trusts hub key(s) {', '.join(trusted) or '(none)'}, not this hub's "
            f"key {hub_key_id or err.get('keyId')}: {KEY_HELP}",
            code=UNTRUSTED_HUB_KEY,
            hubKeyId=hub_key_id or err.get("keyId"),
            trustedKeyIds=trusted,
        )
    if code == SITE_NAME_MISMATCH:
        return _name_mismatch(name, str(err.get("siteName") or "?"), doing)
    if code == CALLER_TOKEN_EXPIRED:
        return RegistrationError(
            f"cannot {doing} {name}: the site found this hub's token expired although it "
            "was just signed: set the hub's and the site's clocks right (NTP)",
            code=CALLER_TOKEN_EXPIRED,
        )
    if code in (CALLER_TOKEN_INVALID, "UNAUTHENTICATED"):
        return RegistrationError(
            f"cannot {doing} {name}: the site refused this hub's caller token ({err['message']})",
            code=str(code),
        )
    return None


def _name_mismatch(name: str, actual: str, doing: str = "register") -> RegistrationError:
    return RegistrationError(
        f"cannot {doing} {name}: the site at that URL calls itself {actual!r} (it was started with --name {actual}); "
        f"register it as {actual}, or restart it with --name {name}",
        code=SITE_NAME_MISMATCH,
        siteName=actual,
        registeredName=name,
    )


def endpoint_kind(sdl: str) -> str | None:
    """`site` or `lims` from what the endpoint's Query serves; None when it is neither."""
    try:
        query = parse_site_sdl(sdl).query_type
    except (GraphQLError, TypeError):
        return None
    fields = query.fields if query is not None else {}
    return "site" if "siteInfo" in fields else "lims" if "limsInfo" in fields else None


def _wrong_kind(name: str, url: str, asked: str, actual: str | None) -> RegistrationError:
    if actual == "lims":
        what = (
            f"it is a crystallisation LIMS source, not a site adapter: register it with --kind lims "
            f"(`mxhub hub register-site {name} {url} --kind lims`)"
        )
    elif actual == "site":
        what = (
            f"it is a site adapter, not a LIMS source: register it without --kind lims "
            f"(`mxhub hub register-site {name} {url}`)"
        )
    else:
        what = (
            "it is neither an mxhub site adapter nor a LIMS source (its schema has no siteInfo or limsInfo)"
        )
    return RegistrationError(
        f"cannot register {name} as a {asked}: {what}",
        code=WRONG_SITE_KIND,
        kind=actual,
        registeredKind=asked,
    )


async def _ask(ctx: HubContext, name: str, endpoint: str, query: str) -> SiteAnswer:
    try:
        return await ctx.client.query(name, endpoint, query, timeout=min(10.0, ctx.settings.site_timeout))
    except SiteFailure as failure:
        code, reason = transport_cause(failure)
        if code == SITE_ERROR:  # it answered, but not GraphQL: most often a wrong URL
            raise RegistrationError(
                f"cannot register {name}: {endpoint} did not answer GraphQL ({reason}); give the "
                "site's base URL, e.g. http://host:8001",
                code=code,
                reason=reason,
            ) from None
        raise RegistrationError(
            f"cannot register {name}: {endpoint} is unreachable: {reason}", code=code, reason=reason
        ) from None


def _hub_key_id(ctx: HubContext) -> str | None:
    key = ctx.client.signing_key
    return trust.key_id(key) if key is not None else None


async def register_site(ctx: HubContext, name: str, url: str, kind: str = "site") -> SiteRecord:
    """Fetch the site's SDL, check it against the contract and its health, then store it."""
    _check_request(name, url, kind)
    endpoint = graphql_url(url)
    start = time.perf_counter()
    answer = await _ask(ctx, name, endpoint, SDL_QUERY)
    latency = (time.perf_counter() - start) * 1000
    sdl = _served_sdl(ctx, name, endpoint, answer)
    actual = endpoint_kind(sdl)
    if actual != kind:
        raise _wrong_kind(name, url, kind, actual)
    info = await _info(ctx, name, endpoint, kind)
    if kind == "site":
        version, backend = _check_site(name, sdl, info)
    else:
        version, backend = _check_lims(name, sdl)
    _warn_if_ignored(ctx, name, answer)
    return await ctx.registry.upsert(name, endpoint, kind, version, backend, sdl, latency)


def _check_request(name: str, url: str, kind: str) -> None:
    if not SITE_NAME.match(name):
        raise ContractError(f"site name {name!r} must be lower-case letters, digits, '-' or '_'")
    if kind not in ("site", "lims"):
        raise ContractError("kind must be `site` or `lims`")
    if not url.startswith(("http://", "https://")):
        raise ContractError("url must be an http(s) URL of the site's GraphQL endpoint")


def _served_sdl(ctx: HubContext, name: str, endpoint: str, answer: SiteAnswer) -> str:
    """The SDL the endpoint serves as a federation subgraph, or why it cannot be registered."""
    refused = refusal(name, answer, _hub_key_id(ctx)) if answer.errors else None
    if refused is not None:
        raise refused
    sdl = ((answer.data or {}).get("_service") or {}).get("sdl")
    if answer.errors or not isinstance(sdl, str) or not sdl:
        err = _first_error(answer) if answer.errors else {"message": "no SDL in its answer"}
        raise RegistrationError(
            f"cannot register {name}: {endpoint} does not serve the federation `_service` "
            f"field ({err['message']}); is it an mxhub site adapter or LIMS source?",
            code=SITE_INCOMPATIBLE,
        )
    return sdl


async def _info(ctx: HubContext, name: str, endpoint: str, kind: str) -> dict[str, Any]:
    """The source's own description (siteInfo or limsInfo); a site's must carry the name registered."""
    info_answer = await _ask(ctx, name, endpoint, INFO_QUERY[kind])
    info = (info_answer.data or {}).get("siteInfo" if kind == "site" else "limsInfo") or {}
    if info_answer.errors or not info:
        raise RegistrationError(
            f"cannot register {name}: it answered {_first_error(info_answer)['message']!r} "
            f"to {INFO_QUERY[kind]}",
            code=SITE_ERROR,
        )
    if kind == "site" and info.get("name") != name:
        raise _name_mismatch(name, str(info.get("name")))
    return dict(info)


def _check_site(name: str, sdl: str, info: dict[str, Any]) -> tuple[str | None, str | None]:
    """(schema version, backend) of a site whose schema the hub can serve."""
    version, backend = info.get("schemaVersion"), info.get("backend")
    problems = differences(sdl, version)
    if problems:
        raise RegistrationError(
            f"cannot register {name}: schema incompatible: "
            + "; ".join(problems[:50])
            + ": run an mxhub site adapter of the hub's major schema version at the site",
            code=SITE_INCOMPATIBLE,
            schemaVersion=version,
        )
    return version, backend


def _check_lims(name: str, sdl: str) -> tuple[None, str]:
    if "crystallisation" not in sdl:
        raise RegistrationError(
            f"cannot register {name}: a LIMS source must extend Sample with `crystallisation`",
            code=SITE_INCOMPATIBLE,
        )
    return None, "lims"


def _warn_if_ignored(ctx: HubContext, name: str, answer: SiteAnswer) -> None:
    """A site that trusts no hub key serves the hub's callers as anonymous: registered, with a warning."""
    for warning in answer.extensions.get("warnings") or []:
        if isinstance(warning, dict) and warning.get("code") == CALLER_TOKEN_IGNORED:
            ctx.warnings.append(
                {
                    "code": CALLER_TOKEN_IGNORED,
                    "site": name,
                    "message": (
                        f"{name} is registered, but it trusts no hub key: it serves this hub's callers as anonymous "
                        f"(public, embargo-expired records only). To serve members and staff their records, {KEY_HELP}"
                    ),
                }
            )
