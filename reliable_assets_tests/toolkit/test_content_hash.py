import datetime as dt
import decimal
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from reliable_assets.toolkit.content_hash import _canonical, content_columns, frame_content_hash
from reliable_assets.toolkit.duckdb_warehouse import DuckDBWarehouse


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": [1, 2, 3],
            "amount": [1.5, None, 0.1],
            "name": ["a", None, "c"],
            "day": [dt.date(2026, 1, 1), dt.date(2026, 1, 2), None],
            "at": pd.to_datetime(
                pd.Series(["2026-01-01 10:00:00", None, "2026-01-03 00:00:00.5"]), format="ISO8601"
            ),
            "flag": [True, False, True],
        }
    )


def test_hash_ignores_row_and_column_order() -> None:
    """Invariant: the hash depends on content, not on row order or column order."""
    frame = _frame()
    shuffled = frame.sample(frac=1, random_state=7)[list(reversed(frame.columns))].reset_index(drop=True)
    assert frame_content_hash(shuffled) == frame_content_hash(frame)


def test_hash_excludes_audit_columns() -> None:
    """Invariant: columns starting with '_' (run metadata) do not change the hash."""
    frame = _frame()
    audited = frame.assign(_run_id="run-1", _loaded_at=pd.Timestamp.now(tz="UTC"))
    assert content_columns(audited) == list(frame.columns)
    assert frame_content_hash(audited) == frame_content_hash(frame.assign(_run_id="run-2"))
    assert frame_content_hash(audited) == frame_content_hash(frame)


def test_hash_changes_when_content_changes() -> None:
    """Invariant: a different value, a swapped pair of values or a renamed column changes the hash."""
    frame = _frame()
    base = frame_content_hash(frame)
    assert frame_content_hash(frame.assign(amount=pd.Series([1.5, None, 0.2]))) != base
    assert frame_content_hash(frame.assign(id=[2, 1, 3])) != base
    assert frame_content_hash(frame.rename(columns={"name": "label"})) != base
    assert frame_content_hash(frame.assign(name=["a", "None", "c"])) != base  # null is not "None"
    assert frame_content_hash(frame.assign(id=["1", "2", "3"])) != base  # 1 is not "1"


def test_hash_normalises_dtypes_and_nulls() -> None:
    """Invariant: int widths, nullable ints, NaN/None/NaT and tz-aware vs naive UTC hash alike."""
    ints = pd.DataFrame({"n": np.array([1, 2], dtype="int64")})
    assert frame_content_hash(ints) == frame_content_hash(ints.astype("int32"))
    assert frame_content_hash(ints) == frame_content_hash(ints.astype("Int16"))
    nullable = pd.DataFrame({"n": pd.array([1, None], dtype="Int64")})
    assert frame_content_hash(nullable) == frame_content_hash(pd.DataFrame({"n": [1.0, np.nan]}))
    assert frame_content_hash(pd.DataFrame({"n": [None, None]})) == frame_content_hash(
        pd.DataFrame({"n": [np.nan, pd.NaT]})
    )
    naive = pd.DataFrame({"t": pd.to_datetime(["2026-01-01 05:00"])})
    aware = pd.DataFrame({"t": pd.to_datetime(["2026-01-01 06:00+01:00"])})
    assert frame_content_hash(naive) == frame_content_hash(aware)


def test_hash_survives_a_database_round_trip(tmp_path: Path) -> None:
    """Invariant: a frame and the same rows read back from the warehouse hash equal."""
    warehouse = DuckDBWarehouse(path=str(tmp_path / "w.duckdb"))
    frame = _frame().assign(small=np.array([1, 2, 3], dtype="int8"))
    warehouse.replace_partition("s", "t", frame, None)
    assert frame_content_hash(warehouse.read_table("s", "t")) == frame_content_hash(frame)
    assert warehouse.table_content_hash("s", "t") == frame_content_hash(frame)


def test_hash_is_stable_across_processes() -> None:
    """Invariant: the digest is a fixed function of content (no per-process hash seed)."""
    frame = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    assert frame_content_hash(frame) == frame_content_hash(frame.copy())
    assert len(frame_content_hash(frame)) == 64
    # Pinned value: changes only if the canonical encoding changes (which would change every version).
    assert frame_content_hash(frame) == _pinned_hash()


def _pinned_hash() -> str:
    import hashlib
    import json

    rows = sorted(json.dumps(row) for row in [["n:1", "s:x"], ["n:2", "s:y"]])
    digest = hashlib.sha256(json.dumps(["a", "b"]).encode())
    for row in rows:
        digest.update(b"\n" + row.encode())
    return digest.hexdigest()


# --- The fast path against the definition -----------------------------------------------------


def _reference_hash(frame: pd.DataFrame) -> str:
    """The definition frame_content_hash must match digest for digest (the implementation before the
    vectorized path): every cell through the per-value ``_canonical``, each row as
    ``json.dumps(tokens, ensure_ascii=False)``, rows sorted, then sha256 of the sorted column names
    and "\\n" + row per row."""
    import hashlib
    import json

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


def _outcome(hash_function: Callable[[pd.DataFrame], str], frame: pd.DataFrame) -> str:
    """The digest, or the type of the error raised: unhashable frames must fail alike."""
    try:
        return hash_function(frame)
    except Exception as error:
        return f"raises {type(error).__name__}"


_SPECIAL_FLOATS = [
    0.0,
    -0.0,
    1.0,
    -1.0,
    0.1 + 0.2,
    0.1,
    1 / 3,
    1e16,
    1e16 + 2,
    -1e16,
    1e-7,
    1e-4,
    1.5e-5,
    123456.789,
    1e22,
    1.7976931348623157e308,
    5e-324,
    2.0**53,
    2.0**53 + 2,
    2.0**63,
    -(2.0**63),
    2.0**63 - 1024,
    -(2.0**63) + 1024,
    2.0**64,
    float("inf"),
    float("-inf"),
    float("nan"),
]
_SPECIAL_INTS = [0, 1, -1, 7, 2**31 - 1, -(2**31), 2**53 + 1, 2**63 - 1, -(2**63)]
_SPECIAL_STRINGS = [
    "",
    "a",
    "None",
    "null",
    "1",
    'say "hi"',
    "back\\slash",
    "new\nline",
    "tab\tcr\r",
    "\x00\x01\x1f\x7f",
    "\b\f",
    "é ü ß",
    "中文",
    "emoji 😀",
    "line\u2028sep",
    "/slash/",
    '", "',
    "a!",
    "a ",
]
_TIMEZONES = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata"]
_MASKED_DTYPES: dict[str, pd.api.extensions.ExtensionDtype] = {
    "Int64": pd.Int64Dtype(),
    "Int8": pd.Int8Dtype(),
    "UInt64": pd.UInt64Dtype(),
    "boolean": pd.BooleanDtype(),
    "Float64": pd.Float64Dtype(),
}
_UNITS: tuple[Literal["ns", "us", "ms", "s"], ...] = ("ns", "us", "ms", "s")


def _random_column(rng: np.random.Generator, n: int) -> pd.Series:  # noqa: PLR0911, PLR0912
    """A column of one random kind, n values, with nulls, boundaries and repeats mixed in."""
    kind = str(rng.choice(_COLUMN_KINDS))
    repeat = rng.random() < 0.4  # few distinct values: exercises the factorized path
    pool = max(1, n // 8) if repeat else n
    if kind in {"int64", "int32", "int8", "uint8"}:
        info = np.iinfo(kind)
        values = rng.integers(info.min, info.max, size=pool, dtype=kind, endpoint=True)
        return pd.Series(rng.choice(values, n) if n else values[:0])
    if kind == "int64-special":
        return pd.Series(
            np.array([_SPECIAL_INTS[i] for i in rng.integers(0, len(_SPECIAL_INTS), n)], "int64")
        )
    if kind == "uint64":
        values = rng.integers(0, 2**64 - 1, size=n, dtype="uint64", endpoint=True)
        values[rng.random(n) < 0.2] = 2**64 - 1
        return pd.Series(values)
    if kind in {"float64", "float32", "float16"}:
        values = np.where(
            rng.random(n) < 0.5,
            rng.choice(np.array(_SPECIAL_FLOATS), n),
            rng.normal(0, 10.0 ** rng.integers(-8, 20), n),
        )
        with np.errstate(over="ignore", invalid="ignore"):  # huge values round to inf: fine
            values = np.where(rng.random(n) < 0.2, np.round(values, int(rng.integers(0, 4))), values)
            return pd.Series(values.astype(kind))
    if kind == "bool":
        return pd.Series(rng.random(n) < 0.5)
    if kind in {"Int64", "Int8", "UInt64", "boolean", "Float64"}:
        if kind == "boolean":
            base: np.ndarray = rng.random(n) < 0.5
        elif kind == "Float64":
            base = rng.choice(np.array([*_SPECIAL_FLOATS[:-1], 2.5, -0.75]), n)
        elif kind == "UInt64":
            base = rng.integers(0, 2**64 - 1, n, dtype="uint64")
        else:
            base = rng.integers(-128, 128, n) if kind == "Int8" else rng.integers(-(2**62), 2**62, n)
        masked = pd.Series(base).astype(_MASKED_DTYPES[kind])
        masked[rng.random(n) < 0.3] = pd.NA
        return masked
    if kind.startswith("datetime"):
        unit = _UNITS[int(rng.integers(0, len(_UNITS)))]
        start = int(rng.choice([-(2**62), -(10**17), 0, 1_767_225_600 * 10**9]))
        spans = rng.integers(0, 10 ** int(rng.integers(1, 18)), pool)
        precision = 10 ** int(rng.integers(0, 13))  # whole ns, us, ms, seconds, days ...
        ns = start + (spans // precision) * precision
        if kind == "datetime-dates":
            ns = (ns // (86_400 * 10**9)) * 86_400 * 10**9  # dates stored as midnight timestamps
        values = (rng.choice(ns, n) if n else ns[:0]).astype("datetime64[ns]")
        values[rng.random(n) < 0.15] = np.datetime64("NaT")
        series = pd.Series(values).dt.as_unit(unit) if unit != "ns" else pd.Series(values)
        if kind == "datetime-aware":
            series = series.dt.tz_localize("UTC").dt.tz_convert(str(rng.choice(_TIMEZONES)))
        return series
    if kind == "datetime-far":  # non-ns units beyond the ns range: the reference path
        years = rng.integers(1, 9999, n).astype(str)
        return pd.Series(np.array([f"{y.zfill(4)}-03-04T05:06:07" for y in years], dtype="datetime64[s]"))
    if kind in {"str", "str-unicode"}:
        words = [
            f"{rng.choice(_SPECIAL_STRINGS)}{i}" if kind == "str-unicode" else f"v{i}" for i in range(pool)
        ]
        values = np.array([words[i] for i in rng.integers(0, pool, n)], dtype=object)
        values[rng.random(n) < 0.15] = None
        if rng.random() < 0.3:
            values[rng.random(n) < 0.1] = np.nan
        return pd.Series(values, dtype=object)
    if kind == "string-dtype":
        values = np.array([str(rng.choice(_SPECIAL_STRINGS)) for _ in range(n)], dtype=object)
        values[rng.random(n) < 0.2] = None
        return pd.Series(values, dtype="string")
    if kind == "category":
        values = np.array([str(rng.choice(["x", "y", "z"])) for _ in range(n)], dtype=object)
        values[rng.random(n) < 0.2] = None
        return pd.Series(values, dtype="category")
    if kind == "timedelta":
        values = rng.integers(-(10**15), 10**15, n).astype("timedelta64[ns]")
        values[rng.random(n) < 0.2] = np.timedelta64("NaT")
        return pd.Series(values)
    return pd.Series([_random_object(rng) for _ in range(n)], dtype=object)


_COLUMN_KINDS = [
    "int64",
    "int32",
    "int8",
    "uint8",
    "int64-special",
    "uint64",
    "float64",
    "float32",
    "float16",
    "bool",
    "Int64",
    "Int8",
    "UInt64",
    "boolean",
    "Float64",
    "datetime-naive",
    "datetime-dates",
    "datetime-aware",
    "datetime-far",
    "str",
    "str-unicode",
    "string-dtype",
    "category",
    "timedelta",
    "object-mixed",
]


def _random_object(rng: np.random.Generator) -> object:
    """One value of an object column that mixes Python types, as raw extracts do."""
    choices: list[object] = [
        None,
        np.nan,
        pd.NA,
        pd.NaT,
        True,
        False,
        np.bool_(True),
        int(rng.integers(-(10**6), 10**6)),
        2**63,
        -(2**70),
        float(rng.choice(np.array(_SPECIAL_FLOATS))),
        np.float32(0.1),
        np.int16(-3),
        str(rng.choice(_SPECIAL_STRINGS)),
        np.str_("numpy str"),
        decimal.Decimal("1.10"),
        decimal.Decimal("NaN"),
        decimal.Decimal("3"),
        dt.date(2026, 1, 2),
        dt.datetime(2026, 1, 2, 3, 4, 5, 6),
        dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone(dt.timedelta(hours=2))),
        pd.Timestamp("2026-01-02 03:04:05.000000007", tz="America/New_York"),
        np.datetime64("2026-01-02T03:04"),
        np.datetime64("NaT"),
        dt.time(12, 30, 0, 5),
        dt.timedelta(days=1, microseconds=3),
        b"\x00\xffbytes",
        uuid.UUID(int=12345),
        {"b": 1, "a": [1.5, None, "x"]},
        [1, "two", 3.0],
        (None, True),
    ]
    return choices[int(rng.integers(0, len(choices)))]


def _random_frame(rng: np.random.Generator) -> pd.DataFrame:
    n = int(rng.choice([0, 1, 2, 3, 5, 17, 40, 120]))
    names = [f"c{i}" for i in range(int(rng.integers(0, 6)))] + ["_run_id", "_loaded_at"][
        : rng.integers(0, 3)
    ]
    return pd.DataFrame(
        {name: _random_column(rng, n) for name in rng.permutation(np.array(names, dtype=object))}
    )


def test_hash_matches_the_per_value_definition_on_random_frames() -> None:
    """Property: on random frames of every supported dtype, the fast path gives the reference digest."""
    rng = np.random.default_rng(20260101)
    for attempt in range(1000):
        frame = _random_frame(rng)
        expected = _outcome(_reference_hash, frame)
        assert _outcome(frame_content_hash, frame) == expected, (attempt, frame.dtypes.to_dict(), frame)


def test_hash_matches_the_definition_per_dtype_on_larger_columns() -> None:
    """Property: each column kind alone, long enough for the mostly-distinct and the repeating paths."""
    rng = np.random.default_rng(7)
    for kind in _COLUMN_KINDS:
        # 33_000 rows: past the sample size, so the factorize decision sees a strided sample.
        sizes = (0, 3000) if kind in _PER_VALUE_KINDS else (0, 3000, 33_000)
        for n in sizes:
            column = _column_of_kind(rng, kind, n)
            frame = pd.DataFrame({"value": column, "_audit": 1})
            assert frame_content_hash(frame) == _reference_hash(frame), (kind, n)


_PER_VALUE_KINDS = {"object-mixed", "timedelta", "datetime-far"}  # slow in both paths


def _column_of_kind(rng: np.random.Generator, kind: str, n: int) -> pd.Series:
    while True:  # _random_column draws its kind: draw until it is the one wanted
        state = rng.bit_generator.state
        if str(rng.choice(_COLUMN_KINDS)) == kind:
            rng.bit_generator.state = state
            return _random_column(rng, n)


def test_hash_matches_the_definition_on_edge_frames() -> None:
    """Property: empty frames, zero rows of typed columns, duplicate names and odd values hash as defined."""
    frames = [
        pd.DataFrame(),
        pd.DataFrame(index=range(3)),
        pd.DataFrame({"_only_audit": [1, 2]}),
        pd.DataFrame(
            {
                "i": pd.Series([], dtype="int64"),
                "f": pd.Series([], dtype="float64"),
                "s": pd.Series([], dtype=object),
                "t": pd.Series([], dtype="datetime64[ns, UTC]"),
                "n": pd.Series([], dtype="Int64"),
            }
        ),
        pd.DataFrame([[1, 2]], columns=["a", "a"]),  # duplicate names: frame["a"] is a frame
        pd.DataFrame({0: [1]}),  # a non-str label cannot be looked up by its str: an error
        pd.DataFrame({"s": ["lone \ud800 surrogate"]}),  # cannot be UTF-8 encoded: an error
        pd.DataFrame({"c": [1 + 2j]}),  # no token for complex: an error
        pd.DataFrame({"f": np.array([1.5, 2.5], dtype=np.longdouble)}),
        pd.DataFrame(
            {
                "t": pd.to_datetime(
                    pd.Series(["1677-09-21 00:12:43.145224193", "2262-04-11 23:47:16.854775807"])
                )
            }
        ),
        pd.DataFrame(
            {
                "t": pd.to_datetime(
                    pd.Series(["1969-12-31 23:59:59.999999999", "1970-01-01", None]), format="ISO8601"
                )
            }
        ),
        pd.DataFrame({"s": ["x"] * 50 + ["y"] * 50, "f": [0.5] * 100}),
        # Equal under ==, distinct tokens: an object column must not be factorized on these.
        pd.DataFrame({"o": [1, 1.0, True, 2**63, 2.0**63, None] * 20}),
        pd.DataFrame({"o": [np.int64(1), 1.0, np.True_, 1] * 20}),
        pd.DataFrame({"o": ["a", np.nan, None, pd.NA, 1.5, "b"] * 20}),
    ]
    for frame in frames:
        assert _outcome(frame_content_hash, frame) == _outcome(_reference_hash, frame), frame


def test_hash_is_independent_of_row_and_column_order_on_random_frames() -> None:
    """Property: shuffling rows and columns of random frames never changes the digest."""
    rng = np.random.default_rng(99)
    for _ in range(100):
        frame = _random_frame(rng)
        if "raises" in _outcome(frame_content_hash, frame):
            continue
        shuffled = frame.iloc[rng.permutation(len(frame)), rng.permutation(frame.shape[1])]
        assert frame_content_hash(shuffled.reset_index(drop=True)) == frame_content_hash(frame)


def test_hash_of_every_dtype_is_pinned() -> None:
    """Invariant: a frame of every common dtype keeps the digest published before the vectorized path
    (computed by the per-value implementation of commit 6d26504)."""
    frame = pd.DataFrame(
        {
            "event_id": ["e-1", 'quote " and \\ and \n', "é中😀", None],
            "user_id": np.array([1, -2, 2**62, 0], dtype="int64"),
            "small": np.array([1, 2, 3, 4], dtype="int8"),
            "amount": [0.1 + 0.2, 1e16, 1e-7, np.nan],
            "ratio": [-0.0, 2.0**63, 12.5, 3.0],
            "flag": [True, False, True, False],
            "nullable": pd.array([1, None, 3, None], dtype="Int64"),
            "event_ts": pd.to_datetime(
                pd.Series(
                    ["2026-01-01 10:00:00", "2026-01-01 10:00:00.5", "2026-01-01 10:00:00.000000001", None]
                ),
                utc=True,
                format="ISO8601",
            ).dt.tz_convert("Europe/Berlin"),
            "event_date": pd.to_datetime(pd.Series(["2026-01-01", "2026-01-02", "2026-01-02", None])),
            "day": [dt.date(2026, 1, 1), None, dt.date(2026, 1, 3), dt.date(2026, 1, 4)],
            "_loaded_at": pd.Timestamp("2026-05-01", tz="UTC"),
        }
    )
    assert frame_content_hash(frame) == _PINNED_EVERY_DTYPE


_PINNED_EVERY_DTYPE = "c95cdfd45b3b994226cb0a57b8f19496411a7052af8a87dd5a188b418cdc9b39"
