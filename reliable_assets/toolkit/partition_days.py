"""The days a run covers, whether it got one daily partition or a range of them."""

from datetime import date, datetime, timedelta

import dagster as dg

from reliable_assets.toolkit import run_tags

# The run tags that make a run cover a range of partitions (what a backfill chunk carries).
RANGE_START_TAG = run_tags.RANGE_START_TAG
RANGE_END_TAG = run_tags.RANGE_END_TAG


def days_in_window(start: datetime, end: datetime) -> list[date]:
    """Every UTC day in the half-open window [start, end)."""
    first, days = start.date(), (end - start).days
    return [first + timedelta(days=offset) for offset in range(days)]


def partition_days(context: dg.AssetExecutionContext) -> list[date]:
    """The days of a daily-partitioned run, ranges included (`context.partition_key` raises for those)."""
    window = context.partition_time_window
    return days_in_window(window.start, window.end)
