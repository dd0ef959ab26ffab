"""pandas dtypes -> PostgreSQL column types, and which frame columns may go into which table columns.

The type of a frame column is decided in Python from its dtype (object columns: from their
values), so a write knows every column's type before it sends a byte. A frame read back from
the table hashes like the frame written (see content_hash.py): integers stay integers, dates
stay dates, naive timestamps stay naive and aware ones come back in UTC.

The compatibility rules mirror duckdb_types.py: same family fits; integers widen into floats;
floats fit an integer column only when every value is whole (that is how pandas holds a nullable
integer column); timestamps fit a date column only at midnight. Everything else is refused.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

BOOLEAN = "boolean"
BIGINT = "bigint"
DOUBLE = "double precision"
NUMERIC = "numeric"
TEXT = "text"
DATE = "date"
TIMESTAMP = "timestamp without time zone"
TIMESTAMPTZ = "timestamp with time zone"
INTERVAL = "interval"
BYTEA = "bytea"

_FAMILIES = {
    "smallint": "integer", "integer": "integer", "bigint": "integer",
    "real": "float", "double precision": "float", "numeric": "float",
    "text": "text", "character varying": "text", "character": "text",
    "date": "temporal", "timestamp without time zone": "temporal", "timestamp with time zone": "temporal",
}  # fmt: skip

# A value converter applied to one slice of a frame column before it is rendered for COPY.
Converter = Callable[[pd.Series], pd.Series]


class IncompatibleColumnError(TypeError):
    """A frame column cannot be written into the table column (message says why)."""


def family(pg_type: str) -> str:
    """A coarse type family; ``numeric(12,2)`` and ``character varying(20)`` drop their modifiers."""
    base = pg_type.split("(", 1)[0].strip()
    return _FAMILIES.get(base, base)


def frame_column_type(series: pd.Series) -> str | None:  # noqa: PLR0911 - one branch per dtype kind
    """The PostgreSQL type for a frame column; None when it holds only nulls (type unknown)."""
    if series.empty:
        # pandas gives an empty column float64 or object whatever it would hold (pd.concat of
        # no rows, say): no evidence of a type, so it fits any table column.
        return None
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return TEXT if series.notna().any() else None
    if ptypes.is_bool_dtype(dtype):
        return BOOLEAN
    if ptypes.is_integer_dtype(dtype):
        return BIGINT
    if ptypes.is_float_dtype(dtype):
        return DOUBLE
    if isinstance(dtype, pd.DatetimeTZDtype):
        return TIMESTAMPTZ
    if ptypes.is_datetime64_dtype(dtype):
        return TIMESTAMP
    if ptypes.is_timedelta64_dtype(dtype):
        return INTERVAL
    if ptypes.is_string_dtype(dtype) and not ptypes.is_object_dtype(dtype):
        return TEXT if series.notna().any() else None
    return _object_column_type(series)


def _object_column_type(series: pd.Series) -> str | None:
    inferred = ptypes.infer_dtype(series, skipna=True)
    simple = {
        "string": TEXT, "boolean": BOOLEAN, "integer": BIGINT, "floating": DOUBLE,
        "mixed-integer-float": DOUBLE, "date": DATE, "decimal": NUMERIC, "bytes": BYTEA,
        "timedelta": INTERVAL, "empty": None,
    }  # fmt: skip
    if inferred in simple:
        return simple[inferred]
    if inferred in {"datetime", "datetime64"}:
        first = series.dropna().iloc[0]
        return TIMESTAMPTZ if getattr(first, "tzinfo", None) is not None else TIMESTAMP
    sample = series.dropna().iloc[0] if series.notna().any() else None
    raise IncompatibleColumnError(
        f"holds values of type {inferred} (e.g. {sample!r}); store text, numbers, booleans, dates or"
        " timestamps (serialise nested values to JSON text first)"
    )


@dataclass(frozen=True)
class ColumnPlan:
    """How one frame column is written: the table column's type and a value converter, if any."""

    table_type: str
    convert: Converter | None = None


def plan_column(series: pd.Series, frame_type: str | None, table_type: str) -> ColumnPlan:
    """How the frame column goes into a table column of ``table_type``; IncompatibleColumnError if
    it cannot, naming the first value that would not survive."""
    if frame_type is None:  # only nulls: fits any column
        return ColumnPlan(table_type)
    staged, target = family(frame_type), family(table_type)
    if frame_type == BYTEA and target == BYTEA:
        return ColumnPlan(table_type, _bytea_text)
    if staged == target:
        if table_type == DATE and frame_type != DATE:
            _require(series, _non_midnight, "is not a midnight timestamp, so it would lose its time")
            return ColumnPlan(table_type, _to_dates)
        return ColumnPlan(table_type, _interval_text if frame_type == INTERVAL else None)
    if staged == "integer" and target == "float":
        return ColumnPlan(table_type)
    if staged == "float" and target == "integer":
        _require(series, _not_whole, "is not a whole number")
        return ColumnPlan(table_type, _to_nullable_int)
    raise IncompatibleColumnError(f"{frame_type} values cannot be written into a {table_type} column")


def default_plan(series: pd.Series, frame_type: str | None) -> ColumnPlan:
    """The plan for a column the table does not have yet (it is created with the frame's type)."""
    return plan_column(series, frame_type, frame_type or TEXT)


def _require(series: pd.Series, bad: Callable[[pd.Series], pd.Series], why: str) -> None:
    offending = series[bad(series)]
    if len(offending):
        raise IncompatibleColumnError(f"the frame's value {offending.iloc[0]!r} {why}")


def _not_whole(series: pd.Series) -> pd.Series:
    values = pd.to_numeric(series, errors="coerce").astype("float64")
    present = series.notna()
    with np.errstate(invalid="ignore"):
        return present & (~np.isfinite(values) | (values != np.trunc(values)) | (np.abs(values) >= 2**63))


def _non_midnight(series: pd.Series) -> pd.Series:
    stamps = pd.to_datetime(series, errors="coerce", utc=isinstance(series.dtype, pd.DatetimeTZDtype))
    return series.notna() & (stamps != stamps.dt.normalize())


def _to_nullable_int(series: pd.Series) -> pd.Series:
    return pd.to_numeric(series).astype("Int64")


def _to_dates(series: pd.Series) -> pd.Series:
    stamps = pd.to_datetime(series)
    if isinstance(stamps.dtype, pd.DatetimeTZDtype):
        stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
    # Missing values become NaN, which Arrow reads as null.
    return stamps.dt.date.astype(object).mask(series.isna())


def _interval_text(series: pd.Series) -> pd.Series:
    # PostgreSQL parses ISO 8601 durations; Arrow's CSV writer cannot render durations itself.
    return series.map(lambda value: None if pd.isna(value) else pd.Timedelta(value).isoformat())


def _bytea_text(series: pd.Series) -> pd.Series:
    return series.map(lambda value: None if value is None else "\\x" + bytes(value).hex())
