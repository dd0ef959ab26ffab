"""The dead-letter queue: bad records are kept with their error, never silently dropped.

Dead letters live in the warehouse table `ops.dead_letters`, one row per bad record, keyed by a
deterministic id (asset, partition, record), so re-running a partition replaces its pending dead
letters instead of adding copies. Records already `resolved` or `reprocessed` are left alone.
"""

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import dagster as dg
import pandas as pd

from reliable_assets.toolkit.partition_filter import PartitionFilter, ValueSet
from reliable_assets.toolkit.warehouse import Warehouse

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

    def replace_for_partition(
        self, asset_key: str, partition_key: str, letters: Sequence[DeadLetter], run_id: str
    ) -> int:
        """Make the partition's pending dead letters exactly `letters`, in one transaction."""
        settled = self._settled_ids(asset_key, partition_key)
        now = datetime.now(UTC).replace(tzinfo=None)
        rows = {}
        for letter in letters:
            record_json = json.dumps(letter.record, sort_keys=True, default=str)
            letter_id = dead_letter_id(asset_key, partition_key, record_json)
            if letter_id not in settled:
                rows[letter_id] = [
                    letter_id,
                    asset_key,
                    partition_key,
                    record_json,
                    letter.error_type,
                    letter.error_message,
                    PENDING,
                    run_id,
                    now,
                ]
        frame = pd.DataFrame(list(rows.values()), columns=COLUMNS).astype(
            dict.fromkeys(COLUMNS[:-1], "string") | {"_created_at": "datetime64[ns]"}
        )
        self.warehouse.replace_partition(
            SCHEMA,
            TABLE,
            frame,
            PartitionFilter(
                (
                    ValueSet("asset_key", (asset_key,)),
                    ValueSet("partition_key", (partition_key,)),
                    ValueSet("status", (PENDING,)),
                )
            ),
        )
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
        if not self.warehouse.table_exists(SCHEMA, TABLE):
            return pd.DataFrame(columns=COLUMNS)
        partition = PartitionFilter.value_set("asset_key", [asset_key]) if asset_key else None
        return self.warehouse.read_table(SCHEMA, TABLE, partition=partition, include_audit=True)

    def _settled_ids(self, asset_key: str, partition_key: str) -> set[str]:
        if not self.warehouse.table_exists(SCHEMA, TABLE):
            return set()
        existing = self.warehouse.read_table(
            SCHEMA,
            TABLE,
            partition=PartitionFilter(
                (ValueSet("asset_key", (asset_key,)), ValueSet("partition_key", (partition_key,)))
            ),
        )
        return set(existing.loc[existing["status"] != PENDING, "dead_letter_id"])
