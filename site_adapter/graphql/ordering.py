"""dataCollections(orderBy:) (since 1.2.0): the GraphQL input and its translation to a SortOrder.

What each field sorts by lives in mx_schema.cursors (DATA_COLLECTION_ORDER_FIELDS) and
site_adapter.query (Metric); each backend compiles it. No SQL here.
"""

from __future__ import annotations

from enum import Enum

import strawberry

from mx_schema.cursors import SortOrder, sort_order


@strawberry.enum(
    description="What dataCollections(orderBy:) sorts by (since 1.2.0). The statistics are those of the "
    "overall shell of `bestProcessing` (the successful result with the smallest overall resolutionHigh)."
)
class DataCollectionOrderField(Enum):
    START_TIME = strawberry.enum_value("START_TIME", description="startTime.")
    RESOLUTION = strawberry.enum_value(
        "RESOLUTION", description="bestProcessing.overall.resolutionHigh (Å; smaller is better)."
    )
    COMPLETENESS = strawberry.enum_value(
        "COMPLETENESS", description="bestProcessing.overall.completeness (%)."
    )
    CC_HALF = strawberry.enum_value("CC_HALF", description="bestProcessing.overall.ccHalf (fraction 0-1).")
    I_OVER_SIGMA = strawberry.enum_value(
        "I_OVER_SIGMA", description="bestProcessing.overall.meanIOverSigI (mean I/sigma(I))."
    )


@strawberry.enum(description="Ascending or descending (since 1.2.0).")
class OrderDirection(Enum):
    ASC = "ASC"
    DESC = "DESC"


@strawberry.input(
    description="An order for dataCollections (since 1.2.0): records without the value (no start time, no "
    "successful processing) come last in both directions; ties break on localId in the same direction, "
    "then (at the hub) on the site name. Cursors belong to the order they were served in."
)
class DataCollectionOrder:
    field: DataCollectionOrderField
    direction: OrderDirection = OrderDirection.ASC


def to_sort_order(order: DataCollectionOrder | None) -> SortOrder | None:
    """None (the default order, startTime descending) when no order or that very order is given."""
    if order is None:
        return None
    return sort_order(order.field.name, order.direction is OrderDirection.DESC)
