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

from reliable_assets.toolkit.partition_checks import (
    PartitionChecks,
    ResultsByPartition,
    as_events,
    evaluate_per_partition,
)
from reliable_assets.toolkit.partition_filter import PartitionFilter
from reliable_assets.toolkit.warehouse import Warehouse

Quarantine = Callable[[], str]
# What an audited asset yields: check results (per partition in a range run), then its output.
AuditedEvents = Iterator[dg.Output[pd.DataFrame] | dg.AssetCheckResult | dg.AssetCheckEvaluation]


def _blocked(results: Sequence[dg.AssetCheckResult], blocking: set[str]) -> list[dg.AssetCheckResult]:
    error = dg.AssetCheckSeverity.ERROR
    return [r for r in results if not r.passed and r.check_name in blocking and r.severity == error]


def refused_partitions(results: ResultsByPartition, blocking: set[str]) -> dict[str | None, list[str]]:
    """Partition -> names of its failed blocking ERROR checks, for the partitions that have any."""
    refused = {key: [r.check_name or "" for r in _blocked(rs, blocking)] for key, rs in results.items()}
    return {key: names for key, names in refused.items() if names}


def audit(
    results: ResultsByPartition, blocking: set[str], quarantine: Quarantine
) -> tuple[dict[str | None, list[dg.AssetCheckResult]], bool]:
    """The results to report, and whether to publish: no partition failed a blocking check.

    A run writes all its partitions in one transaction, so one refused partition refuses the
    run: every result then says ``published: False``, which partitions failed which checks, and
    where the candidate rows were kept (the quarantine is written only then).
    """
    refused = refused_partitions(results, blocking)
    if not refused:
        return {key: list(rs) for key, rs in results.items()}, True
    extra: dict[str, dg.RawMetadataValue] = {
        "quarantine": quarantine(),
        "published": False,
        "refused_by": {str(key) if key is not None else "all": names for key, names in refused.items()},
    }
    annotated = {key: [r.with_metadata({**r.metadata, **extra}) for r in rs] for key, rs in results.items()}
    return annotated, False


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
    make_output: Callable[[], dg.Output[pd.DataFrame]],
    frame: pd.DataFrame,
    checks: PartitionChecks,
    on_publish: Callable[[], None] | None = None,
) -> AuditedEvents:
    """Run ``checks`` on each partition's rows of ``frame``, report them per partition, and yield
    the output only if no blocking check failed (else quarantine the candidate, see `audit`)."""
    blocking = {spec.name for spec in context.assets_def.check_specs if spec.blocking}
    if context.has_partition_key:
        label = context.partition_key
    elif context.has_partition_key_range:
        label = f"{context.partition_key_range.start}...{context.partition_key_range.end}"
    else:
        label = "all"
    table = "_".join(context.asset_key.path)
    quarantine = warehouse_quarantine(warehouse, table, frame, label, context.run.run_id)
    results, publish = audit(evaluate_per_partition(context, frame, checks), blocking, quarantine)
    yield from as_events(context, results)
    if publish:
        if on_publish is not None:
            on_publish()  # e.g. the run's dead letters: they describe published partitions only
        yield make_output()
