"""Content hashes of tables: the same rows give the same hash, however they were produced.

Audit columns (names starting with ``_``, e.g. ``_run_id``, ``_loaded_at``) change on every run
by design, so they are left out. The hash is independent of row order, column order and of how a
value happens to be typed (``int32`` vs ``int64``, an integral ``float`` read back from a nullable
integer column, ``datetime.date`` vs a ``DATE`` read back from the database), and it is stable
across processes (no Python ``hash()``).
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import json
import math
import uuid
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

AUDIT_COLUMN_PREFIX = "_"


def is_audit_column(name: object) -> bool:
    return str(name).startswith(AUDIT_COLUMN_PREFIX)


def content_columns(frame: pd.DataFrame) -> list[str]:
    """The frame's non-audit columns, in frame order."""
    return [str(column) for column in frame.columns if not is_audit_column(column)]


def frame_content_hash(frame: pd.DataFrame) -> str:
    """sha256 hex digest of the frame's content columns and rows, canonically ordered."""
    columns = sorted(content_columns(frame))
    tokens_by_column = [
        [_canonical(value) for value in frame[column].to_numpy(dtype=object)] for column in columns
    ]
    rows = sorted(json.dumps(row, ensure_ascii=False) for row in zip(*tokens_by_column, strict=True))
    digest = hashlib.sha256()
    digest.update(json.dumps(columns).encode())
    for row in rows:
        digest.update(b"\n")
        digest.update(row.encode())
    return digest.hexdigest()


def _canonical(value: Any) -> Any:  # noqa: PLR0911, PLR0912 - one branch per value kind is clearest
    """A JSON-serialisable token for one cell; the type tag keeps ``1`` and ``"1"`` apart."""
    if value is None or value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, bool | np.bool_):
        return f"b:{str(bool(value)).lower()}"
    if isinstance(value, int | np.integer):
        return f"n:{int(value)}"
    if isinstance(value, float | np.floating):
        return _canonical_float(float(value))
    if isinstance(value, decimal.Decimal):
        return None if value.is_nan() else _canonical_float(float(value))
    if isinstance(value, str):
        return f"s:{value}"
    if isinstance(value, np.datetime64) and np.isnat(value):
        return None
    if isinstance(value, dt.datetime | np.datetime64):
        return _canonical_timestamp(pd.Timestamp(value))
    if isinstance(value, dt.date):
        return f"d:{value.isoformat()}"
    if isinstance(value, dt.time):
        return f"t:{value.isoformat()}"
    if isinstance(value, dt.timedelta | np.timedelta64):
        delta = pd.Timedelta(value)
        return None if pd.isna(delta) else f"i:{delta.isoformat()}"
    if isinstance(value, bytes | bytearray | memoryview):
        return f"x:{bytes(value).hex()}"
    if isinstance(value, uuid.UUID):
        return f"s:{value}"
    if isinstance(value, Mapping):
        return {str(key): _canonical(item) for key, item in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, list | tuple | np.ndarray):
        return [_canonical(item) for item in value]
    raise TypeError(f"frame_content_hash cannot hash a value of type {type(value).__name__}: {value!r}")


def _canonical_float(value: float) -> str | None:
    if math.isnan(value):
        return None
    # An integral float is the same number as the int: nullable integer columns come back as
    # float64 from pandas/DuckDB, and they must hash like the integers that were written.
    if value.is_integer() and abs(value) < 2**63:
        return f"n:{int(value)}"
    return f"n:{value!r}"


def _canonical_timestamp(value: pd.Timestamp) -> str:
    if value.tzinfo is not None:
        value = value.tz_convert("UTC").tz_localize(None)
    return f"ts:{value.isoformat()}"
