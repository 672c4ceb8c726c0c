"""The hub: one GraphQL endpoint over every registered site adapter and LIMS source.

Depends on mx_schema (the contract) only; it never imports site_adapter. Pure planning, merging
and cursor code (plan.py, merge.py) is kept apart from network code (client.py, fanout.py).
"""

if __name__ == "hub":  # imported by its folder name: be mx_hub, not a second copy
    from mx_schema.aliases import alias

    alias("hub", "mx_hub")
