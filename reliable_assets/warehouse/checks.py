"""The quality checks of each warehouse table, in one place.

The assets run them on every candidate frame before publishing it (write, audit, publish), and
`reliable-assets check` runs the very same functions on what is already in the warehouse.
"""

from collections.abc import Callable
from dataclasses import dataclass

import dagster as dg
import pandas as pd
import pandera.pandas as pa

from reliable_assets.toolkit.frame_checks import not_null_check, referential_check, unique_check
from reliable_assets.toolkit.pandera_checks import pandera_check_results, pandera_check_specs
from reliable_assets.toolkit.warehouse import Warehouse
from reliable_assets.warehouse.schemas import (
    DailyEvents,
    DailyRevenue,
    DimCustomers,
    FactOrders,
    UserFeatures,
)

ExtraChecks = Callable[[pd.DataFrame, Warehouse], list[dg.AssetCheckResult]]


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

    def specs(self) -> list[dg.AssetCheckSpec]:
        extra = [
            dg.AssetCheckSpec(name, asset=self.asset_key, blocking=True) for name in self.extra_check_names
        ]
        return [*pandera_check_specs(self.model, self.asset_key), *extra]

    def evaluate(self, frame: pd.DataFrame, warehouse: Warehouse) -> list[dg.AssetCheckResult]:
        return [*pandera_check_results(self.model, frame), *self.extra_checks(frame, warehouse)]


def _known_customers(warehouse: Warehouse) -> set[int]:
    if not warehouse.table_exists("warehouse", "dim_customers"):
        return set()
    return set(warehouse.read_table("warehouse", "dim_customers")["customer_id"].astype(int))


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
            lambda frame, warehouse: [
                unique_check(frame, ["order_id"], "order_id_unique"),
                not_null_check(frame, ["amount_usd"], "amount_usd_not_null"),
                referential_check(frame, "customer_id", _known_customers(warehouse), "customer_known"),
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
