"""A sensor that re-runs the downstream partitions an upstream write changed, whatever their key.

Partition mappings are static: day X of a downstream asset depends on day X upstream. But a
record can land in one upstream partition and belong to another downstream one (an order placed
on day X and updated on day D lands in the upstream's partition D and changes the downstream's
day X). The upstream asset knows which downstream keys its write touched, and records them in
each partition's materialization metadata as a JSON list under `metadata_key`. This sensor reads
those records in storage order and requests the target partitions that were last materialized
*before* the change (stale). Missing partitions are left to the normal flow (automation,
backfills), and a partition re-materialized since the change is not requested again.

Known limit: staleness is judged by event-log order. A target run that read the upstream before
the change but recorded its materialization after it counts as fresh; runs of the same asset are
serialized by the automation conditions' in-progress guard, which keeps this window small.
"""

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import dagster as dg

RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
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
        changes = [(record.storage_id, _recorded_keys(record, metadata_key)) for record in records]
        newest = records[-1].storage_id
        ordered = list(partitions_def.get_partition_keys())
        stale: set[str] = set()
        for target in targets:
            latest = context.instance.get_latest_storage_id_by_partition(
                target.asset_key, dg.DagsterEventType.ASSET_MATERIALIZATION
            )
            stale |= set(stale_keys(changes, latest, ordered, through_latest=target.through_latest))
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


def stale_keys(
    changes: Sequence[tuple[int, Sequence[str]]],
    latest_materialization: Mapping[str, int],
    ordered: Sequence[str],
    *,
    through_latest: bool,
) -> list[str]:
    """Keys, in partition order, whose latest materialization is older than a change that named
    them (or, with `through_latest`, an earlier key). Never-materialized keys are missing, not stale."""
    position = {key: index for index, key in enumerate(ordered)}
    materialized = {key: sid for key, sid in latest_materialization.items() if key in position}
    stale: set[str] = set()
    for storage_id, keys in changes:
        named = {key for key in keys if key in materialized}
        known = [position[key] for key in keys if key in position]
        if through_latest and known:
            named |= {key for key in materialized if position[key] >= min(known)}
        stale |= {key for key in named if materialized[key] < storage_id}
    return sorted(stale, key=position.__getitem__)


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
