"""An IO manager that stores pandas frames in a :class:`Warehouse`, atomically and idempotently.

Table: schema = first part of the asset key, table = last part. What a write does comes from the
asset's definition metadata (see :class:`WriteSettings`). Unlike Dagster's stock DbIOManager, the
delete and the insert commit together, empty frames do not silently wipe a partition, rows are
inserted by column name, and rows outside the target partitions are refused (a later overwrite of
their own partition would never delete them, so they would turn into duplicates).
"""

# No `from __future__ import annotations`: Dagster/pydantic must see real types on config classes
# (a string `dg.ResourceDependency[...]` annotation fails validation).
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Self

import dagster as dg
import pandas as pd

from reliable_assets.toolkit.io_context import asset_label, context_partitions, metadata_value
from reliable_assets.toolkit.partition_filter import PartitionFilter
from reliable_assets.toolkit.partition_selection import partition_filter_for, refuse_rows_outside
from reliable_assets.toolkit.retries import call_retried_if_transient
from reliable_assets.toolkit.sql import validate_identifier
from reliable_assets.toolkit.warehouse import TableNotFoundError, Warehouse, WarehouseWriteError, WriteResult

PARTITION_OVERWRITE = "partition_overwrite"
UPSERT = "upsert"
REPLACE = "replace"
WRITE_MODES = (PARTITION_OVERWRITE, UPSERT, REPLACE)
WRITE_ATTEMPTS_METADATA = "write_attempts"  # 1 unless a transient fault made the write run again

RUN_ID_COLUMN = "_run_id"
LOADED_AT_COLUMN = "_loaded_at"


def with_audit_columns(frame: pd.DataFrame, run_id: str) -> pd.DataFrame:
    """A copy of `frame` stamped with the run that writes it and when (audit, not content)."""
    stamped = frame.copy()
    stamped[RUN_ID_COLUMN] = run_id
    stamped[LOADED_AT_COLUMN] = pd.Timestamp.now(tz="UTC")
    return stamped


TABLE_METADATA = "warehouse_table"


def table_location(asset_key: dg.AssetKey, metadata: Mapping[str, Any] | None = None) -> tuple[str, str]:
    """``(schema, table)`` for an asset key: its first and last parts, both validated identifiers,
    unless its definition metadata names another table (``warehouse_table``: ``"schema.table"``)."""
    explicit = metadata_value(metadata, TABLE_METADATA)
    if explicit is not None:
        schema, dot, table = str(explicit).partition(".")
        if not dot:
            raise ValueError(
                f"{asset_label(asset_key)}: metadata {TABLE_METADATA} must be 'schema.table',"
                f" got {explicit!r}"
            )
        return validate_identifier(schema), validate_identifier(table)
    if len(asset_key.path) < 2:
        raise ValueError(
            f"{asset_label(asset_key)} needs a key of at least two parts (schema/table) to live in the"
            " warehouse"
        )
    return validate_identifier(asset_key.path[0]), validate_identifier(asset_key.path[-1])


@dataclass(frozen=True)
class WriteSettings:
    """How an asset is written, read from its definition metadata.

    Keys: ``write_mode`` (``partition_overwrite`` | ``upsert`` | ``replace``), ``partition_expr``
    (column, or ``{dimension: column}`` for multi-partitions), ``primary_key`` (list, for upsert),
    ``version_column`` (optional, upsert), ``allow_empty`` (bool, default False); and
    ``warehouse_table`` (optional ``"schema.table"``, see :func:`table_location`).
    """

    write_mode: str
    partition_expr: Any
    primary_key: list[str]
    version_column: str | None
    allow_empty: bool

    @classmethod
    def from_metadata(cls, metadata: Mapping[str, Any] | None, partitioned: bool, label: str) -> Self:
        write_mode = metadata_value(metadata, "write_mode") or (
            PARTITION_OVERWRITE if partitioned else REPLACE
        )
        if write_mode not in WRITE_MODES:
            raise ValueError(f"{label}: write_mode must be one of {WRITE_MODES}, got {write_mode!r}")
        if partitioned and write_mode == REPLACE:
            raise ValueError(
                f"{label} is partitioned: write_mode 'replace' would wipe every other partition;"
                " use 'partition_overwrite' or 'upsert'."
            )
        if not partitioned and write_mode == PARTITION_OVERWRITE:
            raise ValueError(f"{label} is not partitioned: use write_mode 'replace' or 'upsert'.")
        primary_key = metadata_value(metadata, "primary_key") or []
        if isinstance(primary_key, str):
            primary_key = [primary_key]
        if write_mode == UPSERT and not primary_key:
            raise ValueError(
                f"{label}: write_mode 'upsert' needs 'primary_key' metadata (a list of columns)."
            )
        return cls(
            write_mode=str(write_mode),
            partition_expr=metadata_value(metadata, "partition_expr"),
            primary_key=[str(column) for column in primary_key],
            version_column=metadata_value(metadata, "version_column"),
            allow_empty=bool(metadata_value(metadata, "allow_empty", False)),
        )


class WarehouseIOManager(dg.ConfigurableIOManager):
    """Writes frames to ``warehouse`` per the asset's metadata; loads content columns back."""

    warehouse: dg.ResourceDependency[Warehouse]

    def handle_output(self, context: dg.OutputContext, obj: pd.DataFrame | None) -> None:
        label = asset_label(context.asset_key)
        if obj is None:
            context.log.info(f"{label} returned None; nothing written to the warehouse.")
            return
        if not isinstance(obj, pd.DataFrame):
            raise TypeError(f"{label}: WarehouseIOManager stores pandas DataFrames, got {type(obj).__name__}")
        schema, table = table_location(context.asset_key, context.definition_metadata)
        partitions = context_partitions(context)
        settings = WriteSettings.from_metadata(context.definition_metadata, partitions is not None, label)

        target: PartitionFilter | None = None
        if partitions is not None and (settings.write_mode == PARTITION_OVERWRITE or settings.partition_expr):
            target = partition_filter_for(
                partitions.definition, partitions.keys, settings.partition_expr, label
            )
        if obj.empty and settings.write_mode != UPSERT and not settings.allow_empty:
            raise WarehouseWriteError(
                f"{label}: refusing to write an empty frame with write_mode {settings.write_mode!r}; it would"
                f" wipe {target.describe() if target else 'the whole table'} of {schema}.{table}. Set"
                " metadata allow_empty=True if an empty result is legitimate."
            )
        if target is not None:
            refuse_rows_outside(obj, target, label)

        frame = with_audit_columns(obj, context.run_id)
        # Outside the asset's body, so its step retry does not cover this: one transaction,
        # re-run on a serialization failure or a dropped connection (retries.py).
        result, attempts = call_retried_if_transient(
            lambda: self._write(schema, table, frame, settings, target), f"write of {schema}.{table}"
        )

        metadata: dict[str, Any] = {
            "table": f"{schema}.{table}",
            "write_mode": settings.write_mode,
            "rows_written": result.rows_inserted,
            "rows_deleted": result.rows_deleted,
            "partition_range": _describe_keys(partitions.keys) if partitions else "unpartitioned",
            "partition_filter": target.describe() if target else "whole table",
            WRITE_ATTEMPTS_METADATA: attempts,
        }
        if settings.write_mode == UPSERT:
            metadata["rows_skipped_stale"] = result.rows_skipped_stale
        else:
            metadata["dagster/row_count"] = result.rows_inserted
        context.add_output_metadata(metadata)

    def _write(
        self,
        schema: str,
        table: str,
        frame: pd.DataFrame,
        settings: WriteSettings,
        target: PartitionFilter | None,
    ) -> WriteResult:
        if settings.write_mode == UPSERT:
            return self.warehouse.upsert(schema, table, frame, settings.primary_key, settings.version_column)
        return self.warehouse.replace_partition(
            schema, table, frame, target if settings.write_mode == PARTITION_OVERWRITE else None
        )

    def load_input(self, context: dg.InputContext) -> pd.DataFrame:
        asset_key = context.asset_key
        label = asset_label(asset_key)
        upstream_metadata = context.upstream_output.definition_metadata if context.upstream_output else {}
        schema, table = table_location(asset_key, upstream_metadata)
        frame, _ = call_retried_if_transient(
            lambda: self._read(context, label, schema, table), f"read of {label}"
        )
        return frame

    def _read(self, context: dg.InputContext, label: str, schema: str, table: str) -> pd.DataFrame:
        if not self.warehouse.table_exists(schema, table):
            raise TableNotFoundError(
                f"{label} has no table {schema}.{table} in the warehouse yet: materialize"
                f" {context.asset_key.to_user_string()} (the partitions this run reads) first."
            )
        partitions = context_partitions(context)
        if partitions is None:
            return self.warehouse.read_table(schema, table)
        upstream_metadata = context.upstream_output.definition_metadata if context.upstream_output else {}
        selected = partition_filter_for(
            partitions.definition, partitions.keys, metadata_value(upstream_metadata, "partition_expr"), label
        )
        return self.warehouse.read_table(schema, table, partition=selected)


def _describe_keys(keys: list[str]) -> str:
    return keys[0] if len(keys) == 1 else f"{keys[0]}...{keys[-1]} ({len(keys)} partitions)"
