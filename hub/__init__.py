"""The hub: one GraphQL endpoint over every registered site adapter and LIMS source.

Depends on mx_schema (the contract) only; it never imports site_adapter. Pure planning, merging
and cursor code (plan.py, merge.py) is kept apart from network code (client.py, fanout.py).
"""
