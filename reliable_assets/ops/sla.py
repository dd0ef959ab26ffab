"""SLAs of the daily assets, and the report built from the instance's own materialization records."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import dagster as dg
import numpy as np
import pandas as pd

# How long after a day ends its partition must be materialized. daily_revenue is what consumers
# read each morning, so it has the strictest deadline.
SLA_AFTER_DAY_END: Mapping[str, timedelta] = {
    "warehouse/fact_orders": timedelta(hours=6),
    "warehouse/daily_events": timedelta(hours=6),
    "warehouse/user_features": timedelta(hours=8),
    "warehouse/daily_revenue": timedelta(hours=7),
    "ml/model_registry": timedelta(hours=12),
}
REPORT_DAYS = 30
REPORT_COLUMNS = ["asset_key", "partition_key", "deadline", "first_materialized_at", "on_time"]


@dataclass(frozen=True)
class Materialization:
    partition_key: str
    timestamp: float
    run_id: str


def materializations(instance: dg.DagsterInstance, asset_key: str, since: datetime) -> list[Materialization]:
    """Every materialization of the asset since `since`, oldest first (paged through the event log)."""
    found: list[Materialization] = []
    cursor = None
    while True:
        page = instance.fetch_materializations(
            dg.AssetRecordsFilter(
                asset_key=dg.AssetKey.from_user_string(asset_key), after_timestamp=since.timestamp()
            ),
            limit=1000,
            cursor=cursor,
            ascending=True,
        )
        found.extend(
            Materialization(record.partition_key, record.timestamp, record.run_id)
            for record in page.records
            if record.partition_key
        )
        if not page.has_more:
            return found
        cursor = page.cursor


def sla_rows(
    asset_key: str, records: Iterable[Materialization], sla: timedelta, now: datetime
) -> pd.DataFrame:
    """One row per partition of the last REPORT_DAYS days: deadline, first success, on time or not.

    Only the *first* materialization of a partition decides whether it was on time, so re-running a
    partition later neither repairs nor spoils its record, and the report is stable under re-runs.
    """
    first: dict[str, float] = {}
    for record in records:
        first[record.partition_key] = min(record.timestamp, first.get(record.partition_key, record.timestamp))
    oldest = (now - timedelta(days=REPORT_DAYS)).date().isoformat()
    rows = []
    for partition_key, timestamp in sorted(first.items()):
        if partition_key < oldest:
            continue
        deadline = datetime.fromisoformat(partition_key).replace(tzinfo=UTC) + timedelta(days=1) + sla
        done = datetime.fromtimestamp(timestamp, tz=UTC)
        rows.append(
            {
                "asset_key": asset_key,
                "partition_key": partition_key,
                "deadline": deadline.replace(tzinfo=None),
                "first_materialized_at": done.replace(tzinfo=None),
                "on_time": done <= deadline,
            }
        )
    return pd.DataFrame(rows, columns=REPORT_COLUMNS)


def p95_run_seconds(instance: dg.DagsterInstance, run_ids: set[str]) -> float | None:
    """95th percentile wall time of the finished runs among `run_ids`."""
    if not run_ids:
        return None
    records = instance.get_run_records(filters=dg.RunsFilter(run_ids=sorted(run_ids)))
    durations = [r.end_time - r.start_time for r in records if r.start_time and r.end_time]
    return round(float(np.percentile(durations, 95)), 3) if durations else None
