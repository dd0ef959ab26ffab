"""`reliable-assets check`: run every asset check on what is already published, nothing else.

Dagster has no command that runs only asset checks (and its checks-only runs of partitioned checks
fail), so this reads what each selected asset published (raw Parquet files, model files, warehouse
tables), partition by partition, and evaluates the checks the assets declare with the functions
they use (see published_checks.py for what each compares after the fact). CI calls it and fails
the build on exit code 1; ``--record`` also stores every result in the Dagster instance as a
asset check evaluation, so the UI shows it on the asset's check rows.
"""

import os
from collections.abc import Sequence
from contextlib import ExitStack
from datetime import UTC, date, datetime, timedelta

import dagster as dg

from reliable_assets import settings
from reliable_assets.partitions import PARTITIONS_START
from reliable_assets.published_checks import (
    CHECKED_ASSETS,
    CHECKED_GROUPS,
    CheckedAsset,
    CheckRow,
    DeclaredAsset,
    Published,
    declared_asset,
    evaluate_asset,
)
from reliable_assets.quiet import silence_dagster_previews
from reliable_assets.toolkit.runless_checks import new_evaluation_id, record_evaluation

__all__ = ["CheckRow", "CheckSelectionError", "check_main", "format_rows", "partition_keys", "select_assets"]
RECORDED_BY = "reliable-assets check"


class CheckSelectionError(ValueError):
    """The command line selected nothing, or something that is not there."""


def select_assets(selection: str | None) -> list[CheckedAsset]:
    """Checked assets whose key (`raw/orders`) or group (`raw`, `warehouse`, `ml`) is selected."""
    if not selection:
        return list(CHECKED_ASSETS)
    chosen: list[CheckedAsset] = []
    for item in (part.strip().strip("/") for part in selection.split(",") if part.strip()):
        matches = [a for a in CHECKED_ASSETS if item in (a.key, a.group, "*")]
        if not matches:
            known = ", ".join([*CHECKED_GROUPS, *(a.key for a in CHECKED_ASSETS)])
            raise CheckSelectionError(f"--select {item!r} matches no checked asset; choose from: {known}")
        chosen.extend(m for m in matches if m not in chosen)
    order = {asset.key: position for position, asset in enumerate(CHECKED_ASSETS)}
    return sorted(chosen, key=lambda asset: order[asset.key])


def partition_keys(partition: str | None, partition_range: str | None) -> list[str] | None:
    """The daily keys asked for, or None for 'every partition present'."""
    if partition and partition_range:
        raise CheckSelectionError("Give --partition or --partition-range, not both.")
    if partition:
        return [_day(partition).isoformat()]
    if partition_range:
        start, sep, end = partition_range.partition("...")
        if not sep:
            raise CheckSelectionError(
                f"--partition-range {partition_range!r} must look like 2024-01-01...2024-01-07"
            )
        first, last = _day(start), _day(end)
        if last < first:
            raise CheckSelectionError(f"--partition-range {partition_range!r} ends before it starts")
        return [(first + timedelta(days=n)).isoformat() for n in range((last - first).days + 1)]
    return None


def _day(text: str) -> date:
    """A daily partition key: YYYY-MM-DD, not before the partitions start."""
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise CheckSelectionError(f"{text!r} is not a daily partition key (YYYY-MM-DD)") from None
    if day < date.fromisoformat(PARTITIONS_START):
        raise CheckSelectionError(f"{text} is before the first partition, {PARTITIONS_START}")
    return day


def run_checks(
    published: Published,
    assets: Sequence[tuple[CheckedAsset, DeclaredAsset]],
    keys: Sequence[str] | None,
) -> list[CheckRow]:
    """Every declared check of the selected assets, per selected partition (see evaluate_asset)."""
    return [row for asset, declared in assets for row in evaluate_asset(asset, declared, published, keys)]


def record_rows(
    instance: dg.DagsterInstance, declared: dict[str, DeclaredAsset], rows: Sequence[CheckRow]
) -> tuple[str, int]:
    """Store each row's result as an evaluation of its declared check, all under one new
    evaluation id (runless_checks.py says why); returns that id and how many were stored."""
    evaluation_id, recorded = new_evaluation_id(), 0
    for row in rows:
        if row.result is None:  # nothing published to check, or skipped: no evaluation
            continue
        asset = declared[row.asset]
        spec = asset.specs[row.check]
        record_evaluation(
            instance,
            asset.key,
            row.result,
            partition=row.partition if spec.partitions_def is not None else None,
            blocking=spec.blocking,
            evaluation_id=evaluation_id,
            metadata={"recorded_by": RECORDED_BY, "evaluation_id": evaluation_id},
        )
        recorded += 1
    return evaluation_id, recorded


def format_rows(rows: Sequence[CheckRow]) -> str:
    header = f"{'ASSET':<26} {'PARTITION':<11} {'CHECK':<28} {'SEVERITY':<8} {'RESULT':<6} FAILING ROWS"
    lines = [header, "-" * len(header)]
    lines += [
        f"{r.asset:<26} {r.partition:<11} {r.check:<28} {r.severity:<8} {r.outcome:<6} {r.failing_rows}"
        for r in rows
    ]
    failed = [r for r in rows if r.error_failure]
    lines.append(f"{len(rows)} checks, {len(failed)} ERROR failures")
    skipped = sorted({r.check for r in rows if r.skipped})
    if skipped:
        lines.append(f"skipped {', '.join(skipped)}: they read the Dagster instance; set DAGSTER_HOME")
    return "\n".join(lines)


def check_main(
    selection: str | None,
    partition: str | None,
    partition_range: str | None,
    record: bool = False,
    now: datetime | None = None,
) -> int:
    """What the console script runs: print the table, exit 1 on any failed ERROR check."""
    silence_dagster_previews()
    from reliable_assets.definitions import defs  # noqa: PLC0415 (loads every asset; only here)

    chosen = select_assets(selection)
    keys = partition_keys(partition, partition_range)
    home = os.environ.get("DAGSTER_HOME")
    if record and not home:
        raise CheckSelectionError("--record stores the results in the Dagster instance: set DAGSTER_HOME")
    definitions = defs()
    declared = {asset.key: declared_asset(definitions, asset.key) for asset in chosen}
    resources = settings.resources_for()
    needed = ("warehouse", "landing_zone", "raw_io_manager", "model_io_manager")
    with ExitStack() as stack:
        built = stack.enter_context(dg.build_resources({name: resources[name] for name in needed}))
        instance = stack.enter_context(dg.DagsterInstance.get()) if home else None
        published = Published(
            warehouse=built.warehouse,
            # The stores the IO managers write through: what readers downstream see.
            raw_store=built.raw_io_manager._store(),
            model_store=built.model_io_manager._store(),
            landing_zone=built.landing_zone,
            instance=instance,
            now=now or datetime.now(UTC),
        )
        rows = run_checks(published, [(asset, declared[asset.key]) for asset in chosen], keys)
        print(format_rows(rows))
        if record and instance is not None:
            evaluation_id, recorded = record_rows(instance, declared, rows)
            print(
                f"recorded {recorded} check evaluations as {evaluation_id} in the Dagster instance ({home})"
            )
    return 1 if any(row.error_failure for row in rows) else 0
