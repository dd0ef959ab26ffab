"""The Warehouse contract, pinned once and run on every engine (DuckDB file, real PostgreSQL).

Engine-specific behaviour (DuckDB's file, PostgreSQL's COPY, indexes and URL) is tested in
test_duckdb_warehouse.py and test_postgres_warehouse.py.
"""

import datetime as dt

import duckdb
import numpy as np
import pandas as pd
import pytest

from reliable_assets.toolkit.content_hash import frame_content_hash
from reliable_assets.toolkit.partition_filter import PartitionFilter
from reliable_assets.toolkit.sql import InvalidIdentifierError
from reliable_assets.toolkit.warehouse import (
    ColumnNotFoundError,
    TableNotFoundError,
    Warehouse,
    WarehouseWriteError,
)
from reliable_assets_tests.toolkit.warehouse_engines import WarehouseEngine

DAY1, DAY2 = dt.datetime(2026, 1, 1), dt.datetime(2026, 1, 2)


def _day(day: dt.datetime) -> PartitionFilter:
    return PartitionFilter.time_range("day", day, day + dt.timedelta(days=1))


def _frame(day: dt.datetime, ids: list[int], value: int = 0) -> pd.DataFrame:
    return pd.DataFrame({"day": [day.date()] * len(ids), "id": ids, "value": [value] * len(ids)})


@pytest.fixture
def filled(engine: WarehouseEngine) -> WarehouseEngine:
    """``engine`` with table s.t: ids 1-3 on DAY1, ids 4-5 on DAY2, value 0."""
    engine.warehouse.replace_partition("s", "t", _frame(DAY1, [1, 2, 3]), _day(DAY1))
    engine.warehouse.replace_partition("s", "t", _frame(DAY2, [4, 5]), _day(DAY2))
    return engine


def _rows(warehouse: Warehouse, day: dt.datetime) -> pd.DataFrame:
    return warehouse.read_table("s", "t", partition=_day(day)).sort_values("id").reset_index(drop=True)


def test_replace_partition_swaps_only_its_slice(filled: WarehouseEngine) -> None:
    """Invariant: a partition overwrite replaces that partition's rows and no other's; re-running it
    leaves the table exactly as once."""
    warehouse = filled.warehouse
    before_day2 = _rows(warehouse, DAY2)
    result = warehouse.replace_partition("s", "t", _frame(DAY1, [7, 8], value=9), _day(DAY1))
    assert (result.rows_deleted, result.rows_inserted) == (3, 2)
    content = warehouse.table_content_hash("s", "t")
    warehouse.replace_partition("s", "t", _frame(DAY1, [7, 8], value=9), _day(DAY1))
    assert warehouse.table_content_hash("s", "t") == content
    assert _rows(warehouse, DAY1)["id"].tolist() == [7, 8]
    pd.testing.assert_frame_equal(_rows(warehouse, DAY2), before_day2)
    assert warehouse.list_tables() == [("s", "t")]
    assert warehouse.table_columns("s", "t") == {
        "day": filled.type_name("date"),
        "id": filled.type_name("bigint"),
        "value": filled.type_name("bigint"),
    }


def test_every_supported_type_reads_back_with_the_same_content_hash(engine: WarehouseEngine) -> None:
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
    warehouse = engine.warehouse
    warehouse.replace_partition("s", "mixed", frame, _day(DAY1))
    back = warehouse.read_table("s", "mixed")
    assert frame_content_hash(back) == frame_content_hash(frame)
    assert back["text"].tolist().count("") == 1
    assert back["text"].isna().sum() == 1
    assert warehouse.table_columns("s", "mixed")["at_utc"] == engine.type_name("timestamptz")


def test_incompatible_column_type_fails_naming_the_column_and_keeps_old_rows(
    filled: WarehouseEngine,
) -> None:
    """Invariant: text into a bigint column, or a fractional float into it, or a timestamp that is
    not midnight into a date column, fails before anything changes, naming table and column;
    whole floats (a nullable int column as pandas holds it) do fit."""
    warehouse = filled.warehouse
    before = warehouse.table_content_hash("s", "t")
    bad = _frame(DAY1, [1]).assign(value=["not a number"])
    with pytest.raises(WarehouseWriteError, match=rf"'value' of s\.t is {filled.type_name('bigint')}"):
        warehouse.replace_partition("s", "t", bad, _day(DAY1))
    with pytest.raises(WarehouseWriteError, match=r"'value' of s\.t.*1\.5"):
        warehouse.replace_partition("s", "t", _frame(DAY1, [1]).assign(value=[1.5]), _day(DAY1))
    not_a_date = {
        "duckdb": r"'day' of s\.t is DATE.*would not survive",
        "postgres": r"'day' of s\.t.*midnight",
    }
    with pytest.raises(WarehouseWriteError, match=not_a_date[filled.name]):
        warehouse.replace_partition(
            "s", "t", _frame(DAY1, [1]).assign(day=[pd.Timestamp("2026-01-01 05:00")]), _day(DAY1)
        )
    assert warehouse.table_content_hash("s", "t") == before
    warehouse.replace_partition(
        "s", "t", _frame(DAY1, [1, 2]).assign(value=pd.Series([2.0, None])), _day(DAY1)
    )
    assert _rows(warehouse, DAY1)["value"].tolist()[0] == 2


def test_dropped_not_null_column_fails_naming_it_and_writes_nothing(filled: WarehouseEngine) -> None:
    """Invariant: a frame lacking a NOT NULL column of the table is refused, naming the column; the
    table and a column added in the same write are untouched."""
    warehouse = filled.warehouse
    warehouse.execute('ALTER TABLE s.t ALTER COLUMN "value" SET NOT NULL')
    before = warehouse.table_content_hash("s", "t")
    dropped = _frame(DAY1, [9]).drop(columns=["value"]).assign(extra=["x"])
    # PostgresWarehouse refuses before the delete, naming table and column; DuckDBWarehouse has no
    # such check: DuckDB's own constraint refuses the insert inside the transaction, which rolls back.
    refusal: dict[str, tuple[type[Exception], str]] = {
        "duckdb": (duckdb.ConstraintException, r'NOT NULL constraint failed: t\."value"'),
        "postgres": (WarehouseWriteError, r"'value' of s\.t is NOT NULL"),
    }
    error, message = refusal[filled.name]
    with pytest.raises(error, match=message):
        warehouse.replace_partition("s", "t", dropped, _day(DAY1))
    assert warehouse.table_content_hash("s", "t") == before
    assert "extra" not in warehouse.table_columns("s", "t")


def test_columns_land_by_name_not_position(filled: WarehouseEngine) -> None:
    """Invariant: a frame whose columns come in another order inserts each value into its own column."""
    warehouse = filled.warehouse
    reordered = pd.DataFrame({"value": [42], "id": [9], "day": [DAY1.date()]})
    warehouse.replace_partition("s", "t", reordered, _day(DAY1))
    row = _rows(warehouse, DAY1).iloc[0]
    assert (row["id"], row["value"], row["day"]) == (9, 42, DAY1.date())


def test_new_frame_column_is_added_to_the_table(filled: WarehouseEngine) -> None:
    """Invariant: schema evolution adds a new nullable column (old rows read it as null), also from
    a frame whose columns come in another order."""
    warehouse = filled.warehouse
    reordered = pd.DataFrame({"note": ["hello"], "value": [42], "id": [9], "day": [DAY1.date()]})
    warehouse.replace_partition("s", "t", reordered, _day(DAY1))
    assert warehouse.table_columns("s", "t")["note"] == filled.type_name("text")
    day1 = _rows(warehouse, DAY1)
    assert day1["note"].tolist() == ["hello"]
    row = day1.iloc[0]
    assert (row["id"], row["value"], row["day"], row["note"]) == (9, 42, DAY1.date(), "hello")
    assert _rows(warehouse, DAY2)["note"].isna().all()


def test_all_null_column_takes_the_type_of_its_first_real_values(engine: WarehouseEngine) -> None:
    """Invariant: a column first written with nulls only is a placeholder: later real values decide
    its type instead of being refused."""
    warehouse = engine.warehouse
    warehouse.replace_partition("s", "n", pd.DataFrame({"k": [1], "later": [None]}), None)
    warehouse.replace_partition("s", "n", pd.DataFrame({"k": [2], "later": [2.5]}), None)
    assert warehouse.table_columns("s", "n")["later"] == engine.type_name("double")
    assert warehouse.read_table("s", "n")["later"].tolist() == [2.5]


def test_partition_values_are_bound_not_executed(filled: WarehouseEngine) -> None:
    """Invariant: partition values with quotes/semicolons are parameters: they match literally and
    never run as SQL."""
    warehouse = filled.warehouse
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
    found = warehouse.query(filled.sql("SELECT count(*) AS n FROM s.seg WHERE segment = ?"), [hostile])
    assert found["n"].tolist() == [1]
    hostile_slice = PartitionFilter.value_set("segment", [hostile])
    assert len(warehouse.read_table("s", "seg", partition=hostile_slice)) == 1


def test_hostile_identifiers_never_reach_sql(filled: WarehouseEngine) -> None:
    """Invariant: table, schema and column names are validated before any SQL is built."""
    warehouse = filled.warehouse
    with pytest.raises(InvalidIdentifierError):
        warehouse.replace_partition("s", 'x"; drop table y; --', _frame(DAY1, [1]), None)
    with pytest.raises(InvalidIdentifierError):
        warehouse.replace_partition('s"; drop schema s cascade; --', "t", _frame(DAY1, [1]), None)
    with pytest.raises(InvalidIdentifierError):
        warehouse.replace_partition("s", "t", pd.DataFrame({'a"; drop table s.t; --': [1]}), None)
    with pytest.raises(InvalidIdentifierError):
        warehouse.upsert("s", "t", _frame(DAY1, [1]), ["id"], version_column="v; drop table s.t")
    with pytest.raises(InvalidIdentifierError):
        PartitionFilter.value_set("a b", ["x"])
    assert warehouse.table_exists("s", "t")
    assert len(warehouse.read_table("s", "t")) == 5


def test_upsert_with_version_column(engine: WarehouseEngine) -> None:
    """Invariant: upsert replaces rows by key; an older version never overwrites a newer one; equal
    versions rewrite (idempotent); duplicate or null keys in one frame are refused with nothing
    written."""
    warehouse = engine.warehouse
    first = pd.DataFrame({"k": [1, 2], "version": [5, 5], "v": ["a", "b"]})
    warehouse.upsert("s", "u", first, ["k"], "version")
    stale = pd.DataFrame({"k": [1, 3], "version": [4, 1], "v": ["old", "new"]})
    result = warehouse.upsert("s", "u", stale, ["k"], "version")
    assert (result.rows_skipped_stale, result.rows_deleted, result.rows_inserted) == (1, 0, 1)
    content = warehouse.table_content_hash("s", "u")
    again = warehouse.upsert("s", "u", first, ["k"], "version")
    assert (again.rows_deleted, again.rows_inserted) == (2, 2)
    assert warehouse.table_content_hash("s", "u") == content
    assert warehouse.read_table("s", "u").sort_values("k")["v"].tolist() == ["a", "b", "new"]
    warehouse.upsert("s", "u", pd.DataFrame({"k": [2], "version": [6], "v": ["b2"]}), ["k"], "version")
    assert warehouse.read_table("s", "u").sort_values("k")["v"].tolist() == ["a", "b2", "new"]
    with pytest.raises(WarehouseWriteError, match="duplicate keys"):
        warehouse.upsert("s", "u", pd.DataFrame({"k": [1, 1], "version": [9, 9], "v": ["x", "y"]}), ["k"])
    with pytest.raises(WarehouseWriteError, match="null key"):
        warehouse.upsert("s", "u", pd.DataFrame({"k": [None], "version": [9], "v": ["x"]}), ["k"])
    assert warehouse.read_table("s", "u").sort_values("k")["v"].tolist() == ["a", "b2", "new"]


def test_upsert_into_a_table_written_by_overwrite_replaces_whole_rows(filled: WarehouseEngine) -> None:
    """Invariant: upserting into a table created by partition overwrite works (PostgreSQL first
    creates the unique index ON CONFLICT needs); columns the frame lacks read null on replaced
    rows (the row is replaced, not merged)."""
    warehouse = filled.warehouse
    result = warehouse.upsert("s", "t", pd.DataFrame({"id": [1, 99], "day": [DAY1.date()] * 2}), ["id"])
    assert (result.rows_deleted, result.rows_inserted) == (1, 2)
    rows = warehouse.read_table("s", "t").set_index("id")["value"]
    assert rows.isna().to_dict() == {1: True, 2: False, 3: False, 4: False, 5: False, 99: True}
    assert len(rows) == 6


def test_read_table_hides_audit_columns_and_reports_missing_tables(filled: WarehouseEngine) -> None:
    """Invariant: reads return content columns unless audit columns are asked for; a missing table
    is a TableNotFoundError, not an empty frame."""
    warehouse = filled.warehouse
    warehouse.replace_partition("s", "t", _frame(DAY1, [1]).assign(_run_id="r1"), _day(DAY1))
    assert "_run_id" not in warehouse.read_table("s", "t").columns
    assert "_run_id" in warehouse.read_table("s", "t", include_audit=True).columns
    with pytest.raises(TableNotFoundError, match=r"s\.missing"):
        warehouse.read_table("s", "missing")
    assert not warehouse.table_exists("s", "missing")


def test_read_table_reads_only_the_columns_asked_for(filled: WarehouseEngine) -> None:
    """Invariant: ``columns`` selects those columns in the order asked, with the partition filter and
    the same values as a full read; a column the table lacks is refused, naming it."""
    warehouse = filled.warehouse
    narrow = warehouse.read_table("s", "t", partition=_day(DAY2), columns=["value", "id"])
    assert list(narrow.columns) == ["value", "id"]
    full = _rows(warehouse, DAY2)
    pd.testing.assert_frame_equal(narrow.sort_values("id").reset_index(drop=True), full[["value", "id"]])
    warehouse.replace_partition("s", "t", _frame(DAY1, [1]).assign(_run_id="r1"), _day(DAY1))
    audited = warehouse.read_table(
        "s", "t", partition=_day(DAY1), columns=["_run_id", "id"], include_audit=True
    )
    assert audited.to_dict("records") == [{"_run_id": "r1", "id": 1}]
    for asked in (["id", "amount"], ["_run_id"], []):
        with pytest.raises(ColumnNotFoundError, match=r"s\.t has no column"):
            warehouse.read_table("s", "t", columns=asked)


def test_execute_runs_in_its_own_transaction(filled: WarehouseEngine) -> None:
    """Invariant: execute commits a statement; a failing one changes nothing."""
    warehouse = filled.warehouse
    warehouse.execute(filled.sql('UPDATE s.t SET "value" = ? WHERE id = ?'), [11, 4])
    assert _rows(warehouse, DAY2)["value"].tolist() == [11, 0]
    bad_cast = {"duckdb": r"(?i)conversion|could not convert", "postgres": r"(?i)invalid input syntax"}
    with pytest.raises(Exception, match=bad_cast[filled.name]):
        warehouse.execute(filled.sql('UPDATE s.t SET "value" = CAST(? AS BIGINT) WHERE id = 5'), ["nope"])
    assert _rows(warehouse, DAY2)["value"].tolist() == [11, 0]
