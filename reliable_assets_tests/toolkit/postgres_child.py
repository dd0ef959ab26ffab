"""A PostgreSQL warehouse writer that the crash and concurrency tests run in a forked process.

:func:`write_day` replaces the 2026-01-01 partition of ``s.events`` with ``rows`` rows whose
``value`` is ``value``. When the write reaches ``moment`` (a step name the warehouse reports
through ``_reached``: ``locked``, ``deleted``, ``copy_started``, ``mid_copy``, ``copied``,
``committing``, ``committed``) it writes ``marker`` and sleeps ``pause`` seconds, so the parent can
``kill -9`` it at that exact step, or start a second writer while it holds the table's lock.
"""

import datetime as dt
import hashlib
import time
from pathlib import Path

import numpy as np
import pandas as pd

from reliable_assets.toolkit.partition_filter import PartitionFilter
from reliable_assets.toolkit.postgres_warehouse import PostgresWarehouse

DAY = dt.datetime(2026, 1, 1)
TABLE = ("s", "events")


def day_filter(day: dt.datetime = DAY) -> PartitionFilter:
    return PartitionFilter.time_range("day", day, day + dt.timedelta(days=1))


def day_frame(rows: int, day: dt.datetime = DAY, value: int = 0) -> pd.DataFrame:
    ids = np.arange(rows, dtype="int64")
    return pd.DataFrame(
        {
            "day": [day.date()] * rows,
            "id": ids,
            "value": np.full(rows, value, dtype="int64"),
            "label": pd.Series(ids).map(lambda i: f"row-{i}-v{value}"),
        }
    )


FINGERPRINT_SQL = (
    "SELECT count(*), coalesce(md5(string_agg(id || ':' || value || ':' || label, ',' ORDER BY id)), '')"
    " FROM s.events WHERE day = %s"
)


def expected_fingerprint(frame: pd.DataFrame) -> tuple[int, str]:
    """What FINGERPRINT_SQL returns for a partition holding exactly ``frame``'s rows."""
    ordered = frame.sort_values("id")
    text = ",".join(
        f"{i}:{v}:{label}"
        for i, v, label in zip(ordered["id"], ordered["value"], ordered["label"], strict=True)
    )
    return len(frame), hashlib.md5(text.encode()).hexdigest() if len(frame) else ""


class PausingWarehouse(PostgresWarehouse):
    marker: str
    moment: str
    pause: float

    def _reached(self, moment: str) -> None:
        if moment == self.moment:
            Path(self.marker).write_text(str(time.monotonic()))
            time.sleep(self.pause)


def write_day(url: str, marker: str, moment: str, rows: int, value: int, pause: float) -> None:
    warehouse = PausingWarehouse(url=url, marker=marker, moment=moment, pause=pause, copy_slice_rows=50_000)
    warehouse.replace_partition(*TABLE, day_frame(rows, value=value), day_filter())
