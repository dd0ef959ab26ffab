"""A warehouse writer that the crash and lock tests run in a separate (forked) process.

:func:`write_day` replaces the 2026-01-01 partition of ``s.events`` with ``rows`` new rows. When
the statement named by ``moment`` runs (``delete``, ``insert``, ``commit``) it writes ``marker``
and sleeps ``pause`` seconds before (``insert``, ``commit``) or after (``delete``) that statement,
so the parent can ``kill -9`` it at a known point inside the transaction, or hold the file lock
while another writer waits.
"""

import datetime as dt
import time
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from reliable_assets.toolkit.duckdb_warehouse import DuckDBWarehouse
from reliable_assets.toolkit.partition_filter import PartitionFilter

DAY = dt.datetime(2026, 1, 1)
TABLE = ("s", "events")


def day_filter(day: dt.datetime = DAY) -> PartitionFilter:
    return PartitionFilter.time_range("day", day, day + dt.timedelta(days=1))


def day_frame(rows: int, day: dt.datetime = DAY, value: int = 0) -> pd.DataFrame:
    return pd.DataFrame({"day": [day.date()] * rows, "id": range(rows), "value": [value] * rows})


class _PausingConnection:
    """Delegates to a DuckDB connection; pauses around the statement that matches ``moment``."""

    def __init__(self, inner: duckdb.DuckDBPyConnection, marker: Path, moment: str, pause: float) -> None:
        self._inner, self._marker, self._moment, self._pause = inner, marker, moment, pause

    def execute(self, sql: str, params: Any = None) -> Any:
        statement = sql.lstrip().upper()
        matches = {
            "delete": statement.startswith('DELETE FROM "S"'),
            "insert": statement.startswith('INSERT INTO "S"'),
            "commit": statement.startswith("COMMIT"),
        }[self._moment]
        if matches and self._moment != "delete":
            self._signal()
        result = self._inner.execute(sql, params or [])
        if matches and self._moment == "delete":
            self._signal()
        return result

    def _signal(self) -> None:
        self._marker.write_text(str(time.monotonic()))
        time.sleep(self._pause)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class PausingWarehouse(DuckDBWarehouse):
    marker: str
    moment: str
    pause: float

    def _open_connection(self) -> duckdb.DuckDBPyConnection:
        inner = super()._open_connection()
        return _PausingConnection(inner, Path(self.marker), self.moment, self.pause)  # type: ignore[return-value]


def write_day(database: str, marker: str, moment: str, rows: int, pause: float) -> None:
    warehouse = PausingWarehouse(path=database, marker=marker, moment=moment, pause=pause)
    warehouse.replace_partition(*TABLE, day_frame(rows, value=1), day_filter())
