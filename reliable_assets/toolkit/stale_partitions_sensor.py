"""A sensor that re-runs the downstream partitions an upstream write changed, whatever their key.

Partition mappings are static: day X of a downstream asset depends on day X upstream. But a
record can land in one upstream partition and belong to another downstream one (an order placed
on day X and updated on day D lands in the upstream's partition D and changes the downstream's
day X). The upstream asset knows which downstream keys its write touched, and records them in
each partition's materialization metadata as a JSON list under `metadata_key`. This sensor reads
those records in storage order and requests the target partitions that were last materialized
*before* the change (stale). Missing partitions are left to the normal flow (automation,
backfills), and a partition re-materialized since the change is not requested again.

A target partition counts as fresh only if the run that last built it *started* after the change
was recorded: a run already in flight may have read the upstream as it was (two backfill chunks
run side by side, and the first chunk's revenue step can read `fact_orders` just before the second
chunk commits its rows). Judging by the order of the materialization events alone missed that.
"""

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import dagster as dg

from reliable_assets.toolkit.partition_days import RANGE_END_TAG, RANGE_START_TAG

RECORDS_PER_TICK = 200


@dataclass(frozen=True)
class StaleTarget:
    """A downstream asset whose partitions the upstream's recorded keys name.

    `through_latest`: the asset accumulates history (a partition reads everything up to its
    day), so a change to key K also makes every materialized partition after K stale.
    """

    asset_key: dg.AssetKey
    through_latest: bool = False


def build_stale_partitions_sensor(
    *,
    name: str,
    upstream: dg.AssetKey,
    metadata_key: str,
    targets: Sequence[StaleTarget],
    partitions_def: dg.PartitionsDefinition,
    followers: Sequence[dg.AssetKey] = (),
    max_partitions_per_run: int = 7,
    minimum_interval_seconds: int = 30,
    default_status: dg.DefaultSensorStatus = dg.DefaultSensorStatus.RUNNING,
    description: str | None = None,
) -> dg.SensorDefinition:
    """One run per contiguous range of stale keys (of any target), re-running every target and
    the `followers` (assets downstream of the targets that would otherwise follow in a run of
    their own) for that range: re-running a fresh partition is harmless, a run is not free."""
    selection = [*(t.asset_key for t in targets), *followers]

    @dg.sensor(
        name=name,
        asset_selection=dg.AssetSelection.assets(*selection),
        minimum_interval_seconds=minimum_interval_seconds,
        default_status=default_status,
        description=description,
    )
    def stale_partitions_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        cursor = int(context.cursor) if context.cursor else 0
        records = context.instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=upstream, after_storage_id=cursor),
            limit=RECORDS_PER_TICK,
            ascending=True,
        ).records
        if not records:
            return dg.SensorResult(skip_reason=f"no new materialization of {upstream.to_user_string()}")
        changes = [
            Change(record.storage_id, record.timestamp, _recorded_keys(record, metadata_key), record.run_id)
            for record in records
        ]
        newest = records[-1].storage_id
        ordered = list(partitions_def.get_partition_keys())
        stale: set[str] = set()
        for target in targets:
            latest = context.instance.get_latest_storage_id_by_partition(
                target.asset_key, dg.DagsterEventType.ASSET_MATERIALIZATION
            )
            candidates = named_keys(changes, latest, ordered, through_latest=target.through_latest)
            built = _builds(context.instance, target.asset_key, [latest[key] for key in candidates])
            stale |= set(stale_keys(changes, built, ordered, through_latest=target.through_latest))
        position = {key: index for index, key in enumerate(ordered)}
        requests = [
            _run_request(name, selection, first, last, newest)
            for first, last in contiguous_ranges(
                sorted(stale, key=position.__getitem__), ordered, max_partitions_per_run
            )
        ]
        return dg.SensorResult(run_requests=requests, cursor=str(newest))

    return stale_partitions_sensor


def _recorded_keys(record: dg.EventLogRecord, metadata_key: str) -> list[str]:
    materialization = record.asset_materialization
    entry = materialization.metadata.get(metadata_key) if materialization else None
    if entry is None:
        return []
    value = entry.value if isinstance(entry, dg.MetadataValue) else entry
    keys = json.loads(value) if isinstance(value, str) else value
    if not isinstance(keys, list):
        raise TypeError(f"metadata {metadata_key!r} must be a JSON list of partition keys, got {keys!r}")
    return [str(key) for key in keys]


@dataclass(frozen=True)
class Change:
    """An upstream materialization: where it sits in the event log, when, and the keys it names."""

    storage_id: int
    timestamp: float
    keys: Sequence[str]
    run_id: str = ""


@dataclass(frozen=True)
class Build:
    """A target partition's latest materialization, and when the run that wrote it started."""

    storage_id: int
    run_started: float
    run_id: str = ""


def named_keys(
    changes: Sequence[Change],
    materialized: Mapping[str, object],
    ordered: Sequence[str],
    *,
    through_latest: bool,
) -> list[str]:
    """The materialized keys some change names (with `through_latest`: or comes after)."""
    position = {key: index for index, key in enumerate(ordered)}
    named: set[str] = set()
    for change in changes:
        named |= {key for key in change.keys if key in materialized and key in position}
        known = [position[key] for key in change.keys if key in position]
        if through_latest and known:
            named |= {key for key in materialized if key in position and position[key] >= min(known)}
    return sorted(named, key=position.__getitem__)


def stale_keys(
    changes: Sequence[Change], built: Mapping[str, Build], ordered: Sequence[str], *, through_latest: bool
) -> list[str]:
    """Keys, in partition order, that a change names (or, with `through_latest`, an earlier key)
    and whose latest build came before it or by a run that started before it. Never-built keys
    are missing, not stale."""
    position = {key: index for index, key in enumerate(ordered)}
    stale: set[str] = set()
    for change in changes:
        for key in named_keys([change], built, ordered, through_latest=through_latest):
            build = built[key]
            # A build by the change's own run came after it in that run (a chunk writes the
            # upstream, then its targets): fresh, though that run started before the change.
            in_flight = build.run_started < change.timestamp and build.run_id != change.run_id
            if build.storage_id < change.storage_id or in_flight:
                stale.add(key)
    return sorted(stale, key=position.__getitem__)


def _builds(instance: dg.DagsterInstance, asset_key: dg.AssetKey, storage_ids: list[int]) -> dict[str, Build]:
    if not storage_ids:
        return {}
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=asset_key, storage_ids=storage_ids), limit=len(storage_ids)
    ).records
    runs = instance.get_run_records(dg.RunsFilter(run_ids=sorted({r.run_id for r in records})))
    started = {run.dagster_run.run_id: run.start_time or run.create_timestamp.timestamp() for run in runs}
    return {
        str(record.partition_key): Build(record.storage_id, started.get(record.run_id, 0.0), record.run_id)
        for record in records
        if record.partition_key is not None
    }


def contiguous_ranges(
    keys: Sequence[str], ordered: Sequence[str], max_per_run: int
) -> Iterator[tuple[str, str]]:
    """Runs of neighbouring keys (in partition order), each at most `max_per_run` long."""
    position = {key: index for index, key in enumerate(ordered)}
    run: list[str] = []
    for key in keys:
        if run and (position[key] != position[run[-1]] + 1 or len(run) == max_per_run):
            yield run[0], run[-1]
            run = []
        run.append(key)
    if run:
        yield run[0], run[-1]


def _run_request(
    name: str, selection: Sequence[dg.AssetKey], first: str, last: str, newest: int
) -> dg.RunRequest:
    run_key = f"{name}:{first}...{last}@{newest}"
    if first == last:
        return dg.RunRequest(run_key=run_key, asset_selection=list(selection), partition_key=first)
    return dg.RunRequest(
        run_key=run_key,
        asset_selection=list(selection),
        tags={RANGE_START_TAG: first, RANGE_END_TAG: last},
    )
