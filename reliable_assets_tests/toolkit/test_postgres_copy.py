"""The COPY encodings of the PostgreSQL warehouse: binary and CSV store the same values, the
reader streams slices in order from its encoder thread, and a value that does not fit its column
is refused by name with nothing written. (``pg_database_url`` comes from toolkit/conftest.py.)"""

import datetime as dt
import threading

import numpy as np
import pandas as pd
import pytest

from reliable_assets.toolkit.content_hash import frame_content_hash
from reliable_assets.toolkit.postgres_copy import (
    BinaryEncoding,
    CsvEncoding,
    FrameCopyReader,
    encoding_for,
)
from reliable_assets.toolkit.postgres_warehouse import PostgresWarehouse
from reliable_assets.toolkit.warehouse import WarehouseWriteError


def every_type_frame() -> pd.DataFrame:
    """One column per type the warehouse writes, with a null in each and awkward text."""
    count = pd.array([1, None, -(2**62)], dtype="Int64")
    return pd.DataFrame(
        {
            "id": np.array([1, 2, 3], dtype="int64"),
            "count": count,
            "ratio": [0.5, np.nan, float("inf")],
            "flag": pd.array([True, None, False], dtype="boolean"),
            "label": ['quote " comma , newline \n', None, ""],
            "unicode": ["Grüße", "東京", None],
            "segment": pd.Categorical(["a", None, "b"]),
            "day": [dt.date(2026, 1, 1), None, dt.date(1999, 12, 31)],
            "naive_at": pd.Series(["2026-01-01 10:00:00.123456", None, "1970-01-01 00:00:00.000001"]).pipe(
                pd.to_datetime
            ),
            "aware_at": pd.to_datetime(
                pd.Series(["2026-01-01 10:00:00+02:00", None, "2000-01-01 00:00:00+00:00"]), utc=True
            ),
        }
    )


def test_binary_and_csv_copies_store_identical_values(pg_database_url: str) -> None:
    """Invariant: the binary COPY stores exactly what the CSV COPY stores, nulls, empty strings,
    infinities, pre-2000 dates and time zones included, and both read back as the frame written."""
    frame = every_type_frame()
    binary = PostgresWarehouse(url=pg_database_url, binary_copy=True)
    csv = PostgresWarehouse(url=pg_database_url, binary_copy=False)
    binary.replace_partition("s", "binary", frame, None)
    csv.replace_partition("s", "csv", frame, None)

    via_binary = binary.read_table("s", "binary").sort_values("id", ignore_index=True)
    via_csv = csv.read_table("s", "csv").sort_values("id", ignore_index=True)
    pd.testing.assert_frame_equal(via_binary, via_csv)
    assert frame_content_hash(via_binary) == frame_content_hash(frame)
    assert via_binary.loc[0, "label"] == 'quote " comma , newline \n'
    assert via_binary.loc[2, "label"] == ""
    assert pd.isna(via_binary.loc[1, "label"])


def test_narrower_existing_columns_receive_binary_copies(pg_database_url: str) -> None:
    """Invariant: int64 and float64 frame columns go into existing integer, smallint, real and
    varchar columns (binary COPY has no implicit casts, so the encoder casts first)."""
    warehouse = PostgresWarehouse(url=pg_database_url)
    warehouse.execute("CREATE SCHEMA s")
    warehouse.execute("CREATE TABLE s.narrow (i integer, small smallint, r real, name varchar(20))")
    frame = pd.DataFrame({"i": [7, -7], "small": [3, 4], "r": [0.25, 1.5], "name": ["x", "y"]})
    warehouse.replace_partition("s", "narrow", frame, None)
    stored = warehouse.query("SELECT i, small, r, name FROM s.narrow ORDER BY i")
    assert stored.to_dict("list") == {"i": [-7, 7], "small": [4, 3], "r": [1.5, 0.25], "name": ["y", "x"]}


def test_value_too_large_for_its_column_is_refused_by_name(pg_database_url: str) -> None:
    """Failure mode: 2**40 into an ``integer`` column fails naming table and column; the partition
    keeps its old rows."""
    warehouse = PostgresWarehouse(url=pg_database_url)
    warehouse.execute("CREATE SCHEMA s")
    warehouse.execute("CREATE TABLE s.t (id integer, v text)")
    warehouse.replace_partition("s", "t", pd.DataFrame({"id": [1], "v": ["old"]}), None)
    with pytest.raises(WarehouseWriteError, match=r"s\.t.*'id'.*not in range"):
        warehouse.replace_partition("s", "t", pd.DataFrame({"id": [2, 2**40], "v": ["a", "b"]}), None)
    assert warehouse.read_table("s", "t").to_dict("list") == {"id": [1], "v": ["old"]}


def test_empty_frame_in_binary_writes_no_rows(pg_database_url: str) -> None:
    """Edge: an empty frame is a valid binary COPY (header and trailer only) that clears the table."""
    warehouse = PostgresWarehouse(url=pg_database_url)
    warehouse.replace_partition("s", "t", pd.DataFrame({"id": [1, 2]}), None)
    warehouse.replace_partition("s", "t", pd.DataFrame({"id": pd.Series([], dtype="int64")}), None)
    assert warehouse.read_table("s", "t").empty


def test_binary_only_when_every_column_type_has_an_encoding() -> None:
    """Invariant: one column without a binary encoding (numeric, interval, bytea, timestamp(3))
    sends the whole COPY as CSV; binary_copy=False always does."""
    simple = {"a": "bigint", "b": "text", "c": "timestamp with time zone"}
    assert isinstance(encoding_for(simple, {}), BinaryEncoding)
    assert isinstance(encoding_for(simple, {}, binary=False), CsvEncoding)
    for odd in ("numeric(12,2)", "interval", "bytea", "timestamp(3) without time zone"):
        assert isinstance(encoding_for({**simple, "d": odd}, {}), CsvEncoding), odd


def test_reader_hands_slices_in_order_and_reports_progress() -> None:
    """Invariant: the encoder thread's slices arrive in frame order; progress sees every slice
    before it is handed over and the end once."""
    frame = pd.DataFrame({"n": np.arange(10, dtype="int64")})
    seen: list[tuple[int, int]] = []
    with FrameCopyReader(
        frame, CsvEncoding(["n"], {}), slice_rows=3, on_progress=lambda *p: seen.append(p)
    ) as reader:
        text = b"".join(iter(reader.read, b"")).decode()
    assert text.split() == [str(n) for n in range(10)]
    assert seen == [(0, 4), (1, 4), (2, 4), (3, 4), (4, 4)]
    assert reader.read() == b""


def test_reader_raises_the_encoders_error_and_stops_early() -> None:
    """Failure mode: an encoding error reaches the reading thread; closing the reader after a
    partial read stops the encoder thread instead of leaving it blocked."""
    bad = pd.DataFrame({"n": pd.Series([1, "x"], dtype="object")})
    with FrameCopyReader(bad, BinaryEncoding({"n": "bigint"}, {}), slice_rows=1) as reader:
        assert reader.read()  # the first slice (header and the value 1) encodes fine
        with pytest.raises(TypeError, match="'n'"):
            reader.read()
    assert isinstance(reader.error, TypeError)

    big = pd.DataFrame({"n": np.arange(100_000, dtype="int64")})
    before = threading.active_count()
    with FrameCopyReader(big, CsvEncoding(["n"], {}), slice_rows=100) as reader:
        assert reader.read()
    assert threading.active_count() == before
