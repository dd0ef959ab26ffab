"""Running tallies of what a Dagster instance recorded, read incrementally.

An exporter scraped every 15 s cannot re-read an event log that only grows. Each tally keeps a
cursor and reads only what was recorded since the last look (the first look reads the history
once): materializations by storage id, check executions by record id (check_failures.py), and
finished runs by update time. A restarted exporter recounts from what the instance still holds,
which Prometheus sees as an ordinary counter reset.
"""

from collections import Counter, OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import dagster as dg

from reliable_assets.toolkit.check_failures import failed_checks_since

PAGE = 500
ROW_COUNT = "row_count"
RUNS_KEPT_PER_ASSET = 8  # the latest run's rows are wanted; a few more cover runs that interleave
FINISHED = (dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED)
# Run records are looked up from a little before the newest update seen: two runs finishing in
# the same instant, committed in either order, are both found (and counted once, by run id).
RUN_UPDATE_OVERLAP = timedelta(seconds=60)


@dataclass
class AssetTally:
    """One asset's materializations so far."""

    materializations: int = 0
    after_storage_id: int | None = None
    last_timestamp: float | None = None
    latest_partition: str | None = None
    latest_partition_timestamp: float | None = None
    rows_by_run: "OrderedDict[str, int]" = field(default_factory=OrderedDict)
    latest_run: str | None = None

    @property
    def rows_in_latest_run(self) -> int | None:
        return self.rows_by_run.get(self.latest_run) if self.latest_run else None

    @property
    def freshness_timestamp(self) -> float | None:
        """When the newest partition was last written (partitioned), else the last write.

        Backfilling an old partition must not make a daily asset look fresh. Partition keys are
        compared as text: daily keys (YYYY-MM-DD) sort in time order."""
        return self.latest_partition_timestamp if self.latest_partition else self.last_timestamp

    def add(self, record: dg.EventLogRecord) -> None:
        materialization = record.asset_materialization
        assert materialization is not None, "fetch_materializations returns materializations"
        self.materializations += 1
        self.after_storage_id = record.storage_id
        self.last_timestamp = record.timestamp
        partition = materialization.partition
        if partition is not None and (self.latest_partition is None or partition >= self.latest_partition):
            self.latest_partition, self.latest_partition_timestamp = partition, record.timestamp
        rows = materialization.metadata.get(ROW_COUNT)
        count = int(rows.value) if isinstance(rows, dg.IntMetadataValue) and rows.value is not None else 0
        self.rows_by_run[record.run_id] = self.rows_by_run.pop(record.run_id, 0) + count
        while len(self.rows_by_run) > RUNS_KEPT_PER_ASSET:
            self.rows_by_run.popitem(last=False)
        self.latest_run = record.run_id


class MaterializationTallies:
    """Per asset: materializations, rows of the latest run, when the latest partition was written."""

    def __init__(self) -> None:
        self._tallies: dict[dg.AssetKey, AssetTally] = {}

    def update(
        self, instance: dg.DagsterInstance, keys: Sequence[dg.AssetKey]
    ) -> dict[dg.AssetKey, AssetTally]:
        # One query tells which assets have news (and which were wiped: their newest event is
        # gone, so they are recounted); only those read their new events.
        newest = {
            record.asset_entry.asset_key: record.asset_entry.last_materialization_record
            for record in instance.get_asset_records(list(keys))
        }
        for key in keys:
            latest = newest.get(key)
            tally = self._tallies.get(key) or AssetTally()
            if latest is None or (tally.after_storage_id or 0) > latest.storage_id:
                tally = AssetTally()
            if latest is not None and latest.storage_id != tally.after_storage_id:
                self._read_new(instance, key, tally)
            self._tallies[key] = tally
        return {key: self._tallies[key] for key in keys}

    @staticmethod
    def _read_new(instance: dg.DagsterInstance, key: dg.AssetKey, tally: AssetTally) -> None:
        records_filter = dg.AssetRecordsFilter(asset_key=key, after_storage_id=tally.after_storage_id)
        cursor = None
        while True:
            page = instance.fetch_materializations(records_filter, limit=PAGE, cursor=cursor, ascending=True)
            for record in page.records:
                tally.add(record)
            if not page.has_more:
                return
            cursor = page.cursor


CheckFailureKey = tuple[str, str, str]  # asset, check, severity


class CheckFailureTallies:
    """Failed check evaluations by (asset, check, severity), each execution record counted once."""

    def __init__(self) -> None:
        self._watermark = 0  # not None: the first look counts the whole history
        self._counted: set[int] = set()
        self._counts: Counter[CheckFailureKey] = Counter()

    def update(
        self, instance: dg.DagsterInstance, keys: Iterable[dg.AssetCheckKey]
    ) -> Mapping[CheckFailureKey, int]:
        failed, watermark = failed_checks_since(instance, keys, self._watermark)
        for failure in failed:
            if failure.record_id in self._counted:
                continue  # above a record still running: failed_checks_since reports it again
            self._counted.add(failure.record_id)
            severity = failure.evaluation.severity.value if failure.evaluation else "UNKNOWN"
            self._counts[(failure.key.asset_key.to_user_string(), failure.key.name, severity)] += 1
        self._counted = {record_id for record_id in self._counted if record_id > watermark}
        self._watermark = watermark
        return dict(self._counts)


@dataclass
class DurationHistogram:
    """Cumulative Prometheus-style buckets of one label set."""

    bounds: Sequence[float]
    counts: list[int]
    total: float = 0.0
    observations: int = 0

    def observe(self, value: float) -> None:
        for index, bound in enumerate(self.bounds):
            if value <= bound:
                self.counts[index] += 1
        self.total += value
        self.observations += 1


class RunDurationTallies:
    """Wall time of finished runs (start to end) by (job, status); runs that never started are left out."""

    def __init__(self, bounds: Sequence[float]) -> None:
        self._bounds = tuple(bounds)
        self._since: datetime | None = None
        self._counted: set[str] = set()  # run ids: a finished run's record is updated again (retry tags)
        self._histograms: dict[tuple[str, str], DurationHistogram] = {}

    def update(self, instance: dg.DagsterInstance) -> dict[tuple[str, str], DurationHistogram]:
        updated_after = self._since - RUN_UPDATE_OVERLAP if self._since else None
        records = instance.get_run_records(
            filters=dg.RunsFilter(statuses=list(FINISHED), updated_after=updated_after)
        )
        for record in records:
            run = record.dagster_run
            self._since = max(self._since or record.update_timestamp, record.update_timestamp)
            if run.run_id in self._counted or record.start_time is None or record.end_time is None:
                continue
            self._counted.add(run.run_id)
            histogram = self._histograms.setdefault(
                (run.job_name, run.status.value),
                DurationHistogram(self._bounds, [0] * len(self._bounds)),
            )
            histogram.observe(max(0.0, record.end_time - record.start_time))
        return dict(self._histograms)
