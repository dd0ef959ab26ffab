"""The dead-letter queue: bad records are kept with their error, never silently dropped.

Dead letters live in the warehouse table `ops.dead_letters`, one row per bad record, keyed by a
deterministic id (asset, partition, record), so re-running a partition replaces its pending dead
letters instead of adding copies. Records already `resolved` or `reprocessed` are left alone.
"""

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import dagster as dg
import pandas as pd

from reliable_assets.toolkit.partition_filter import PartitionFilter, ValueSet
from reliable_assets.toolkit.warehouse import TableNotFoundError, Warehouse

SCHEMA, TABLE = "ops", "dead_letters"
PENDING = "pending"
COLUMNS = [
    "dead_letter_id",
    "asset_key",
    "partition_key",
    "record",
    "error_type",
    "error_message",
    "status",
    "_run_id",
    "_created_at",
]


@dataclass(frozen=True)
class DeadLetter:
    """One bad record and why it was refused."""

    record: dict[str, Any]
    error_type: str
    error_message: str


def dead_letter_id(asset_key: str, partition_key: str, record_json: str) -> str:
    """Deterministic id: the same bad record of the same partition always gets the same id."""
    return hashlib.sha256(f"{asset_key}\x1f{partition_key}\x1f{record_json}".encode()).hexdigest()[:32]


class DeadLetterQueue(dg.ConfigurableResource):
    """Writes and reads `ops.dead_letters` in the warehouse."""

    warehouse: dg.ResourceDependency[Warehouse]

    def replace_for_partitions(
        self, asset_key: str, letters_by_partition: Mapping[str, Sequence[DeadLetter]], run_id: str
    ) -> int:
        """Make each given partition's pending dead letters exactly its letters, all in one transaction.

        A partition given no letters loses its pending ones; letters already settled (any status
        but pending) stay as they are; partitions not given are untouched. Returns the number of
        pending letters written.
        """
        if not letters_by_partition:
            return 0
        partition_keys = tuple(letters_by_partition)
        settled = self._settled_ids(asset_key, partition_keys)
        frame = _pending_frame(asset_key, letters_by_partition, run_id, settled)
        pending = _of_partitions(asset_key, partition_keys, ValueSet("status", (PENDING,)))
        self.warehouse.replace_partition(SCHEMA, TABLE, frame, pending)
        return len(frame)

    def mark(self, dead_letter_ids: Sequence[str], status: str, run_id: str) -> int:
        """Set the status of the given dead letters (e.g. `reprocessed` once their record loaded)."""
        if not dead_letter_ids:
            return 0
        letters = self.read()
        chosen = letters.loc[letters["dead_letter_id"].isin(list(dead_letter_ids))]
        updated = chosen.assign(status=status, _run_id=run_id)
        self.warehouse.upsert(SCHEMA, TABLE, updated[COLUMNS], ["dead_letter_id"])
        return len(updated)

    def read(self, asset_key: str | None = None) -> pd.DataFrame:
        """Every dead letter (of one asset, if given); an empty frame before the first one."""
        partition = PartitionFilter.value_set("asset_key", [asset_key]) if asset_key else None
        return self._read(partition, include_audit=True)

    def pending_counts(self) -> dict[str, int]:
        """Pending dead letters per asset key: reads the pending rows only, never the settled history."""
        pending = self._read(PartitionFilter.value_set("status", [PENDING]), include_audit=False)
        return {str(asset): int(count) for asset, count in pending["asset_key"].value_counts().items()}

    def _settled_ids(self, asset_key: str, partition_keys: tuple[str, ...]) -> set[str]:
        """Ids of the partitions' letters that are no longer pending: one query for all of them."""
        existing = self._read(_of_partitions(asset_key, partition_keys), include_audit=False)
        return set(existing.loc[existing["status"] != PENDING, "dead_letter_id"])

    def _read(self, partition: PartitionFilter | None, include_audit: bool) -> pd.DataFrame:
        # Asking and catching rather than table_exists first: one connection instead of two.
        try:
            return self.warehouse.read_table(SCHEMA, TABLE, partition=partition, include_audit=include_audit)
        except TableNotFoundError:
            return pd.DataFrame(columns=COLUMNS)


def _of_partitions(asset_key: str, partition_keys: tuple[str, ...], *more: ValueSet) -> PartitionFilter:
    """The dead letters of these partitions of the asset (that also meet ``more``)."""
    return PartitionFilter(
        (ValueSet("asset_key", (asset_key,)), ValueSet("partition_key", partition_keys), *more)
    )


def _pending_frame(
    asset_key: str, letters_by_partition: Mapping[str, Sequence[DeadLetter]], run_id: str, settled: set[str]
) -> pd.DataFrame:
    """One row per distinct letter that is not settled already, typed like `ops.dead_letters`."""
    now = datetime.now(UTC).replace(tzinfo=None)
    rows = {}
    for partition_key, letters in letters_by_partition.items():
        for letter in letters:
            row = _pending_row(asset_key, partition_key, letter, run_id, now)
            if row[0] not in settled:
                rows[row[0]] = row
    return pd.DataFrame(list(rows.values()), columns=COLUMNS).astype(
        dict.fromkeys(COLUMNS[:-1], "string") | {"_created_at": "datetime64[ns]"}
    )


def _pending_row(
    asset_key: str, partition_key: str, letter: DeadLetter, run_id: str, now: datetime
) -> list[Any]:
    """The `COLUMNS` values of a new pending dead letter; its id comes first."""
    record_json = json.dumps(letter.record, sort_keys=True, default=str)
    return [
        dead_letter_id(asset_key, partition_key, record_json),
        asset_key,
        partition_key,
        record_json,
        letter.error_type,
        letter.error_message,
        PENDING,
        run_id,
        now,
    ]
