"""The warehouse contract the IO managers talk to; one subclass per database engine.

Every write primitive is a single transaction (stage, delete, insert, commit): a failure or a
crash at any instant leaves the old rows or the new ones, never a mix, an empty partition or a
partial insert. Inserts go by column name; new frame columns are added to the table; a frame
column whose type does not fit the table's column fails the whole write.
"""

# No `from __future__ import annotations`: Dagster/pydantic must see real types on config classes
# (a string `dg.ResourceDependency[...]` annotation fails validation).
from abc import abstractmethod
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

import dagster as dg
import pandas as pd

from reliable_assets.toolkit.content_hash import frame_content_hash, is_audit_column
from reliable_assets.toolkit.partition_filter import PartitionFilter
from reliable_assets.toolkit.sql import column_list, qualified_name, validate_identifier


def select_statement(
    schema: str,
    table: str,
    columns: Iterable[str],
    partition: PartitionFilter | None,
    include_audit: bool,
    placeholder: str,
    only: Sequence[str] | None = None,
) -> tuple[str, list[Any]]:
    """`SELECT` of a table's (content) ``columns``, or of those named in ``only``, restricted to a
    partition; one builder for every engine."""
    content = [name for name in columns if include_audit or not is_audit_column(name)]
    selected = content if only is None else _asked_columns(schema, table, content, only)
    sql = f"SELECT {column_list(selected)} FROM {qualified_name(schema, table)}"
    return _restricted(sql, partition, placeholder)


def _asked_columns(schema: str, table: str, content: list[str], asked: Sequence[str]) -> list[str]:
    unknown = [name for name in asked if name not in content]
    if unknown or not asked:
        raise ColumnNotFoundError(
            f"Table {schema}.{table} has no column(s) {unknown} to read; its columns are {content}"
            " (audit columns only with include_audit=True). Name columns it has, or leave `columns`"
            " out to read them all."
        )
    return list(dict.fromkeys(asked))


def delete_statement(
    schema: str, table: str, partition: PartitionFilter | None, placeholder: str
) -> tuple[str, list[Any]]:
    """`DELETE` of a partition's rows (all rows when ``partition`` is None); values bound."""
    return _restricted(f"DELETE FROM {qualified_name(schema, table)}", partition, placeholder)


def _restricted(sql: str, partition: PartitionFilter | None, placeholder: str) -> tuple[str, list[Any]]:
    if partition is None:
        return sql, []
    where, params = partition.to_sql(placeholder)
    return f"{sql} WHERE {where}", params


def require_upsert_columns(
    frame: pd.DataFrame, label: str, keys: Sequence[str], version_column: str | None
) -> None:
    """Refuse an upsert without keys, or whose key or version columns are not in the frame."""
    required = [validate_identifier(name) for name in [*keys, *([version_column] if version_column else [])]]
    missing = [column for column in required if column not in frame.columns]
    if not keys or missing:
        raise WarehouseWriteError(
            f"Upsert into {label} needs key columns (got {list(keys)}) that are all in the"
            f" frame; missing: {missing}"
        )


class WarehouseWriteError(Exception):
    """A write refused before anything changed (bad frame, incompatible column, duplicate keys)."""


class TableNotFoundError(LookupError):
    """The table has never been written."""


class ColumnNotFoundError(LookupError):
    """A read named a column the table does not have (or no column at all)."""


class WarehouseLockTimeoutError(TimeoutError):
    """The database stayed locked by another writer for longer than the configured timeout."""


@dataclass(frozen=True)
class WriteResult:
    rows_inserted: int
    rows_deleted: int
    # Upsert with a version column: incoming rows dropped because the stored row is newer.
    rows_skipped_stale: int = 0


class SqlTransaction(Protocol):
    """Statements that commit together when the ``Warehouse.transaction()`` block ends (DDL
    included: both engines run it transactionally), or not at all when it raises."""

    placeholder: str  # the driver's bound-parameter marker: "?" (DuckDB) or "%s" (PostgreSQL)

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> None: ...

    def fetch(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]: ...

    def lock(self, name: str) -> None:
        """Serialize with every other transaction that locks ``name``, until this one ends."""

    def ensure_schema(self, schema: str) -> None: ...


class Warehouse(dg.ConfigurableResource):
    """Abstract warehouse resource. Subclasses implement the engine-specific methods."""

    @abstractmethod
    def query(self, sql: str, params: Sequence[Any] | None = None) -> pd.DataFrame:
        """Run a read query with bound ``params`` and return the result."""

    @abstractmethod
    def execute(self, sql: str, params: Sequence[Any] | None = None) -> None:
        """Run one statement in its own transaction."""

    @abstractmethod
    def transaction(self) -> AbstractContextManager[SqlTransaction]:
        """One transaction for statements the write primitives do not cover (a view swap, say)."""

    def table_exists(self, schema: str, table: str) -> bool:
        """A table exists when it has columns (both engines list none for a missing table)."""
        return bool(self.table_columns(schema, table))

    @abstractmethod
    def table_columns(self, schema: str, table: str) -> dict[str, str]:
        """Column name -> engine type name, in table order; empty if the table does not exist."""

    @abstractmethod
    def list_tables(self) -> list[tuple[str, str]]:
        """``(schema, table)`` of every user table, sorted."""

    @abstractmethod
    def read_table(
        self,
        schema: str,
        table: str,
        *,
        partition: PartitionFilter | None = None,
        include_audit: bool = False,
        columns: Sequence[str] | None = None,
    ) -> pd.DataFrame:
        """The table's rows (only ``partition``'s if given); audit columns only if asked. ``columns``
        reads only those, in that order: a reader of a long history then holds what it uses."""

    @abstractmethod
    def replace_partition(
        self,
        schema: str,
        table: str,
        frame: pd.DataFrame,
        partition_filter: PartitionFilter | None,
    ) -> WriteResult:
        """Atomically replace the rows matching ``partition_filter`` (None: all rows) by ``frame``."""

    @abstractmethod
    def upsert(
        self,
        schema: str,
        table: str,
        frame: pd.DataFrame,
        keys: Sequence[str],
        version_column: str | None = None,
    ) -> WriteResult:
        """Atomically replace the stored rows whose ``keys`` appear in ``frame``.

        With ``version_column``, incoming rows older than the stored row are dropped first, so
        re-running an old partition never regresses newer data; equal versions are rewritten.
        """

    def table_content_hash(self, schema: str, table: str) -> str:
        """Content hash of the whole table (audit columns excluded), see content_hash.py."""
        return frame_content_hash(self.read_table(schema, table))
