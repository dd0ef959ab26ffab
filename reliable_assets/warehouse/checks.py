"""The quality checks of each warehouse table, in one place.

The assets run them on every candidate frame before publishing it (write, audit, publish), and
`reliable-assets check` runs the very same functions on what is already in the warehouse.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property

import dagster as dg
import pandas as pd
import pandera.pandas as pa

from reliable_assets.toolkit.frame_checks import not_null_check, referential_check, unique_check
from reliable_assets.toolkit.pandera_checks import pandera_check_results, pandera_check_specs
from reliable_assets.toolkit.partition_checks import check_spec
from reliable_assets.toolkit.warehouse import Warehouse
from reliable_assets.warehouse.schemas import (
    DailyEvents,
    DailyRevenue,
    DimCustomers,
    FactOrders,
    UserFeatures,
)


class References:
    """What checks compare against (known customers), read from the warehouse at most once per
    audit however many partitions are checked."""

    def __init__(self, warehouse: Warehouse) -> None:
        self._warehouse = warehouse

    @cached_property
    def known_customers(self) -> set[int]:
        if not self._warehouse.table_exists("warehouse", "dim_customers"):
            return set()
        return set(self._warehouse.read_table("warehouse", "dim_customers")["customer_id"].astype(int))


ExtraChecks = Callable[[pd.DataFrame, References], list[dg.AssetCheckResult]]


@dataclass(frozen=True)
class TableChecks:
    """A table's pandera contract plus its key and reference checks; all blocking, all ERROR."""

    table: str
    model: type[pa.DataFrameModel]
    extra_check_names: tuple[str, ...]
    extra_checks: ExtraChecks

    @property
    def asset_key(self) -> list[str]:
        return ["warehouse", self.table]

    def specs(
        self, partitions_def: dg.PartitionsDefinition | None = None, asset_key: Sequence[str] | None = None
    ) -> list[dg.AssetCheckSpec]:
        """The check specs on the table's own asset, or on ``asset_key`` (a shadow of it)."""
        key = list(asset_key or self.asset_key)
        extra = [
            check_spec(name, key, blocking=True, partitions_def=partitions_def)
            for name in self.extra_check_names
        ]
        return [*pandera_check_specs(self.model, key, partitions_def=partitions_def), *extra]

    def evaluate(self, frame: pd.DataFrame, references: References) -> list[dg.AssetCheckResult]:
        return [*pandera_check_results(self.model, frame), *self.extra_checks(frame, references)]


TABLE_CHECKS = {
    checks.table: checks
    for checks in [
        TableChecks(
            "dim_customers",
            DimCustomers,
            ("customer_id_unique",),
            lambda frame, _: [unique_check(frame, ["customer_id"], "customer_id_unique")],
        ),
        TableChecks(
            "fact_orders",
            FactOrders,
            ("order_id_unique", "amount_usd_not_null", "customer_known"),
            lambda frame, references: [
                unique_check(frame, ["order_id"], "order_id_unique"),
                not_null_check(frame, ["amount_usd"], "amount_usd_not_null"),
                referential_check(frame, "customer_id", references.known_customers, "customer_known"),
            ],
        ),
        TableChecks(
            "daily_events",
            DailyEvents,
            ("event_id_unique",),
            lambda frame, _: [unique_check(frame, ["event_id"], "event_id_unique")],
        ),
        TableChecks(
            "user_features",
            UserFeatures,
            ("user_day_unique",),
            lambda frame, _: [unique_check(frame, ["user_id", "feature_date"], "user_day_unique")],
        ),
        TableChecks(
            "daily_revenue",
            DailyRevenue,
            ("day_country_unique",),
            lambda frame, _: [unique_check(frame, ["revenue_date", "country"], "day_country_unique")],
        ),
    ]
}
