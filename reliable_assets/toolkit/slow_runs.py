"""Which assets of a run took far longer than they usually do, from the `duration_s` metadata.

Every materialization carries `duration_s` (retries.py). A run's time for an asset is compared
with the same asset's recent runs *of the same size* (number of partitions): a 14-day backfill
chunk is not slow next to one-day runs, and a one-day run is not judged by chunks. Without
enough such history nothing is flagged: no baseline, no alert.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import dagster as dg
import numpy as np

from reliable_assets.toolkit.retries import DURATION_METADATA


@dataclass(frozen=True)
class LatencyPolicy:
    factor: float = 2.0  # slow: more than factor x the p95 of the history...
    min_excess_s: float = 60.0  # ...and at least this much more (3 s -> 7 s pages nobody)
    history_runs: int = 20  # the p95 is taken over the latest runs of the same size
    min_history: int = 5  # fewer such runs: no baseline yet, never flagged
    max_records_scanned: int = 2000  # bounds the look back through an asset's materializations


@dataclass(frozen=True)
class RunShape:
    """One run's materializations of one asset."""

    duration_s: float | None
    partitions: int
    first_timestamp: float


@dataclass(frozen=True)
class SlowAsset:
    asset_key: dg.AssetKey
    duration_s: float
    p95_s: float
    history_runs: int
    partitions: int

    def describe(self) -> str:
        return (
            f"{self.duration_s:.0f} s against a p95 of {self.p95_s:.0f} s over its last"
            f" {self.history_runs} runs of {self.partitions} partition(s)"
        )


def slow_assets(
    instance: dg.DagsterInstance, run_id: str, policy: LatencyPolicy = LatencyPolicy()
) -> list[SlowAsset]:
    """The run's assets whose duration passes the policy's threshold against their history."""
    records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION).records
    slow = []
    for key, shape in _shapes(records).items():
        if shape.duration_s is None:
            continue
        history = _history(instance, key, shape, policy)
        if len(history) < policy.min_history:
            continue
        p95 = float(np.percentile(history, 95))
        if shape.duration_s > policy.factor * p95 and shape.duration_s - p95 >= policy.min_excess_s:
            slow.append(SlowAsset(key, shape.duration_s, p95, len(history), shape.partitions))
    return slow


def _shapes(records: Sequence[dg.EventLogRecord]) -> dict[dg.AssetKey, RunShape]:
    """Per asset of one run: its duration (the longest any of its materializations carries; a
    range run gives each partition the same), partition count and when it first materialized it."""
    durations: dict[dg.AssetKey, list[float]] = {}
    partitions: dict[dg.AssetKey, set[str | None]] = {}
    # Timestamps, not storage ids: a run's records and an asset's records can come from different
    # shards of the event log (SQLite), whose ids are not comparable.
    first: dict[dg.AssetKey, float] = {}
    for record in records:
        materialization = record.asset_materialization
        if materialization is None:
            continue
        key = materialization.asset_key
        value = materialization.metadata.get(DURATION_METADATA)
        if isinstance(value, dg.FloatMetadataValue) and value.value is not None:
            durations.setdefault(key, []).append(float(value.value))
        partitions.setdefault(key, set()).add(materialization.partition)
        first[key] = min(first.get(key, record.timestamp), record.timestamp)
    return {
        key: RunShape(max(durations[key]) if key in durations else None, len(partitions[key]), first[key])
        for key in first
    }


def _history(
    instance: dg.DagsterInstance, key: dg.AssetKey, shape: RunShape, policy: LatencyPolicy
) -> list[float]:
    """Durations of the asset's latest earlier runs with as many partitions as this one."""
    by_run: dict[str, list[dg.EventLogRecord]] = {}
    records_filter = dg.AssetRecordsFilter(asset_key=key, before_timestamp=shape.first_timestamp)
    cursor, scanned = None, 0
    while scanned < policy.max_records_scanned:
        page = instance.fetch_materializations(records_filter, limit=500, cursor=cursor)
        for record in page.records:  # newest first
            by_run.setdefault(record.run_id, []).append(record)
        scanned += len(page.records)
        if not page.has_more:
            break
        cursor = page.cursor
    durations = []
    for run_records in by_run.values():  # insertion order: newest run first
        earlier = _shapes(run_records).get(key)
        if earlier and earlier.duration_s is not None and earlier.partitions == shape.partitions:
            durations.append(earlier.duration_s)
        if len(durations) == policy.history_runs:
            break
    return durations
