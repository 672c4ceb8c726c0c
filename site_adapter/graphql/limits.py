"""The federation's query limits (mx_schema.limits: depth, aliases, cost, tokens) as strawberry extensions,
so a site and a LIMS refuse what the hub refuses (issue 15: a site once answered 60 aliases of 500
records in 25 s and 16 MB)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from strawberry.extensions import AddValidationRules, MaxTokensLimiter

from mx_schema.limits import MAX_TOKENS, RULES


def limit_extensions() -> list[Callable[[], Any]]:
    return [lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS), lambda: AddValidationRules(list(RULES))]
