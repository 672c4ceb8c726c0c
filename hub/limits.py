"""The hub's query limits are the federation's, kept in mx_schema.limits so that sites and LIMS apply the
same ones; this module keeps the hub's old import path working."""

from mx_schema.limits import *  # noqa: F401,F403
from mx_schema.limits import HUB_RULES, MAX_ALIASES, MAX_DEPTH, MAX_PAGE_SIZE, MAX_TOKENS, Measure  # noqa: F401
