"""Turn Dagster partitions (single keys, single-run ranges, multi-partitions) into row filters.

Works from the partitions definition and the list of keys an IO manager context reports
(``asset_partition_keys``), never from ``context.partition_key``, which raises for ranges.
Time dimensions become one half-open range; static/dynamic dimensions become a value set.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from itertools import pairwise
from typing import Any

import dagster as dg
import pandas as pd

from reliable_assets.toolkit.partition_filter import Condition, PartitionFilter, TimeRange, ValueSet

PartitionExpr = str | Mapping[str, str]


class PartitionSelectionError(ValueError):
    """Partitions that cannot be expressed as a row filter (config error or unsupported shape)."""


class RowsOutsidePartitionError(ValueError):
    """A frame holds rows that do not belong to the partition(s) being written."""


def dimension_values(partitions_def: dg.PartitionsDefinition, partition_key: str) -> list[tuple[str, str]]:
    """``[(dimension, value), ...]`` of a key: the dimensions of a multi-partition, else ``[("", key)]``."""
    if isinstance(partitions_def, dg.MultiPartitionsDefinition):
        key = partitions_def.get_partition_key_from_str(str(partition_key))
        return [(dim.name, key.keys_by_dimension[dim.name]) for dim in partitions_def.partitions_defs]
    return [("", str(partition_key))]


def partition_filter_for(
    partitions_def: dg.PartitionsDefinition,
    partition_keys: Sequence[str],
    partition_expr: Any,
    asset_label: str,
) -> PartitionFilter:
    """The filter selecting exactly the rows of ``partition_keys`` (one run may cover a range)."""
    if not partition_keys:
        raise PartitionSelectionError(f"No partition keys for {asset_label}")
    columns = _columns_by_dimension(partitions_def, partition_expr, asset_label)
    dimension_defs = _dimension_defs(partitions_def)
    values_by_dimension: dict[str, list[str]] = {name: [] for name in dimension_defs}
    unique_keys = list(dict.fromkeys(str(key) for key in partition_keys))
    for key in unique_keys:
        for name, value in dimension_values(partitions_def, key):
            if value not in values_by_dimension[name]:
                values_by_dimension[name].append(value)
    # A filter is a per-dimension AND, so it can only select a full cross product of values.
    combinations = 1
    for values in values_by_dimension.values():
        combinations *= len(values)
    if combinations != len(unique_keys):
        raise PartitionSelectionError(
            f"{asset_label}: the {len(unique_keys)} selected multi-partitions are not a full cross product"
            f" of their dimension values {values_by_dimension}; run them in separate runs."
        )
    conditions: list[Condition] = [
        _condition(dimension_defs[name], columns[name], values, asset_label)
        for name, values in values_by_dimension.items()
    ]
    return PartitionFilter(tuple(conditions))


def filters_per_partition(
    partitions_def: dg.PartitionsDefinition,
    partition_keys: Sequence[str],
    partition_expr: Any,
    asset_label: str,
) -> list[tuple[str, PartitionFilter]]:
    """One ``(key, filter)`` per key, in the given order (to split a range's frame by partition)."""
    return [
        (str(key), partition_filter_for(partitions_def, [key], partition_expr, asset_label))
        for key in partition_keys
    ]


def _dimension_defs(partitions_def: dg.PartitionsDefinition) -> dict[str, dg.PartitionsDefinition]:
    if isinstance(partitions_def, dg.MultiPartitionsDefinition):
        return {dim.name: dim.partitions_def for dim in partitions_def.partitions_defs}
    return {"": partitions_def}


def _columns_by_dimension(
    partitions_def: dg.PartitionsDefinition, partition_expr: Any, asset_label: str
) -> dict[str, str]:
    if partition_expr is None:
        raise PartitionSelectionError(
            f"{asset_label} is partitioned but has no 'partition_expr' metadata naming the column that"
            " holds the partition (a dict {dimension: column} for multi-partitions)."
        )
    if isinstance(partitions_def, dg.MultiPartitionsDefinition):
        names = [dim.name for dim in partitions_def.partitions_defs]
        if not isinstance(partition_expr, Mapping) or sorted(partition_expr) != sorted(names):
            raise PartitionSelectionError(
                f"{asset_label} is multi-partitioned by {names}: 'partition_expr' must be a dict with one"
                f" column per dimension, got {partition_expr!r}."
            )
        return {str(name): str(column) for name, column in partition_expr.items()}
    if not isinstance(partition_expr, str):
        raise PartitionSelectionError(
            f"{asset_label}: 'partition_expr' must be a column name, got {partition_expr!r}."
        )
    return {"": partition_expr}


def _condition(
    dimension_def: dg.PartitionsDefinition, column: str, values: list[str], asset_label: str
) -> Condition:
    if isinstance(dimension_def, dg.TimeWindowPartitionsDefinition):
        start, end = _contiguous_window(dimension_def, values, asset_label)
        return TimeRange(column, start, end)
    return ValueSet(column, tuple(values))


def _contiguous_window(
    partitions_def: dg.TimeWindowPartitionsDefinition, keys: list[str], asset_label: str
) -> tuple[dt.datetime, dt.datetime]:
    windows = sorted(
        (partitions_def.time_window_for_partition_key(key) for key in keys), key=lambda w: w.start
    )
    for previous, following in pairwise(windows):
        if previous.end != following.start:
            raise PartitionSelectionError(
                f"{asset_label}: time partitions {keys} are not contiguous; a single run must cover"
                " one unbroken range."
            )
    return windows[0].start, windows[-1].end


def refuse_rows_outside(frame: pd.DataFrame, target: PartitionFilter, asset_label: str) -> None:
    """Raise unless every row of ``frame`` lies inside ``target``.

    A row outside the partition being written would never be replaced by a later overwrite of
    that partition, nor by one of its own: it would turn into a duplicate.
    """
    missing = [column for column in target.columns if column not in frame.columns]
    if missing:
        raise RowsOutsidePartitionError(
            f"{asset_label}: partition column(s) {missing} named by 'partition_expr' are missing from the"
            " frame"
            f" (columns: {list(frame.columns)})"
        )
    outside = frame.loc[~target.mask(frame), target.columns]
    if not outside.empty:
        sample = {column: str(value) for column, value in outside.iloc[0].items()}
        raise RowsOutsidePartitionError(
            f"{asset_label}: {len(outside)} row(s) lie outside the target partition(s) ({target.describe()}),"
            f" e.g. {sample}. Such rows would never be replaced by a re-run of their"
            " partition and would become duplicates; filter them out in the asset."
        )
