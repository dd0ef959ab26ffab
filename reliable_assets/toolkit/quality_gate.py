"""Write, audit, publish: a frame that fails a blocking check is never handed to the IO manager.

Stock Dagster runs blocking checks after the IO manager has already written the data. Here the
asset computes its checks on the candidate frame first; the output is yielded only when no
blocking ERROR check failed. Otherwise the published partition stays as it was, downstream does
not run (the blocking check fails the run), and the candidate rows go to a quarantine table whose
name the failing checks carry in their metadata. Assets using this need `output_required=False`.
"""

from collections.abc import Callable, Iterator, Sequence

import dagster as dg
import pandas as pd

from reliable_assets.toolkit.partition_filter import PartitionFilter
from reliable_assets.toolkit.warehouse import Warehouse

Quarantine = Callable[[], str]


def _blocked(results: Sequence[dg.AssetCheckResult], blocking: set[str]) -> list[dg.AssetCheckResult]:
    error = dg.AssetCheckSeverity.ERROR
    return [r for r in results if not r.passed and r.check_name in blocking and r.severity == error]


def gated(
    make_output: Callable[[], dg.Output],
    results: Sequence[dg.AssetCheckResult],
    blocking: set[str],
    quarantine: Quarantine,
) -> Iterator[dg.Output | dg.AssetCheckResult]:
    """Yield the check results, then the output (built only now) if every blocking check passed."""
    failed = _blocked(results, blocking)
    location = quarantine() if failed else None
    for result in results:
        if location is None or result not in failed:
            yield result
            continue
        yield dg.AssetCheckResult(
            check_name=result.check_name,
            passed=False,
            severity=result.severity,
            description=result.description,
            metadata={**(result.metadata or {}), "quarantine": location, "published": False},
        )
    if not failed:
        yield make_output()


def warehouse_quarantine(
    warehouse: Warehouse, table: str, frame: pd.DataFrame, partition_label: str, run_id: str
) -> Quarantine:
    """Keep a refused candidate in `ops.quarantine_<table>`, one slice per partition label."""

    def write() -> str:
        kept = frame.assign(quarantined_partition=partition_label, _run_id=run_id)
        warehouse.replace_partition(
            "ops",
            f"quarantine_{table}",
            kept,
            PartitionFilter.value_set("quarantined_partition", [partition_label]),
        )
        return f"ops.quarantine_{table} WHERE quarantined_partition = '{partition_label}'"

    return write


def publish_audited(
    context: dg.AssetExecutionContext,
    warehouse: Warehouse,
    make_output: Callable[[], dg.Output],
    frame: pd.DataFrame,
    results: Sequence[dg.AssetCheckResult],
) -> Iterator[dg.Output | dg.AssetCheckResult]:
    """`gated` with the asset's own blocking specs and a quarantine table named after its key."""
    blocking = {spec.name for spec in context.assets_def.check_specs if spec.blocking}
    if context.has_partition_key:
        label = context.partition_key
    elif context.has_partition_key_range:
        label = f"{context.partition_key_range.start}...{context.partition_key_range.end}"
    else:
        label = "all"
    table = "_".join(context.asset_key.path)
    quarantine = warehouse_quarantine(warehouse, table, frame, label, context.run.run_id)
    yield from gated(make_output, results, blocking, quarantine)
