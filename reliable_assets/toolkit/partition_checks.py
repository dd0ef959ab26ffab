"""Asset check results per partition, for a run of one partition and for a range run alike.

Dagster 1.13 files an in-asset ``AssetCheckResult`` under the run's partition only when the run
has exactly one; a run over a range (a chunk of a backfill) would get one result for all its
days, and a bad day would hide among good ones. Here the checks run on each partition's slice of
the candidate frame, and a range run reports one ``AssetCheckEvaluation`` per check and
partition: the public event Dagster stores per partition, so the UI's per-partition check status
and ``instance.event_log_storage.get_asset_check_partition_info`` show every day.

That needs check specs that carry the asset's partitions definition (:func:`check_spec`); Dagster
1.13 calls partitioned checks a preview feature. Verified here: results land per partition, a
failed blocking ERROR evaluation fails the step like a failed ``AssetCheckResult`` does.
"""

from collections.abc import Callable, Iterator, Mapping, Sequence

import dagster as dg
import pandas as pd

from reliable_assets.toolkit.io_context import metadata_value
from reliable_assets.toolkit.opt_in import opted_in
from reliable_assets.toolkit.partition_selection import filters_per_partition

# Results of the asset's checks on one partition's rows (key None: an unpartitioned asset).
PartitionChecks = Callable[[str | None, pd.DataFrame], Sequence[dg.AssetCheckResult]]
ResultsByPartition = Mapping[str | None, Sequence[dg.AssetCheckResult]]


def check_spec(
    name: str,
    asset_key: Sequence[str],
    *,
    blocking: bool,
    partitions_def: dg.PartitionsDefinition | None = None,
    description: str | None = None,
) -> dg.AssetCheckSpec:
    """A check spec that reports per partition when its asset is partitioned."""
    # Partitioned check specs are preview in Dagster 1.13, and the only way to file a result per
    # partition (see the module docstring).
    with opted_in():
        return dg.AssetCheckSpec(
            name,
            asset=list(asset_key),
            blocking=blocking,
            description=description,
            partitions_def=partitions_def,
        )


def is_range_run(context: dg.AssetExecutionContext) -> bool:
    """The run covers more than one partition of its asset (a backfill chunk, say)."""
    return context.assets_def.partitions_def is not None and len(context.partition_keys) > 1


def partition_slices(
    context: dg.AssetExecutionContext, frame: pd.DataFrame
) -> Iterator[tuple[str | None, pd.DataFrame]]:
    """``(partition key, its rows)`` for each partition of the run; ``(None, frame)`` unpartitioned.

    Rows are assigned by the asset's ``partition_expr`` column, the column its IO manager writes
    by. A range run's frame is split lazily, one slice at a time, so a caller that does not keep
    the slices holds at most one extra slice; a single partition's frame is its own slice.
    """
    if not is_range_run(context):
        keys = context.partition_keys if context.assets_def.partitions_def is not None else [None]
        yield keys[0], frame
        return
    assets_def = context.assets_def
    partitions_def = assets_def.partitions_def
    assert partitions_def is not None  # a range run implies a partitioned asset
    partition_expr = metadata_value(assets_def.metadata_by_key[context.asset_key], "partition_expr")
    label = context.asset_key.to_user_string()
    for key, target in filters_per_partition(
        partitions_def, list(context.partition_keys), partition_expr, label
    ):
        yield key, frame.loc[target.mask(frame)]


def evaluate_per_partition(
    context: dg.AssetExecutionContext, frame: pd.DataFrame, checks: PartitionChecks
) -> dict[str | None, list[dg.AssetCheckResult]]:
    return {key: list(checks(key, rows)) for key, rows in partition_slices(context, frame)}


def as_events(
    context: dg.AssetExecutionContext, results: ResultsByPartition
) -> list[dg.AssetCheckResult | dg.AssetCheckEvaluation]:
    """What the asset yields: the results as they are for one partition; for a range, one
    evaluation per check and partition, then one summary result per check (Dagster requires a
    result for each check output of the step; it is filed without a partition)."""
    if not is_range_run(context):
        return [result for partition_results in results.values() for result in partition_results]
    blocking = {spec.name for spec in context.assets_def.check_specs if spec.blocking}
    events: list[dg.AssetCheckResult | dg.AssetCheckEvaluation] = [
        dg.AssetCheckEvaluation(
            asset_key=context.asset_key,
            check_name=result.check_name or "",
            passed=result.passed,
            metadata=dict(result.metadata or {}),
            severity=result.severity,
            description=result.description,
            blocking=result.check_name in blocking,
            partition=key,
        )
        for key, partition_results in results.items()
        for result in partition_results
    ]
    by_check: dict[str, list[tuple[str | None, dg.AssetCheckResult]]] = {}
    for key, partition_results in results.items():
        for result in partition_results:
            by_check.setdefault(result.check_name or "", []).append((key, result))
    events += [_summary(name, per_partition) for name, per_partition in by_check.items()]
    return events


def _summary(name: str, per_partition: list[tuple[str | None, dg.AssetCheckResult]]) -> dg.AssetCheckResult:
    """One check over a range: passed only if every partition passed; which ones failed."""
    failed = [str(key) for key, result in per_partition if not result.passed]
    failing_rows = [
        int(value.value)
        for _, result in per_partition
        if isinstance(value := (result.metadata or {}).get("failing_rows"), dg.IntMetadataValue)
        and value.value
    ]
    first = per_partition[0][1]
    shared = {
        k: v for k, v in (first.metadata or {}).items() if k in ("quarantine", "published", "refused_by")
    }
    return dg.AssetCheckResult(
        check_name=name,
        passed=not failed,
        severity=first.severity,
        description=f"{len(per_partition)} partitions; each partition's own result names it",
        metadata={
            **shared,
            "partitions_checked": len(per_partition),
            "failed_partitions": failed,
            "failing_rows": sum(failing_rows),
        },
    )
