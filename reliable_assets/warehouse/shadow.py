"""`warehouse/revenue_shadow`: a candidate version of the revenue logic, run beside the real one.

Same partitions, backfill policy, upstream and automation as `warehouse/daily_revenue`. It writes
the candidate's own table (`shadow.daily_revenue_<version>`, see revenue_versions.py) and compares
every partition with the published logic's rows from the same orders (what `daily_revenue` writes
from them): `matches_published`, WARN, since a difference is what a candidate is for, not a reason
to stop production. Computing the published rows here instead of reading the published table
means no dependency on `daily_revenue`: with one, Dagster's backfill daemon put the shadow in a
layer of runs of its own (27 more runs in a year) whenever the model layer started while the last
order loads were still running (it compares the shadow's partitions with those requested for
`daily_revenue` before it has filtered them by `fact_orders`). Differences then come from the logic
alone, never from a published partition that is older than the orders.
"""

import dagster as dg
import pandas as pd

from reliable_assets.partitions import daily, model_backfill
from reliable_assets.toolkit.frame_diff import compare_versions
from reliable_assets.toolkit.partition_checks import check_spec
from reliable_assets.toolkit.partition_filter import PartitionFilter
from reliable_assets.toolkit.quality_gate import AuditedEvents
from reliable_assets.toolkit.retries import retried_if_transient
from reliable_assets.toolkit.warehouse import Warehouse
from reliable_assets.toolkit.warehouse_io_manager import TABLE_METADATA
from reliable_assets.warehouse.assets import (
    FOLLOW_UPSTREAM,
    KINDS,
    REVENUE_INS,
    REVENUE_METADATA,
    WAREHOUSE_IO,
    publish_revenue,
    revenue_orders,
)
from reliable_assets.warehouse.checks import TABLE_CHECKS
from reliable_assets.warehouse.revenue_versions import (
    CONSUMER_VIEW,
    CURRENT_VERSION,
    REVENUE_LOGIC,
    shadow_target,
)

SHADOW_KEY = dg.AssetKey(["warehouse", "revenue_shadow"])
MATCHES_PUBLISHED = "matches_published"
REVENUE_KEY = ["revenue_date", "country"]


def matches_published(shadow_rows: pd.DataFrame, published_rows: pd.DataFrame) -> dg.AssetCheckResult:
    """The shadow's rows of a partition against the published rows of the same partition."""
    return compare_versions(
        shadow_rows, published_rows, REVENUE_KEY, MATCHES_PUBLISHED, labels=("shadow", "published")
    )


def published_revenue(warehouse: Warehouse, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    """The published (current version's) revenue rows of days [start, end); none if never written."""
    baseline = CONSUMER_VIEW.baseline
    if not warehouse.table_exists(baseline.schema, baseline.table):
        return pd.DataFrame(columns=list(CONSUMER_VIEW.columns))
    return warehouse.read_table(
        baseline.schema, baseline.table, partition=PartitionFilter.time_range("revenue_date", start, end)
    )


def build_daily_revenue_shadow(candidate: str) -> dg.AssetsDefinition:
    """The shadow asset running revenue logic ``candidate`` (a key of REVENUE_LOGIC)."""
    logic = REVENUE_LOGIC[candidate]
    target = shadow_target(candidate)

    @dg.asset(
        code_version=candidate,
        key=SHADOW_KEY,
        ins=REVENUE_INS,
        deps=[dg.AssetDep(["warehouse", "fact_orders"])],
        partitions_def=daily,
        backfill_policy=model_backfill,
        metadata={**REVENUE_METADATA, TABLE_METADATA: target.table_name, "logic_version": candidate},
        automation_condition=FOLLOW_UPSTREAM,
        check_specs=[
            *TABLE_CHECKS["daily_revenue"].specs(daily, asset_key=SHADOW_KEY.path),
            check_spec(MATCHES_PUBLISHED, SHADOW_KEY.path, blocking=False, partitions_def=daily),
        ],
        output_required=False,
        group_name="warehouse",
        io_manager_key=WAREHOUSE_IO,
        kinds=KINDS,
        description=f"Revenue by candidate logic {candidate!r}, in {target.table_name}, compared with"
        " warehouse/daily_revenue per day.",
    )
    @retried_if_transient
    def daily_revenue_shadow(
        context: dg.AssetExecutionContext, customers: pd.DataFrame, warehouse: Warehouse
    ) -> AuditedEvents:
        orders = revenue_orders(context, warehouse)
        published = REVENUE_LOGIC[CURRENT_VERSION](orders, customers)
        by_day = dict(list(published.groupby(published["revenue_date"].map(_day_key))))

        def compared(key: str | None, rows: pd.DataFrame) -> list[dg.AssetCheckResult]:
            return [matches_published(rows, by_day.get(str(key), published.iloc[0:0]))]

        yield from publish_revenue(
            context, customers, warehouse, logic, run_time_checks=compared, orders=orders
        )

    return daily_revenue_shadow


def _day_key(value: object) -> str:
    return pd.Timestamp(value).date().isoformat()  # type: ignore[arg-type]
