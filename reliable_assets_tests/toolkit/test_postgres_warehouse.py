"""PostgresWarehouse on a real PostgreSQL: the Warehouse contract the DuckDB tests pin, on COPY."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from reliable_assets.toolkit.content_hash import frame_content_hash
from reliable_assets.toolkit.partition_filter import PartitionFilter
from reliable_assets.toolkit.postgres_warehouse import PostgresWarehouse
from reliable_assets.toolkit.sql import InvalidIdentifierError
from reliable_assets.toolkit.warehouse import TableNotFoundError, WarehouseWriteError
from reliable_assets_tests.pg_server import pg_database_url, pg_url  # noqa: F401

DAY1, DAY2 = dt.datetime(2026, 1, 1), dt.datetime(2026, 1, 2)


def _day(day: dt.datetime) -> PartitionFilter:
    return PartitionFilter.time_range("day", day, day + dt.timedelta(days=1))


def _frame(day: dt.datetime, ids: list[int], value: int = 0) -> pd.DataFrame:
    return pd.DataFrame({"day": [day.date()] * len(ids), "id": ids, "value": [value] * len(ids)})


@pytest.fixture
def empty(pg_database_url: str) -> PostgresWarehouse:  # noqa: F811
    return PostgresWarehouse(url=pg_database_url.replace("postgresql://", "postgresql+psycopg2://"))


@pytest.fixture
def warehouse(empty: PostgresWarehouse) -> PostgresWarehouse:
    empty.replace_partition("s", "t", _frame(DAY1, [1, 2, 3]), _day(DAY1))
    empty.replace_partition("s", "t", _frame(DAY2, [4, 5]), _day(DAY2))
    return empty


def _rows(warehouse: PostgresWarehouse, day: dt.datetime) -> pd.DataFrame:
    return warehouse.read_table("s", "t", partition=_day(day)).sort_values("id").reset_index(drop=True)


def test_replace_partition_swaps_only_its_slice(warehouse: PostgresWarehouse) -> None:
    """Invariant: a partition overwrite replaces that partition's rows and no other's; re-running it
    leaves the table exactly as once."""
    before_day2 = _rows(warehouse, DAY2)
    result = warehouse.replace_partition("s", "t", _frame(DAY1, [7, 8], value=9), _day(DAY1))
    assert (result.rows_deleted, result.rows_inserted) == (3, 2)
    content = warehouse.table_content_hash("s", "t")
    warehouse.replace_partition("s", "t", _frame(DAY1, [7, 8], value=9), _day(DAY1))
    assert warehouse.table_content_hash("s", "t") == content
    assert _rows(warehouse, DAY1)["id"].tolist() == [7, 8]
    pd.testing.assert_frame_equal(_rows(warehouse, DAY2), before_day2)
    assert warehouse.list_tables() == [("s", "t")]
    assert warehouse.table_columns("s", "t") == {"day": "date", "id": "bigint", "value": "bigint"}


def test_every_supported_type_reads_back_with_the_same_content_hash(empty: PostgresWarehouse) -> None:
    """Invariant: a mixed-type frame (nulls, quotes, commas, newlines, empty strings, nullable ints,
    infinities, dates, naive and aware timestamps, categoricals, all-null columns) written and
    read back hashes exactly like the frame written; the empty string stays distinct from NULL."""
    frame = pd.DataFrame(
        {
            "day": [DAY1.date()] * 5,
            "text": ['quote " here', "", None, "comma, and\nnewline", "\\N"],
            "count": pd.array([1, None, 3, 2**62, -5], dtype="Int64"),
            "ratio": [1.5, np.nan, 0.1 + 0.2, float("inf"), -1e-300],
            "flag": [True, False, None, True, False],
            "at": pd.Series([dt.datetime(2026, 1, 1, 1, 2, 3, 123456), pd.NaT, DAY1, DAY1, DAY1]),
            "at_utc": pd.Timestamp("2026-01-01 12:00", tz="Europe/Berlin"),
            "segment": pd.Categorical(["a", "b", "a", None, "b"]),
            "nothing": [None] * 5,
        }
    )
    empty.replace_partition("s", "mixed", frame, _day(DAY1))
    back = empty.read_table("s", "mixed")
    assert frame_content_hash(back) == frame_content_hash(frame)
    assert back["text"].tolist().count("") == 1
    assert back["text"].isna().sum() == 1
    assert empty.table_columns("s", "mixed")["at_utc"] == "timestamp with time zone"


def test_incompatible_column_type_fails_naming_the_column_and_keeps_old_rows(
    warehouse: PostgresWarehouse,
) -> None:
    """Invariant: text into a bigint column, or a fractional float into it, fails before anything
    changes, naming table and column; whole floats (a nullable int column) do fit."""
    before = warehouse.table_content_hash("s", "t")
    bad = _frame(DAY1, [1]).assign(value=["not a number"])
    with pytest.raises(WarehouseWriteError, match=r"'value' of s\.t is bigint"):
        warehouse.replace_partition("s", "t", bad, _day(DAY1))
    with pytest.raises(WarehouseWriteError, match=r"'value' of s\.t.*1\.5"):
        warehouse.replace_partition("s", "t", _frame(DAY1, [1]).assign(value=[1.5]), _day(DAY1))
    with pytest.raises(WarehouseWriteError, match=r"'day' of s\.t.*midnight"):
        warehouse.replace_partition(
            "s", "t", _frame(DAY1, [1]).assign(day=[pd.Timestamp("2026-01-01 05:00")]), _day(DAY1)
        )
    assert warehouse.table_content_hash("s", "t") == before
    warehouse.replace_partition(
        "s", "t", _frame(DAY1, [1, 2]).assign(value=pd.Series([2.0, None])), _day(DAY1)
    )
    assert _rows(warehouse, DAY1)["value"].tolist()[0] == 2


def test_dropped_not_null_column_fails_naming_it_and_writes_nothing(warehouse: PostgresWarehouse) -> None:
    """Invariant: a frame lacking a NOT NULL column of the table is refused before the delete, with
    a message naming table and column; the table and a column added in the same write are untouched."""
    warehouse.execute('ALTER TABLE s.t ALTER COLUMN "value" SET NOT NULL')
    before = warehouse.table_content_hash("s", "t")
    dropped = _frame(DAY1, [9]).drop(columns=["value"]).assign(extra=["x"])
    with pytest.raises(WarehouseWriteError, match=r"'value' of s\.t is NOT NULL"):
        warehouse.replace_partition("s", "t", dropped, _day(DAY1))
    assert warehouse.table_content_hash("s", "t") == before
    assert "extra" not in warehouse.table_columns("s", "t")


def test_new_frame_column_is_added_and_columns_land_by_name(warehouse: PostgresWarehouse) -> None:
    """Invariant: schema evolution adds a new nullable column (old rows read null); reordered frame
    columns insert each value into its own column."""
    reordered = pd.DataFrame({"note": ["hello"], "value": [42], "id": [9], "day": [DAY1.date()]})
    warehouse.replace_partition("s", "t", reordered, _day(DAY1))
    assert warehouse.table_columns("s", "t")["note"] == "text"
    row = _rows(warehouse, DAY1).iloc[0]
    assert (row["id"], row["value"], row["day"], row["note"]) == (9, 42, DAY1.date(), "hello")
    assert _rows(warehouse, DAY2)["note"].isna().all()


def test_all_null_column_takes_the_type_of_its_first_real_values(empty: PostgresWarehouse) -> None:
    """Invariant: a column first written with nulls only is a placeholder: later real values decide
    its type instead of being refused."""
    empty.replace_partition("s", "n", pd.DataFrame({"k": [1], "later": [None]}), None)
    empty.replace_partition("s", "n", pd.DataFrame({"k": [2], "later": [2.5]}), None)
    assert empty.table_columns("s", "n")["later"] == "double precision"
    assert empty.read_table("s", "n")["later"].tolist() == [2.5]


def test_partition_values_are_bound_not_executed(warehouse: PostgresWarehouse) -> None:
    """Invariant: partition values with quotes/semicolons are parameters: they match literally and
    never run as SQL."""
    hostile = "x'); DROP TABLE s.t; --"
    frame = pd.DataFrame({"segment": pd.Series([hostile, "plain"]), "v": [1, 2]})
    warehouse.replace_partition("s", "seg", frame, None)
    warehouse.replace_partition(
        "s", "seg", frame.iloc[:1].assign(v=5), PartitionFilter.value_set("segment", [hostile])
    )
    stored = warehouse.read_table("s", "seg").sort_values("v")
    assert stored["segment"].tolist() == ["plain", hostile]
    assert stored["v"].tolist() == [2, 5]
    assert warehouse.table_exists("s", "t")
    found = warehouse.query("SELECT count(*) AS n FROM s.seg WHERE segment = %s", [hostile])
    assert found["n"].tolist() == [1]
    assert (
        len(warehouse.read_table("s", "seg", partition=PartitionFilter.value_set("segment", [hostile]))) == 1
    )


def test_hostile_identifiers_never_reach_sql(warehouse: PostgresWarehouse) -> None:
    """Invariant: table, schema and column names are validated before any SQL is built."""
    with pytest.raises(InvalidIdentifierError):
        warehouse.replace_partition("s", 'x"; drop table y; --', _frame(DAY1, [1]), None)
    with pytest.raises(InvalidIdentifierError):
        warehouse.replace_partition('s"; drop schema s cascade; --', "t", _frame(DAY1, [1]), None)
    with pytest.raises(InvalidIdentifierError):
        warehouse.replace_partition("s", "t", pd.DataFrame({'a"; drop table s.t; --': [1]}), None)
    with pytest.raises(InvalidIdentifierError):
        warehouse.upsert("s", "t", _frame(DAY1, [1]), ["id"], version_column="v; drop table s.t")
    assert warehouse.table_exists("s", "t")
    assert len(warehouse.read_table("s", "t")) == 5


def test_upsert_with_version_column(empty: PostgresWarehouse) -> None:
    """Invariant: upsert replaces rows by key in one ON CONFLICT statement; an older version never
    overwrites a newer one; equal versions rewrite (idempotent); duplicate or null keys in one frame
    are refused with nothing written."""
    first = pd.DataFrame({"k": [1, 2], "version": [5, 5], "v": ["a", "b"]})
    empty.upsert("s", "u", first, ["k"], "version")
    stale = pd.DataFrame({"k": [1, 3], "version": [4, 1], "v": ["old", "new"]})
    result = empty.upsert("s", "u", stale, ["k"], "version")
    assert (result.rows_skipped_stale, result.rows_deleted, result.rows_inserted) == (1, 0, 1)
    content = empty.table_content_hash("s", "u")
    again = empty.upsert("s", "u", first, ["k"], "version")
    assert (again.rows_deleted, again.rows_inserted) == (2, 2)
    assert empty.table_content_hash("s", "u") == content
    assert empty.read_table("s", "u").sort_values("k")["v"].tolist() == ["a", "b", "new"]
    empty.upsert("s", "u", pd.DataFrame({"k": [2], "version": [6], "v": ["b2"]}), ["k"], "version")
    assert empty.read_table("s", "u").sort_values("k")["v"].tolist() == ["a", "b2", "new"]
    with pytest.raises(WarehouseWriteError, match="duplicate keys"):
        empty.upsert("s", "u", pd.DataFrame({"k": [1, 1], "version": [9, 9], "v": ["x", "y"]}), ["k"])
    with pytest.raises(WarehouseWriteError, match="null key"):
        empty.upsert("s", "u", pd.DataFrame({"k": [None], "version": [9], "v": ["x"]}), ["k"])
    assert empty.read_table("s", "u").sort_values("k")["v"].tolist() == ["a", "b2", "new"]


def test_upsert_adds_a_unique_index_to_a_table_written_by_overwrite(warehouse: PostgresWarehouse) -> None:
    """Invariant: upserting into a table created by partition overwrite creates the unique index ON
    CONFLICT needs; columns the frame lacks read null on replaced rows (the row is replaced)."""
    result = warehouse.upsert("s", "t", pd.DataFrame({"id": [1, 99], "day": [DAY1.date()] * 2}), ["id"])
    assert (result.rows_deleted, result.rows_inserted) == (1, 2)
    rows = warehouse.read_table("s", "t").set_index("id")["value"]
    assert rows.isna().to_dict() == {1: True, 2: False, 3: False, 4: False, 5: False, 99: True}
    assert len(rows) == 6


def test_read_table_hides_audit_columns_and_reports_missing_tables(warehouse: PostgresWarehouse) -> None:
    """Invariant: reads return content columns unless audit columns are asked for; a missing table
    is a TableNotFoundError, not an empty frame."""
    warehouse.replace_partition("s", "t", _frame(DAY1, [1]).assign(_run_id="r1"), _day(DAY1))
    assert "_run_id" not in warehouse.read_table("s", "t").columns
    assert "_run_id" in warehouse.read_table("s", "t", include_audit=True).columns
    with pytest.raises(TableNotFoundError, match=r"s\.missing"):
        warehouse.read_table("s", "missing")
    assert not warehouse.table_exists("s", "missing")


def test_execute_runs_in_its_own_transaction(warehouse: PostgresWarehouse) -> None:
    """Invariant: execute commits a statement; a failing one changes nothing."""
    warehouse.execute('UPDATE s.t SET "value" = %s WHERE id = %s', [11, 4])
    assert _rows(warehouse, DAY2)["value"].tolist() == [11, 0]
    with pytest.raises(Exception, match=r"(?i)invalid input syntax"):
        warehouse.execute('UPDATE s.t SET "value" = CAST(%s AS BIGINT) WHERE id = 5', ["nope"])
    assert _rows(warehouse, DAY2)["value"].tolist() == [11, 0]


def test_url_scheme_is_checked_without_echoing_the_password() -> None:
    """Invariant: a URL with a foreign scheme is refused naming the scheme only, never the secret."""
    warehouse = PostgresWarehouse(url="mysql://user:s3cret@host/db")
    with pytest.raises(ValueError, match="mysql") as raised:
        warehouse.list_tables()
    assert "s3cret" not in str(raised.value)
