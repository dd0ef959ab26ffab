"""The warehouse layer: typed, cleaned tables in the `warehouse` schema.

Every asset here audits its candidate frame before publishing it (see toolkit/quality_gate.py):
a partition that fails a blocking check is quarantined, not written, and downstream does not run.
"""

from collections.abc import Iterator, Sequence
from datetime import timedelta

import dagster as dg
import pandas as pd
import pandera.pandas as pa
from pydantic import Field

from reliable_assets.partitions import chunked_backfill, daily
from reliable_assets.toolkit.dead_letters import DeadLetter, DeadLetterQueue
from reliable_assets.toolkit.frame_checks import not_null_check, referential_check, unique_check
from reliable_assets.toolkit.pandera_checks import pandera_check_results, pandera_check_specs
from reliable_assets.toolkit.partition_days import partition_days
from reliable_assets.toolkit.partition_filter import PartitionFilter
from reliable_assets.toolkit.quality_gate import gated, warehouse_quarantine
from reliable_assets.toolkit.versioned_output import versioned_output
from reliable_assets.toolkit.warehouse import Warehouse
from reliable_assets.warehouse.customers import diff_customer_snapshot
from reliable_assets.warehouse.events import clean_events
from reliable_assets.warehouse.features import daily_revenue as revenue_by_country
from reliable_assets.warehouse.features import user_features as features_as_of
from reliable_assets.warehouse.orders import RejectedOrder, clean_orders
from reliable_assets.warehouse.schemas import (
    DailyEvents,
    DailyRevenue,
    DimCustomers,
    FactOrders,
    UserFeatures,
)

WAREHOUSE_IO = "warehouse_io_manager"
KINDS = {"pandas", "sql"}
AssetEvents = Iterator[dg.Output[pd.DataFrame] | dg.AssetCheckResult]
FOLLOW_UPSTREAM = dg.AutomationCondition.eager()


def _checks(model: type[pa.DataFrameModel], table: str, *extra: str) -> list[dg.AssetCheckSpec]:
    """The table's pandera contracts plus its extra (unique/not-null/referential) checks, all blocking."""
    key = ["warehouse", table]
    return [
        *pandera_check_specs(model, key),
        *(dg.AssetCheckSpec(name, asset=key, blocking=True) for name in extra),
    ]


def _publish(
    context: dg.AssetExecutionContext,
    warehouse: Warehouse,
    frame: pd.DataFrame,
    model: type[pa.DataFrameModel],
    extra_results: Sequence[dg.AssetCheckResult],
    **metadata: object,
) -> AssetEvents:
    """Audit the candidate frame, then publish it or quarantine it."""
    results = [*pandera_check_results(model, frame), *extra_results]
    blocking = {spec.name for spec in context.assets_def.check_specs if spec.blocking}
    label = context.partition_key_range.start if context.has_partition_key else "all"
    if context.has_partition_key_range and not context.has_partition_key:
        label = f"{context.partition_key_range.start}...{context.partition_key_range.end}"
    quarantine = warehouse_quarantine(warehouse, context.asset_key.path[-1], frame, label, context.run.run_id)
    yield from gated(lambda: versioned_output(context, frame, **metadata), results, blocking, quarantine)


class BadRecordConfig(dg.Config):
    max_bad_record_rate: float = Field(
        default=0.05,
        ge=0,
        le=1,
        description="Above this share of refused records the batch fails without writing anything.",
    )


def _check_bad_record_rate(bad: int, total: int, limit: float, what: str) -> None:
    """A batch this broken means the source is broken: stop, write nothing, do not retry."""
    if total and bad / total > limit:
        raise dg.Failure(
            description=(
                f"{bad} of {total} {what} ({bad / total:.1%}) were refused, above the {limit:.0%} limit. "
                "Nothing was written. Inspect the source, or raise max_bad_record_rate in the run config."
            ),
            metadata={"refused": bad, "total": total},
            allow_retries=False,
        )


@dg.asset(
    key=["warehouse", "dim_customers"],
    ins={"snapshot": dg.AssetIn(key=["raw", "customers"])},
    metadata={"write_mode": "replace"},
    automation_condition=FOLLOW_UPSTREAM,
    check_specs=_checks(DimCustomers, "dim_customers", "customer_id_unique"),
    output_required=False,
    group_name="warehouse",
    io_manager_key=WAREHOUSE_IO,
    kinds=KINDS,
)
def dim_customers(
    context: dg.AssetExecutionContext, snapshot: pd.DataFrame, warehouse: Warehouse
) -> AssetEvents:
    """Current customers; inserts, updates and deletes found by row hash (`is_deleted`, `valid_from`)."""
    previous = (
        warehouse.read_table("warehouse", "dim_customers")
        if warehouse.table_exists("warehouse", "dim_customers")
        else None
    )
    dimension, counts = diff_customer_snapshot(previous, snapshot)
    checks = [unique_check(dimension, ["customer_id"], "customer_id_unique")]
    yield from _publish(context, warehouse, dimension, DimCustomers, checks, **counts)


@dg.asset(
    key=["warehouse", "fact_orders"],
    ins={
        "raw_orders": dg.AssetIn(key=["raw", "orders"]),
        "fx_rates": dg.AssetIn(key=["raw", "fx_rates"]),
        "customers": dg.AssetIn(key=["warehouse", "dim_customers"]),
    },
    partitions_def=daily,
    backfill_policy=chunked_backfill,
    metadata={
        "write_mode": "upsert",
        "primary_key": ["order_id"],
        "version_column": "extract_date",
        "partition_expr": "extract_date",
    },
    automation_condition=FOLLOW_UPSTREAM,
    check_specs=_checks(
        FactOrders, "fact_orders", "order_id_unique", "amount_usd_not_null", "customer_known"
    ),
    output_required=False,
    group_name="warehouse",
    io_manager_key=WAREHOUSE_IO,
    kinds=KINDS,
)
def fact_orders(
    context: dg.AssetExecutionContext,
    config: BadRecordConfig,
    raw_orders: pd.DataFrame,
    fx_rates: pd.DataFrame,
    customers: pd.DataFrame,
    dead_letters: DeadLetterQueue,
    warehouse: Warehouse,
) -> AssetEvents:
    """Cleaned, typed order versions in USD, upserted on `order_id`; refused rows become dead letters."""
    known_customers = set(customers["customer_id"].astype(int))
    fact, rejected = clean_orders(raw_orders, fx_rates, known_customers)
    _check_bad_record_rate(len(rejected), len(raw_orders), config.max_bad_record_rate, "order versions")
    for day in partition_days(context):
        dead_letters.replace_for_partition(
            "warehouse/fact_orders",
            day.isoformat(),
            [_order_dead_letter(r) for r in rejected if pd.Timestamp(r.record["extract_date"]).date() == day],
            run_id=context.run.run_id,
        )
    checks = [
        unique_check(fact, ["order_id"], "order_id_unique"),
        not_null_check(fact, ["amount_usd"], "amount_usd_not_null"),
        referential_check(fact, "customer_id", known_customers, "customer_known"),
    ]
    yield from _publish(
        context, warehouse, fact, FactOrders, checks, source_rows=len(raw_orders), dead_letters=len(rejected)
    )


def _order_dead_letter(rejected: RejectedOrder) -> DeadLetter:
    return DeadLetter(
        record=rejected.record, error_type=rejected.error_type, error_message=rejected.error_message
    )


@dg.asset(
    key=["warehouse", "daily_events"],
    ins={"raw_events": dg.AssetIn(key=["raw", "events"])},
    partitions_def=daily,
    backfill_policy=chunked_backfill,
    metadata={"partition_expr": "event_date"},
    automation_condition=FOLLOW_UPSTREAM,
    check_specs=_checks(DailyEvents, "daily_events", "event_id_unique"),
    output_required=False,
    group_name="warehouse",
    io_manager_key=WAREHOUSE_IO,
    kinds=KINDS,
)
def daily_events(
    context: dg.AssetExecutionContext, raw_events: pd.DataFrame, warehouse: Warehouse
) -> AssetEvents:
    """Cleaned clickstream events, one partition per `event_date`."""
    cleaned = clean_events(raw_events)
    yield from _publish(
        context, warehouse, cleaned, DailyEvents, [unique_check(cleaned, ["event_id"], "event_id_unique")]
    )


@dg.asset(
    key=["warehouse", "user_features"],
    ins={
        "events": dg.AssetIn(key=["warehouse", "daily_events"]),
        "customers": dg.AssetIn(key=["warehouse", "dim_customers"]),
    },
    deps=[dg.AssetDep(["warehouse", "fact_orders"])],
    partitions_def=daily,
    backfill_policy=chunked_backfill,
    metadata={
        "write_mode": "upsert",
        "primary_key": ["user_id", "feature_date"],
        "partition_expr": "feature_date",
    },
    automation_condition=FOLLOW_UPSTREAM,
    check_specs=_checks(UserFeatures, "user_features", "user_day_unique"),
    output_required=False,
    group_name="warehouse",
    io_manager_key=WAREHOUSE_IO,
    kinds=KINDS,
)
def user_features(
    context: dg.AssetExecutionContext, events: pd.DataFrame, customers: pd.DataFrame, warehouse: Warehouse
) -> AssetEvents:
    """Per-user activity and order history as of each day, upserted on (`user_id`, `feature_date`)."""
    days = partition_days(context)
    orders = warehouse.read_table(
        "warehouse",
        "fact_orders",
        partition=PartitionFilter.time_range(
            "order_date", pd.Timestamp("1970-01-01"), pd.Timestamp(days[-1] + timedelta(days=1))
        ),
    )
    features = pd.concat([features_as_of(day, events, customers, orders) for day in days], ignore_index=True)
    checks = [unique_check(features, ["user_id", "feature_date"], "user_day_unique")]
    yield from _publish(
        context, warehouse, features, UserFeatures, checks, users=int(features["user_id"].nunique())
    )


@dg.asset(
    key=["warehouse", "daily_revenue"],
    ins={"customers": dg.AssetIn(key=["warehouse", "dim_customers"])},
    deps=[dg.AssetDep(["warehouse", "fact_orders"])],
    partitions_def=daily,
    backfill_policy=chunked_backfill,
    metadata={"partition_expr": "revenue_date"},
    automation_condition=FOLLOW_UPSTREAM,
    check_specs=_checks(DailyRevenue, "daily_revenue", "day_country_unique"),
    output_required=False,
    group_name="warehouse",
    io_manager_key=WAREHOUSE_IO,
    kinds=KINDS,
)
def daily_revenue(
    context: dg.AssetExecutionContext, customers: pd.DataFrame, warehouse: Warehouse
) -> AssetEvents:
    """Revenue per order day and country in USD: the consumer-facing table with the strictest SLA."""
    window = context.partition_time_window
    orders = warehouse.read_table(
        "warehouse",
        "fact_orders",
        partition=PartitionFilter.time_range("order_date", window.start, window.end),
    )
    revenue = revenue_by_country(orders, customers)
    checks = [unique_check(revenue, ["revenue_date", "country"], "day_country_unique")]
    yield from _publish(
        context,
        warehouse,
        revenue,
        DailyRevenue,
        checks,
        total_revenue_usd=float(revenue["revenue_usd"].sum()),
    )
