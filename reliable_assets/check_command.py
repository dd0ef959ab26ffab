"""`reliable-assets check`: run the warehouse checks on what is already published, nothing else.

Dagster has no command that runs only asset checks (and its checks-only runs of partitioned checks
fail), so this reads each selected table, partition by partition, and evaluates the same check
functions the assets run before they publish. CI calls it and fails the build on exit code 1.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import dagster as dg
import pandas as pd

from reliable_assets import settings
from reliable_assets.partitions import PARTITIONS_START
from reliable_assets.quiet import silence_dagster_previews
from reliable_assets.toolkit.partition_filter import PartitionFilter
from reliable_assets.toolkit.warehouse import Warehouse
from reliable_assets.warehouse.checks import TABLE_CHECKS, References


class CheckSelectionError(ValueError):
    """The command line selected nothing, or something that is not there."""


@dataclass(frozen=True)
class CheckRow:
    asset: str
    partition: str
    check: str
    severity: str
    passed: bool
    failing_rows: int


def select_tables(selection: str | None) -> list[str]:
    """Tables whose asset key (`warehouse/fact_orders`) or group (`warehouse`) is selected."""
    tables = sorted(TABLE_CHECKS)
    if not selection:
        return tables
    chosen: list[str] = []
    for item in (part.strip().strip("/") for part in selection.split(",") if part.strip()):
        matches = [t for t in tables if item in (f"warehouse/{t}", "warehouse", "*")]
        if not matches:
            known = ", ".join(f"warehouse/{t}" for t in tables)
            raise CheckSelectionError(f"--select {item!r} matches no checked asset; choose from: {known}")
        chosen.extend(m for m in matches if m not in chosen)
    return chosen


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


def _rows_of(table: str, partition: str, results: Sequence[dg.AssetCheckResult]) -> list[CheckRow]:
    rows = []
    for result in results:
        failing = result.metadata.get("failing_rows") if result.metadata else None
        rows.append(
            CheckRow(
                asset=f"warehouse/{table}",
                partition=partition,
                check=result.check_name or "",
                severity=result.severity.value,
                passed=result.passed,
                failing_rows=int(failing.value)
                if isinstance(failing, dg.IntMetadataValue) and failing.value
                else 0,
            )
        )
    return rows


def run_checks(
    warehouse: Warehouse, partition_columns: dict[str, str | None], tables: list[str], keys: list[str] | None
) -> list[CheckRow]:
    """Evaluate every selected table's checks per partition (whole table when unpartitioned)."""
    rows: list[CheckRow] = []
    for table in tables:
        checks = TABLE_CHECKS[table]
        references = References(warehouse)
        if not warehouse.table_exists("warehouse", table):
            rows.append(CheckRow(f"warehouse/{table}", "-", "table_exists", "ERROR", False, 0))
            continue
        column = partition_columns.get(table)
        if column is None:
            rows.extend(
                _rows_of(table, "-", checks.evaluate(warehouse.read_table("warehouse", table), references))
            )
            continue
        if keys is None:
            present = warehouse.read_table("warehouse", table)[column]
            days = sorted({pd.Timestamp(value).date().isoformat() for value in present})
        else:
            days = keys
        for key in days:
            start = pd.Timestamp(date.fromisoformat(key))
            frame = warehouse.read_table(
                "warehouse",
                table,
                partition=PartitionFilter.time_range(column, start, start + timedelta(days=1)),
            )
            if frame.empty:
                rows.append(CheckRow(f"warehouse/{table}", key, "partition_present", "ERROR", False, 0))
                continue
            rows.extend(_rows_of(table, key, checks.evaluate(frame, references)))
    return rows


def format_rows(rows: Sequence[CheckRow]) -> str:
    header = f"{'ASSET':<26} {'PARTITION':<11} {'CHECK':<28} {'SEVERITY':<8} {'RESULT':<6} FAILING ROWS"
    lines = [header, "-" * len(header)]
    lines += [
        f"{r.asset:<26} {r.partition:<11} {r.check:<28} {r.severity:<8} {'pass' if r.passed else 'FAIL':<6} "
        f"{r.failing_rows}"
        for r in rows
    ]
    failed = [r for r in rows if not r.passed and r.severity == "ERROR"]
    lines.append(f"{len(rows)} checks, {len(failed)} ERROR failures")
    return "\n".join(lines)


def check_main(selection: str | None, partition: str | None, partition_range: str | None) -> int:
    """What the console script runs: print the table, exit 1 on any failed ERROR check."""
    silence_dagster_previews()
    from reliable_assets.definitions import defs  # noqa: PLC0415 (loads every asset; only here)

    tables = select_tables(selection)
    keys = partition_keys(partition, partition_range)
    definitions = defs()
    columns: dict[str, str | None] = {}
    for table in tables:
        key = dg.AssetKey(["warehouse", table])
        expr = definitions.get_assets_def(key).metadata_by_key[key].get("partition_expr")
        columns[table] = expr if isinstance(expr, str) else None
    with dg.build_resources({"warehouse": settings.resources_for()["warehouse"]}) as resources:
        rows = run_checks(resources.warehouse, columns, tables, keys)
    print(format_rows(rows))
    return 1 if any(not r.passed and r.severity == "ERROR" for r in rows) else 0
