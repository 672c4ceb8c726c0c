"""The context of one hub request: who calls, the registry and site client it uses, and what the sites
did (errors naming them, a report per site, warnings, time spent waiting). Holds; decides nothing."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mx_hub.auth import ANONYMOUS, ApiTokens, Caller
from mx_hub.client import SiteClient, SiteFailure
from mx_hub.fanout import FAILURE_STATUS, SiteReport, failure_entry
from mx_hub.registry import Registry
from mx_hub.settings import HubSettings


@dataclass
class HubContext:
    registry: Registry
    client: SiteClient
    settings: HubSettings
    caller: Caller = ANONYMOUS
    api_tokens: ApiTokens | None = None
    raw_variables: dict[str, Any] = field(default_factory=dict)  # as the caller sent them: forwarded as-is
    site_errors: list[dict[str, Any]] = field(default_factory=list)
    reports: dict[str, SiteReport] = field(default_factory=dict)
    warnings: list[dict[str, Any]] = field(default_factory=list)
    total_complete: bool = True
    site_wait_ms: float = 0.0  # time spent waiting for sites (per phase, the slowest): the rest is the hub's

    @property
    def is_admin(self) -> bool:
        return self.caller.admin

    def report(self, name: str, status: str, ms: float | None = None) -> None:
        previous = self.reports.get(name)
        if previous is None or previous.status == "ok":
            self.reports[name] = SiteReport(name, status, None if ms is None else round(ms, 2))

    def failed(
        self, name: str, error: dict[str, Any], status: str = "error", ms: float | None = None
    ) -> None:
        """A site gave nothing usable: its error is shown, its report says so, the total is incomplete."""
        self.site_errors.append(error)
        self.report(name, status, ms)
        self.total_complete = False

    def warn(self, entry: dict[str, Any]) -> None:
        """A warning for `extensions.warnings`, once per request however many pages or phases repeat it."""
        if entry not in self.warnings:
            self.warnings.append(entry)

    def record_failure(self, failure: SiteFailure, path: list[Any]) -> None:
        self.failed(failure.site, failure_entry(failure, path), FAILURE_STATUS.get(failure.code, "error"))
