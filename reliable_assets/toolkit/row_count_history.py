"""Row-count anomaly checks for any partitioned asset, with Dagster's own event log as history.

Every output built by ``versioned_output`` records ``row_count`` per partition (partition-scoped
metadata for a range run), so the trailing partitions' counts are already in the instance: no
extra table, and the same code serves assets stored in Parquet, S3 or a warehouse. Each
partition of a run is judged against the partitions just before it: the run's own counts for
those inside the run (a backfill chunk), the latest published counts for the others.
"""

from collections.abc import Mapping, Sequence

import dagster as dg
import pandas as pd

from reliable_assets.toolkit.partition_checks import PartitionChecks, check_spec, partition_slices
from reliable_assets.toolkit.row_count_anomaly import row_count_anomaly_check

ROW_COUNT = "row_count"
HISTORY_PARTITIONS = 14
_PAGE = 200


def recorded_row_counts(
    instance: dg.DagsterInstance, asset_key: dg.AssetKey, keys: Sequence[str]
) -> dict[str, int]:
    """The ``row_count`` recorded on the latest materialization of each of ``keys`` that has one."""
    wanted = set(keys)
    found: dict[str, int] = {}
    seen: set[str] = set()
    if not wanted:
        return found
    records_filter = dg.AssetRecordsFilter(asset_key=asset_key, asset_partitions=sorted(wanted))
    cursor = None
    while wanted - seen:
        page = instance.fetch_materializations(records_filter, limit=_PAGE, cursor=cursor)
        for record in page.records:  # newest first: the first one per partition is the latest
            materialization = record.asset_materialization
            if materialization is None or materialization.partition in seen:
                continue
            seen.add(str(materialization.partition))
            count = materialization.metadata.get(ROW_COUNT)
            if isinstance(count, dg.IntMetadataValue) and count.value is not None:
                found[str(materialization.partition)] = int(count.value)
        if not page.has_more:
            break
        cursor = page.cursor
    return found


def published_row_counts(context: dg.AssetExecutionContext, keys: Sequence[str]) -> dict[str, int]:
    """The ``row_count`` of the latest materialization of each of ``keys`` of the running asset."""
    return recorded_row_counts(context.instance, context.asset_key, keys)


def trailing_row_counts(
    context: dg.AssetExecutionContext, run_counts: Mapping[str, int], window: int = HISTORY_PARTITIONS
) -> dict[str, list[int]]:
    """For each partition of the run, the known row counts of the ``window`` partitions before it."""
    partitions_def = context.assets_def.partitions_def
    assert partitions_def is not None, "row-count history needs a partitioned asset"
    all_keys = list(partitions_def.get_partition_keys(dynamic_partitions_store=context.instance))
    position = {key: index for index, key in enumerate(all_keys)}
    before = {key: all_keys[max(0, position[key] - window) : position[key]] for key in run_counts}
    earlier = sorted({key for keys in before.values() for key in keys} - run_counts.keys())
    counts = {**published_row_counts(context, earlier), **run_counts}
    return {key: [counts[k] for k in keys if k in counts] for key, keys in before.items()}


def row_count_anomaly_spec(
    asset_key: Sequence[str], partitions_def: dg.PartitionsDefinition, check_name: str = "row_count_anomaly"
) -> dg.AssetCheckSpec:
    """Non-blocking: an odd volume is worth a look (WARN), not a reason to hold data back."""
    return check_spec(
        check_name,
        asset_key,
        blocking=False,
        partitions_def=partitions_def,
        description=f"row count against the trailing {HISTORY_PARTITIONS} partitions (median/MAD)",
    )


def row_count_anomaly_checks(
    context: dg.AssetExecutionContext, frame: pd.DataFrame, check_name: str = "row_count_anomaly"
) -> PartitionChecks:
    """Checks to pass to ``publish_audited``: each partition's rows against its trailing history."""
    run_counts = {str(key): len(rows) for key, rows in partition_slices(context, frame)}
    history = trailing_row_counts(context, run_counts)
    return lambda key, rows: [row_count_anomaly_check(check_name, len(rows), history[str(key)])]
