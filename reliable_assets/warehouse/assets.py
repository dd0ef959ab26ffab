"""The warehouse layer: typed, cleaned tables in the `warehouse` schema.

Every asset here audits its candidate frame before publishing it (see toolkit/quality_gate.py):
a partition that fails a blocking check is quarantined, not written, and downstream does not run.
"""

from collections import Counter
from collections.abc import Callable, Mapping
from datetime import date, timedelta
from typing import Any

import dagster as dg
import pandas as pd
from pydantic import Field

from reliable_assets.partitions import chunked_backfill, daily, model_backfill, order_load_backfill
from reliable_assets.toolkit.automation import follow_upstream
from reliable_assets.toolkit.dead_letters import DeadLetter, DeadLetterQueue
from reliable_assets.toolkit.frame_checks import reconciliation_check
from reliable_assets.toolkit.partition_checks import PartitionChecks, check_spec
from reliable_assets.toolkit.partition_days import partition_days
from reliable_assets.toolkit.partition_filter import PartitionFilter
from reliable_assets.toolkit.quality_gate import AuditedEvents, publish_audited
from reliable_assets.toolkit.retries import retried_if_transient
from reliable_assets.toolkit.row_count_history import row_count_anomaly_checks, row_count_anomaly_spec
from reliable_assets.toolkit.versioned_output import versioned_output
from reliable_assets.toolkit.warehouse import Warehouse
from reliable_assets.warehouse.checks import TABLE_CHECKS, References, TableChecks
from reliable_assets.warehouse.customers import diff_customer_snapshot
from reliable_assets.warehouse.events import clean_events
from reliable_assets.warehouse.features import EVENT_FEATURE_COLUMNS, ORDER_HISTORY_COLUMNS, order_history
from reliable_assets.warehouse.features import user_features as features_as_of
from reliable_assets.warehouse.orders import RejectedOrder, clean_orders
from reliable_assets.warehouse.releases import consumer_view_exists
from reliable_assets.warehouse.revenue_versions import CURRENT_VERSION, REVENUE_LOGIC, RevenueLogic

WAREHOUSE_IO = "warehouse_io_manager"
KINDS = {"pandas", "sql"}
DIM_CUSTOMERS = dg.AssetKey(["warehouse", "dim_customers"])
# Every daily partition reads the whole customer dimension: its updates refresh the latest day
# only, while an update of a partitioned dependency re-runs that very day, however old.
FOLLOW_UPSTREAM = follow_upstream(latest_only=dg.AssetSelection.assets(DIM_CUSTOMERS))
# Recorded per fact_orders partition: the order days its rows belong to, which
# warehouse/sensors.py turns into re-runs of those days' revenue and features.
CHANGED_ORDER_DATES = "changed_order_dates"


def _publish(
    context: dg.AssetExecutionContext,
    warehouse: Warehouse,
    frame: pd.DataFrame,
    *,
    run_time_checks: PartitionChecks | None = None,
    metadata: Mapping[str, object] | None = None,
    on_publish: Callable[[], None] | None = None,
    table_checks: TableChecks | None = None,
) -> AuditedEvents:
    """Audit each partition of the candidate frame with the table's checks (plus checks only the
    run can compute, such as reconciliation with its source), then publish it or quarantine it."""
    table_checks = table_checks or TABLE_CHECKS[context.asset_key.path[-1]]
    references = References(warehouse)

    def checks(key: str | None, rows: pd.DataFrame) -> list[dg.AssetCheckResult]:
        extra = run_time_checks(key, rows) if run_time_checks else []
        return [*table_checks.evaluate(rows, references), *extra]

    yield from publish_audited(
        context,
        warehouse,
        lambda: versioned_output(context, frame, **(metadata or {})),
        frame,
        checks,
        on_publish,
    )


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
    code_version="v1",
    key=["warehouse", "dim_customers"],
    ins={"snapshot": dg.AssetIn(key=["raw", "customers"])},
    metadata={"write_mode": "replace"},
    automation_condition=FOLLOW_UPSTREAM,
    check_specs=TABLE_CHECKS["dim_customers"].specs(),
    output_required=False,
    group_name="warehouse",
    io_manager_key=WAREHOUSE_IO,
    kinds=KINDS,
)
@retried_if_transient
def dim_customers(
    context: dg.AssetExecutionContext, snapshot: pd.DataFrame, warehouse: Warehouse
) -> AuditedEvents:
    """Current customers; inserts, updates and deletes found by row hash (`is_deleted`, `valid_from`)."""
    previous = (
        warehouse.read_table("warehouse", "dim_customers")
        if warehouse.table_exists("warehouse", "dim_customers")
        else None
    )
    dimension, counts = diff_customer_snapshot(previous, snapshot)
    yield from _publish(context, warehouse, dimension, metadata=counts)


@dg.asset(
    code_version="v1",
    key=["warehouse", "fact_orders"],
    ins={
        "raw_orders": dg.AssetIn(key=["raw", "orders"]),
        "fx_rates": dg.AssetIn(key=["raw", "fx_rates"]),
        "customers": dg.AssetIn(key=["warehouse", "dim_customers"]),
    },
    partitions_def=daily,
    backfill_policy=order_load_backfill,
    metadata={
        "write_mode": "upsert",
        "primary_key": ["order_id"],
        "version_column": "extract_date",
        "partition_expr": "extract_date",
    },
    automation_condition=FOLLOW_UPSTREAM,
    check_specs=[
        *TABLE_CHECKS["fact_orders"].specs(daily),
        check_spec(
            "source_rows_reconciled", ["warehouse", "fact_orders"], blocking=True, partitions_def=daily
        ),
    ],
    output_required=False,
    group_name="warehouse",
    io_manager_key=WAREHOUSE_IO,
    kinds=KINDS,
)
@retried_if_transient
def fact_orders(
    context: dg.AssetExecutionContext,
    config: BadRecordConfig,
    raw_orders: pd.DataFrame,
    fx_rates: pd.DataFrame,
    customers: pd.DataFrame,
    dead_letters: DeadLetterQueue,
    warehouse: Warehouse,
) -> AuditedEvents:
    """Cleaned, typed order versions in USD, upserted on `order_id`; refused rows become dead letters."""
    fact, rejected, superseded = clean_orders(raw_orders, fx_rates, set(customers["customer_id"].astype(int)))
    _check_bad_record_rate(len(rejected), len(raw_orders), config.max_bad_record_rate, "order versions")
    source_rows = Counter(_day_key(day) for day in raw_orders["extract_date"])
    refused = Counter(_day_key(r.record["extract_date"]) for r in rejected)

    def reconciled(key: str | None, rows: pd.DataFrame) -> list[dg.AssetCheckResult]:
        day = str(key)
        accounted = {
            "loaded": len(rows),
            "dead_lettered": refused[day],
            "superseded_in_range": superseded.get(day, 0),
        }
        return [reconciliation_check("source_rows_reconciled", source_rows[day], accounted)]

    def record_dead_letters() -> None:
        # Every day of the run is a key, so a day whose rows are all good now clears its old letters.
        by_day: dict[str, list[DeadLetter]] = {day.isoformat(): [] for day in partition_days(context)}
        for r in rejected:
            day = _day_key(r.record["extract_date"])
            if day in by_day:
                by_day[day].append(_order_dead_letter(r))
        dead_letters.replace_for_partitions("warehouse/fact_orders", by_day, run_id=context.run.run_id)

    _record_changed_order_dates(context, fact)
    yield from _publish(
        context,
        warehouse,
        fact,
        run_time_checks=reconciled,
        metadata={"source_rows": len(raw_orders), "dead_letters": len(rejected)},
        on_publish=record_dead_letters,
    )


def _record_changed_order_dates(context: dg.AssetExecutionContext, fact: pd.DataFrame) -> None:
    """Per extract day, the order days of the rows it writes: orders placed earlier and updated
    that day change revenue and features of their order day, not of the extract day."""
    for day in partition_days(context):
        rows = fact.loc[fact["extract_date"] == pd.Timestamp(day)]
        order_days = sorted({_day_key(value) for value in rows["order_date"]})
        context.add_asset_metadata(
            {CHANGED_ORDER_DATES: dg.MetadataValue.json(order_days)}, partition_key=day.isoformat()
        )


def _day_key(value: Any) -> str:
    """The daily partition key (ISO date) of a date or timestamp value."""
    return pd.Timestamp(value).date().isoformat()


def _order_dead_letter(rejected: RejectedOrder) -> DeadLetter:
    return DeadLetter(
        record=rejected.record, error_type=rejected.error_type, error_message=rejected.error_message
    )


@dg.asset(
    code_version="v1",
    key=["warehouse", "daily_events"],
    ins={"raw_events": dg.AssetIn(key=["raw", "events"])},
    partitions_def=daily,
    backfill_policy=chunked_backfill,
    metadata={"partition_expr": "event_date"},
    automation_condition=FOLLOW_UPSTREAM,
    check_specs=[
        *TABLE_CHECKS["daily_events"].specs(daily),
        row_count_anomaly_spec(["warehouse", "daily_events"], daily),
    ],
    output_required=False,
    group_name="warehouse",
    io_manager_key=WAREHOUSE_IO,
    kinds=KINDS,
)
@retried_if_transient
def daily_events(
    context: dg.AssetExecutionContext, raw_events: pd.DataFrame, warehouse: Warehouse
) -> AuditedEvents:
    """Cleaned clickstream events, one partition per `event_date`."""
    cleaned = clean_events(raw_events)
    yield from _publish(
        context, warehouse, cleaned, run_time_checks=row_count_anomaly_checks(context, cleaned)
    )


@dg.asset(
    code_version="v1",
    key=["warehouse", "user_features"],
    ins={"customers": dg.AssetIn(key=["warehouse", "dim_customers"])},
    # Read a day at a time below rather than loaded as an input: a run's memory then stays that of
    # one day's events however many days it covers.
    deps=[dg.AssetDep(["warehouse", "daily_events"]), dg.AssetDep(["warehouse", "fact_orders"])],
    partitions_def=daily,
    backfill_policy=model_backfill,
    metadata={
        "write_mode": "upsert",
        "primary_key": ["user_id", "feature_date"],
        "partition_expr": "feature_date",
    },
    automation_condition=FOLLOW_UPSTREAM,
    check_specs=TABLE_CHECKS["user_features"].specs(daily),
    output_required=False,
    group_name="warehouse",
    io_manager_key=WAREHOUSE_IO,
    kinds=KINDS,
)
@retried_if_transient
def user_features(
    context: dg.AssetExecutionContext, customers: pd.DataFrame, warehouse: Warehouse
) -> AuditedEvents:
    """Per-user activity and order history as of each day, upserted on (`user_id`, `feature_date`)."""
    days = partition_days(context)
    orders = warehouse.read_table(
        "warehouse",
        "fact_orders",
        partition=PartitionFilter.time_range("order_date", pd.Timestamp("1970-01-01"), _day_after(days[-1])),
        columns=ORDER_HISTORY_COLUMNS,
    )
    history = order_history(orders, summarized_before=days[0])
    del orders  # the history before the run's days is now a row per customer
    features = pd.concat(
        [features_as_of(day, _events_of(warehouse, day), customers, history) for day in days],
        ignore_index=True,
    )
    yield from _publish(context, warehouse, features, metadata={"users": int(features["user_id"].nunique())})


def _day_after(day: date) -> pd.Timestamp:
    return pd.Timestamp(day + timedelta(days=1))


def _events_of(warehouse: Warehouse, day: date) -> pd.DataFrame:
    """The columns of `day`'s `daily_events` rows that features count."""
    return warehouse.read_table(
        "warehouse",
        "daily_events",
        partition=PartitionFilter.time_range("event_date", pd.Timestamp(day), _day_after(day)),
        columns=EVENT_FEATURE_COLUMNS,
    )


REVENUE_INS = {"customers": dg.AssetIn(key=["warehouse", "dim_customers"])}
REVENUE_METADATA = {"partition_expr": "revenue_date"}


@dg.asset(
    code_version=CURRENT_VERSION,
    key=["warehouse", "daily_revenue"],
    ins=REVENUE_INS,
    deps=[dg.AssetDep(["warehouse", "fact_orders"])],
    partitions_def=daily,
    backfill_policy=model_backfill,
    metadata={**REVENUE_METADATA, "logic_version": CURRENT_VERSION},
    automation_condition=FOLLOW_UPSTREAM,
    check_specs=TABLE_CHECKS["daily_revenue"].specs(daily),
    output_required=False,
    group_name="warehouse",
    io_manager_key=WAREHOUSE_IO,
    kinds=KINDS,
    hooks={consumer_view_exists},
)
@retried_if_transient
def daily_revenue(
    context: dg.AssetExecutionContext, customers: pd.DataFrame, warehouse: Warehouse
) -> AuditedEvents:
    """Revenue per order day and country in USD: the consumer-facing table with the strictest SLA."""
    yield from publish_revenue(context, customers, warehouse, REVENUE_LOGIC[CURRENT_VERSION])


def revenue_orders(context: dg.AssetExecutionContext, warehouse: Warehouse) -> pd.DataFrame:
    """The `fact_orders` rows whose order day is one of the run's days."""
    window = context.partition_time_window
    return warehouse.read_table(
        "warehouse",
        "fact_orders",
        partition=PartitionFilter.time_range("order_date", window.start, window.end),
    )


def publish_revenue(
    context: dg.AssetExecutionContext,
    customers: pd.DataFrame,
    warehouse: Warehouse,
    logic: RevenueLogic,
    run_time_checks: PartitionChecks | None = None,
    orders: pd.DataFrame | None = None,
) -> AuditedEvents:
    """The run's days of revenue by ``logic`` (one version of it) from ``orders`` (default: read
    for the run's days), audited with the revenue table's checks, then published: what the
    published asset and its shadow both do."""
    orders = revenue_orders(context, warehouse) if orders is None else orders
    revenue = logic(orders, customers)
    yield from _publish(
        context,
        warehouse,
        revenue,
        run_time_checks=run_time_checks,
        metadata={"total_revenue_usd": float(revenue["revenue_usd"].sum())},
        table_checks=TABLE_CHECKS["daily_revenue"],
    )
