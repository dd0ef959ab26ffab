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
import functools
import hashlib
import json
import math
import uuid
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

AUDIT_COLUMN_PREFIX = "_"


def is_audit_column(name: object) -> bool:
    return str(name).startswith(AUDIT_COLUMN_PREFIX)


def content_columns(frame: pd.DataFrame) -> list[str]:
    """The frame's non-audit columns, in frame order."""
    return [str(column) for column in frame.columns if not is_audit_column(column)]


def frame_content_hash(frame: pd.DataFrame) -> str:
    """sha256 hex digest of the frame's content columns and rows, canonically ordered.

    The definition: each cell becomes the JSON text of ``_canonical(value)``, each row the text of
    ``json.dumps(row_tokens, ensure_ascii=False)``; the digest covers the sorted column names and the
    sorted row texts. The texts are built vectorized, as Arrow strings where the dtype allows
    (`_fragment_array`), because per-cell Python work dominated backfills; they must stay
    byte-identical to the definition, since published data versions compare hashes across sessions.
    """
    columns = sorted(content_columns(frame))
    digest = hashlib.sha256(json.dumps(columns).encode())
    if not columns:
        return digest.hexdigest()
    try:
        fragments = [_fragment_array(frame[column]) for column in columns]
    except (pa.ArrowException, UnicodeEncodeError):  # e.g. a lone surrogate, which UTF-8 cannot hold
        return _digest_of_texts(digest, [_column_fragments(frame[column]) for column in columns])
    # A row's JSON text is "[" + its fragments joined by ", " + "]". Fragments are complete JSON
    # strings, nulls, arrays or objects, so none is a proper prefix of another, and rows sort the
    # same with or without the brackets. Arrow sorts strings by their UTF-8 bytes, which is the
    # code point order Python sorts by.
    rows = pc.binary_join_element_wise(*fragments, _text(", ")) if len(fragments) > 1 else fragments[0]
    order = pc.sort_indices(rows)
    # Feeding b"\n[" + row + b"]" per row equals feeding the joined text; chunks bound the memory.
    for start in range(0, len(rows), _DIGEST_CHUNK_ROWS):
        chunk = rows.take(order[start : start + _DIGEST_CHUNK_ROWS])
        digest.update(_joined_bytes(pc.binary_join_element_wise(_text("\n["), chunk, _text("]"), _text(""))))
    return digest.hexdigest()


def _digest_of_texts(digest: Any, fragments: list[list[str]]) -> str:
    """The same digest from Python strings: for columns Arrow cannot hold."""
    rows = list(map(", ".join, zip(*fragments, strict=True)))
    rows.sort()
    for start in range(0, len(rows), _DIGEST_CHUNK_ROWS):
        digest.update(("\n[" + "]\n[".join(rows[start : start + _DIGEST_CHUNK_ROWS]) + "]").encode())
    hexdigest: str = digest.hexdigest()
    return hexdigest


def cell_texts(column: pd.Series) -> list[str]:
    """Each cell's canonical text, as the content hash sees it: equal texts mean equal content
    (``1`` and ``1.0`` are equal, ``1`` and ``"1"`` are not)."""
    return _column_fragments(column)


_DIGEST_CHUNK_ROWS = 16_384
_SAMPLE_SIZE = 16_384
_NULL = "null"
_NS_PER_SECOND = 1_000_000_000
_NS_PER_DAY = 86_400 * _NS_PER_SECOND
_MASKED_DTYPES = (
    pd.Int8Dtype,
    pd.Int16Dtype,
    pd.Int32Dtype,
    pd.Int64Dtype,
    pd.UInt8Dtype,
    pd.UInt16Dtype,
    pd.UInt32Dtype,
    pd.UInt64Dtype,
    pd.Float32Dtype,
    pd.Float64Dtype,
    pd.BooleanDtype,
)
# Widening is exact (and _canonical widens too: int(value), float(value)).
_MASKED_TARGETS: dict[str, tuple[Any, Any]] = {
    "b": (np.bool_, False),
    "i": (np.int64, 0),
    "u": (np.uint64, 0),
    "f": (np.float64, np.nan),
}


def _column_fragments(column: pd.Series | pd.DataFrame) -> list[str]:
    """The JSON text of each cell's ``_canonical`` token, computed by dtype where that is safe."""
    if not isinstance(column, pd.Series):  # duplicate column names: the reference path
        return _object_fragments(column.to_numpy(dtype=object))
    dtype = column.dtype
    if isinstance(dtype, _MASKED_DTYPES):
        values, nulls = _widened(column)
        return _with_nulls(_numpy_fragments(values), nulls)
    if _is_datetime(dtype):
        return _datetime_fragments(column)
    if _is_numpy_number(dtype):
        return _numpy_fragments(column.to_numpy())
    # Anything else (object, string, categorical, timedelta, ...) goes value by value.
    return _object_fragments(column.to_numpy(dtype=object))


def _widened(column: pd.Series) -> tuple[npt.NDArray[Any], npt.NDArray[np.bool_]]:
    """A nullable (masked) column as a numpy array of its widened type, and where it is null."""
    target, fill = _MASKED_TARGETS[column.dtype.kind]
    return column.to_numpy(dtype=target, na_value=fill), column.isna().to_numpy(dtype=bool)


def _is_numpy_kind(dtype: Any, kinds: str) -> bool:
    return isinstance(dtype, np.dtype) and dtype.kind in kinds


def _is_datetime(dtype: Any) -> bool:
    return isinstance(dtype, pd.DatetimeTZDtype) or _is_numpy_kind(dtype, "M")


def _is_numpy_number(dtype: Any) -> bool:
    """Integers, booleans and floats up to float64 (wider floats would not widen exactly)."""
    return _is_numpy_kind(dtype, "biu") or (_is_numpy_kind(dtype, "f") and dtype.itemsize <= 8)


def _numpy_fragments(values: npt.NDArray[Any]) -> list[str]:
    if values.dtype.kind == "b":
        fragments: list[str] = np.where(values, '"b:true"', '"b:false"').tolist()
        return fragments
    return _via_distinct(values, _number_texts)


def _via_distinct(values: npt.NDArray[Any], texts: Callable[[npt.NDArray[Any]], list[str]]) -> list[str]:
    """``texts(values)``, formatting each distinct value once when values repeat (keys, dates).

    NaN, NaT and None factorize to code -1, which picks the ``null`` appended to the table.
    """
    if _mostly_distinct(values):
        return texts(values)
    codes, distinct = pd.factorize(values)
    table = np.array([*texts(np.asarray(distinct)), _NULL], dtype=object)
    taken: list[str] = table[codes].tolist()
    return taken


def _mostly_distinct(values: npt.NDArray[Any]) -> bool:
    """A spread sample tells mostly distinct columns (ids, measurements), where factorizing would
    not pay, from repeating ones (user ids, dates, categories)."""
    sample = values[:: max(1, len(values) // _SAMPLE_SIZE)]
    return len(pd.unique(sample)) > 0.9 * len(sample)


def _float_kinds(
    values: npt.NDArray[Any],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """The values as float64 (float16/32 widen exactly, as float(value) does in _canonical), where
    they are NaN, and where they are integral and below 2**63 (so they hash as the integer)."""
    floats = values.astype(np.float64)
    null = np.isnan(floats)
    with np.errstate(invalid="ignore"):
        integral = ~null & (np.trunc(floats) == floats) & (np.abs(floats) < 2.0**63)
    return floats, null, integral


def _number_texts(values: npt.NDArray[Any]) -> list[str]:
    if values.dtype.kind in "iu":
        return [f'"n:{value}"' for value in values.tolist()]
    floats, null, integral = _float_kinds(values)
    other = ~null & ~integral
    fragments = np.full(len(floats), _NULL, dtype=object)
    # astype(int64) is exact below 2**63; -0.0 becomes 0 as int(-0.0) does.
    fragments[integral] = [f'"n:{value}"' for value in floats[integral].astype(np.int64).tolist()]
    # Python's repr on Python floats: the reference text, with no reliance on numpy's formatting.
    fragments[other] = [f'"n:{value!r}"' for value in floats[other].tolist()]
    result: list[str] = fragments.tolist()
    return result


def _datetime_fragments(column: pd.Series) -> list[str]:
    """``"ts:" + Timestamp.isoformat()`` of the UTC wall time, assembled from int64 nanoseconds."""
    values = _utc_nanoseconds(column)
    if values is None:  # beyond 1677..2262: the reference path
        return _object_fragments(column.to_numpy(dtype=object))
    return _via_distinct(values, _timestamp_texts)


def _utc_nanoseconds(column: pd.Series) -> npt.NDArray[np.datetime64] | None:
    """The column's UTC wall times as datetime64[ns], or None if some are out of that range."""
    try:
        if isinstance(column.dtype, pd.DatetimeTZDtype):
            column = column.dt.tz_convert(None)
        values: npt.NDArray[np.datetime64] = column.dt.as_unit("ns").to_numpy(dtype="datetime64[ns]")
    except pd.errors.OutOfBoundsDatetime:
        return None
    return values


def _timestamp_texts(values: npt.NDArray[np.datetime64]) -> list[str]:
    # A separator after each text, so that one split makes every string at once.
    text, _ = _timestamp_bytes(values, separator=b"\n")
    fragments = text.tobytes().decode("ascii").split("\n")
    fragments.pop()  # after the last separator
    return _with_nulls(fragments, np.isnat(values))


def _timestamp_bytes(
    values: npt.NDArray[np.datetime64], separator: bytes = b""
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
    """The texts of ``values`` (NaT as the epoch; callers null them), each followed by ``separator``,
    as one ASCII byte string, and each text's length without the separator.

    Per-value formatting costs ~0.5 us (numpy or pandas): the texts are assembled as ASCII bytes,
    one row of a uint8 matrix per value, from the int64 nanoseconds.
    """
    nat = np.isnat(values)
    days, within_day = np.divmod(np.where(nat, 0, values.view(np.int64)), _NS_PER_DAY)
    seconds, fraction = np.divmod(within_day, _NS_PER_SECOND)
    millis, below_milli = np.divmod(fraction, 1_000_000)
    micros, nanos = np.divmod(below_milli, 1_000)
    day_codes, distinct_days = pd.factorize(days)
    dates = np.datetime_as_string(distinct_days.astype("datetime64[D]")).astype("S10")  # 4-digit years
    digits = _digit_bytes()
    text = np.empty((len(values), _TS_WIDTH), dtype=np.uint8)
    text[:, 0:4] = np.frombuffer(b'"ts:', dtype=np.uint8)
    text[:, 4:14] = dates.view(np.uint8).reshape(-1, 10)[day_codes]
    text[:, 14] = ord("T")
    text[:, 15:23] = _clock_bytes()[seconds]
    text[:, 23] = ord(".")
    text[:, 24:27] = digits[millis]
    text[:, 27:30] = digits[micros]
    text[:, 30:33] = digits[nanos]
    # Timestamp.isoformat: no fraction for whole seconds, 6 digits for whole microseconds, else 9.
    length = np.where(fraction == 0, 24, np.where(nanos == 0, 31, 34))
    rows = np.arange(len(values))
    text[rows, length - 1] = ord('"')
    width = length + len(separator)
    if separator:
        text[rows, length] = separator[0]
    return text[np.arange(_TS_WIDTH) < width[:, None]], length.astype(np.int64)


_TS_WIDTH = 35  # '"ts:' + YYYY-MM-DDTHH:MM:SS + '.' + 9 digits + '"' + separator


@functools.cache
def _clock_bytes() -> npt.NDArray[np.uint8]:
    """HH:MM:SS of every second of a day, one row each."""
    text = "".join(
        f"{second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}" for second in range(86_400)
    )
    return np.frombuffer(text.encode(), dtype=np.uint8).reshape(86_400, 8)


@functools.cache
def _digit_bytes() -> npt.NDArray[np.uint8]:
    """000 to 999, one row each."""
    return np.frombuffer("".join(f"{number:03d}" for number in range(1000)).encode(), dtype=np.uint8).reshape(
        1000, 3
    )


def _with_nulls(fragments: list[str], mask: npt.NDArray[np.bool_]) -> list[str]:
    for index in np.flatnonzero(mask).tolist():
        fragments[index] = _NULL
    return fragments


# Object columns holding only these types may be factorized: no two distinct tokens among them
# compare equal (unlike 1, 1.0 and True, or 2**63 and 2.0**63); NaN, None and NA are all null.
_FACTORIZABLE_OBJECTS = frozenset({str, float, type(None), type(pd.NA)})


def _object_fragments(values: npt.NDArray[Any]) -> list[str]:
    if values.ndim == 1 and set(map(type, values)) <= _FACTORIZABLE_OBJECTS:
        return _via_distinct(values, _cell_fragments)
    return _cell_fragments(values)


def _cell_fragments(values: npt.NDArray[Any]) -> list[str]:
    encode = json.encoder.encode_basestring  # what json.dumps(..., ensure_ascii=False) uses for str
    return [encode("s:" + value) if value.__class__ is str else _value_fragment(value) for value in values]


def _value_fragment(value: Any) -> str:
    """JSON text of one object cell's token: shortcuts for exact plain types, else ``_canonical``."""
    if value is None or value is pd.NA or value is pd.NaT:
        return _NULL
    kind = value.__class__
    if kind is int:
        return f'"n:{value}"'
    if kind is float:
        token = _canonical_float(value)
        return _NULL if token is None else f'"{token}"'
    return json.dumps(_canonical(value), ensure_ascii=False)


# --- The same fragments as Arrow strings -------------------------------------------------------
# Arrow builds, joins and sorts the texts of the common dtypes without a Python string per cell;
# every other column is its Python fragments, converted. Either way the texts are byte-identical.

_TEXT = pa.large_string()
# Characters json.dumps escapes (ensure_ascii=False): a string with none is "\"s:" + itself + "\"".
_NEEDS_ESCAPE = r'[\x00-\x1f"\\]'


def _text(value: str) -> pa.Scalar:
    return pa.scalar(value, type=_TEXT)


def _fragment_array(column: pd.Series | pd.DataFrame) -> pa.Array:
    """`_column_fragments` of the column as an Arrow array of large strings."""
    if isinstance(column, pd.Series):
        dtype = column.dtype
        if isinstance(dtype, _MASKED_DTYPES):
            values, nulls = _widened(column)
            return _nulls_where(_numpy_fragment_array(values), nulls)
        if _is_datetime(dtype):
            times = _utc_nanoseconds(column)
            if times is not None:
                return _via_distinct_array(times, _timestamp_array)
        elif _is_numpy_number(dtype):
            return _numpy_fragment_array(column.to_numpy())
        elif _is_numpy_kind(dtype, "O") and pd.api.types.infer_dtype(column, skipna=False) == "string":
            return _via_distinct_array(column.to_numpy(), _string_array)
    return pa.array(_column_fragments(column), type=_TEXT)


def _via_distinct_array(values: npt.NDArray[Any], texts: Callable[[npt.NDArray[Any]], pa.Array]) -> pa.Array:
    """`_via_distinct` with Arrow texts: each distinct value's text is taken for its rows."""
    if _mostly_distinct(values):
        return texts(values)
    codes, distinct = pd.factorize(values)
    table = pa.concat_arrays([texts(np.asarray(distinct)), pa.array([_NULL], type=_TEXT)])
    return table.take(pa.array(np.where(codes < 0, len(table) - 1, codes)))


def _numpy_fragment_array(values: npt.NDArray[Any]) -> pa.Array:
    if values.dtype.kind == "b":
        return pa.array(['"b:false"', '"b:true"'], type=_TEXT).take(pa.array(values.astype(np.int8)))
    return _via_distinct_array(values, _number_array)


def _number_array(values: npt.NDArray[Any]) -> pa.Array:
    if values.dtype.kind in "iu":
        return _integer_texts(values)
    floats, null, integral = _float_kinds(values)
    if not (integral | null).all():  # repr of non-integral floats: Python's own text
        return pa.array(_number_texts(values), type=_TEXT)
    # astype(int64) is exact below 2**63; -0.0 becomes 0 as int(-0.0) does.
    return _nulls_where(_integer_texts(np.where(integral, floats, 0).astype(np.int64)), null)


def _integer_texts(values: npt.NDArray[Any]) -> pa.Array:
    return _quoted("n:", pc.cast(pa.array(values), _TEXT))  # decimal, "-" for negatives: as str(int)


def _timestamp_array(values: npt.NDArray[np.datetime64]) -> pa.Array:
    text, length = _timestamp_bytes(values)
    offsets = np.concatenate([[0], np.cumsum(length)]).astype(np.int64)
    texts = pa.LargeStringArray.from_buffers(len(values), pa.py_buffer(offsets), pa.py_buffer(text))
    return _nulls_where(texts, np.isnat(values))


def _string_array(values: npt.NDArray[Any]) -> pa.Array:
    """Fragments of a column of str (no nulls): wrapped as they are, or escaped by Python."""
    strings = pa.array(values, type=_TEXT)  # raises on a lone surrogate: the caller falls back
    if len(strings) and pc.any(pc.match_substring_regex(strings, _NEEDS_ESCAPE)).as_py():
        return pa.array(_cell_fragments(values), type=_TEXT)
    return _quoted("s:", strings)


def _quoted(tag: str, texts: pa.Array) -> pa.Array:
    """'"' + tag + text + '"' per text: the JSON string of a token whose text needs no escaping."""
    return pc.binary_join_element_wise(_text(f'"{tag}'), texts, _text('"'), _text(""))


def _nulls_where(texts: pa.Array, mask: npt.NDArray[np.bool_]) -> pa.Array:
    if not mask.any():
        return texts
    return pc.if_else(pa.array(mask), _text(_NULL), texts)


def _joined_bytes(texts: pa.Array) -> pa.Buffer:
    """The texts one after another: the slice of the array's data buffer they occupy."""
    if len(texts) == 0:
        return pa.py_buffer(b"")
    offsets = np.frombuffer(texts.buffers()[1], dtype=np.int64)[texts.offset : texts.offset + len(texts) + 1]
    data: pa.Buffer = texts.buffers()[2]
    return data[int(offsets[0]) : int(offsets[-1])]


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
