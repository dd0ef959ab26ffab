import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from reliable_assets.toolkit.duckdb_warehouse import DuckDBWarehouse
from reliable_assets.toolkit.partition_filter import PartitionFilter
from reliable_assets.toolkit.sql import InvalidIdentifierError
from reliable_assets.toolkit.warehouse import TableNotFoundError, WarehouseWriteError

DAY1, DAY2 = dt.datetime(2026, 1, 1), dt.datetime(2026, 1, 2)


def _day(day: dt.datetime) -> PartitionFilter:
    return PartitionFilter.time_range("day", day, day + dt.timedelta(days=1))


def _frame(day: dt.datetime, ids: list[int], value: int = 0) -> pd.DataFrame:
    return pd.DataFrame({"day": [day.date()] * len(ids), "id": ids, "value": [value] * len(ids)})


@pytest.fixture
def warehouse(tmp_path: Path) -> DuckDBWarehouse:
    warehouse = DuckDBWarehouse(path=str(tmp_path / "nested" / "dir" / "w.duckdb"))
    warehouse.replace_partition("s", "t", _frame(DAY1, [1, 2, 3]), _day(DAY1))
    warehouse.replace_partition("s", "t", _frame(DAY2, [4, 5]), _day(DAY2))
    return warehouse


def _rows(warehouse: DuckDBWarehouse, day: dt.datetime) -> pd.DataFrame:
    return warehouse.read_table("s", "t", partition=_day(day)).sort_values("id").reset_index(drop=True)


def test_replace_partition_swaps_only_its_slice(warehouse: DuckDBWarehouse) -> None:
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


def test_incompatible_column_type_fails_naming_the_column_and_keeps_old_rows(
    warehouse: DuckDBWarehouse,
) -> None:
    """Invariant: VARCHAR into a BIGINT column fails before anything changes, naming table and column."""
    before = warehouse.table_content_hash("s", "t")
    bad = _frame(DAY1, [1]).assign(value=["not a number"])
    with pytest.raises(WarehouseWriteError, match=r"'value' of s\.t is BIGINT"):
        warehouse.replace_partition("s", "t", bad, _day(DAY1))
    with pytest.raises(WarehouseWriteError, match=r"'value'.*1\.5"):
        warehouse.replace_partition("s", "t", _frame(DAY1, [1]).assign(value=[1.5]), _day(DAY1))
    assert warehouse.table_content_hash("s", "t") == before
    # Whole floats (a nullable int column as pandas holds it) do fit an integer column.
    warehouse.replace_partition(
        "s", "t", _frame(DAY1, [1, 2]).assign(value=pd.Series([2.0, None])), _day(DAY1)
    )
    assert _rows(warehouse, DAY1)["value"].tolist()[0] == 2


def test_failure_after_delete_rolls_back_the_delete(warehouse: DuckDBWarehouse) -> None:
    """Invariant: an error raised by the database during the insert (after the delete ran) rolls the
    whole transaction back: the old partition is intact."""
    before = warehouse.table_content_hash("s", "t")
    # Date 2026-01-01 as a midnight timestamp fits the DATE column; the value column holds a
    # number too large for BIGINT, which DuckDB only rejects while inserting.
    huge = _frame(DAY1, [1]).assign(value=[2.0**70])
    with pytest.raises(Exception, match=r"(?i)out of range|overflow|conversion"):
        warehouse.replace_partition("s", "t", huge, _day(DAY1))
    assert warehouse.table_content_hash("s", "t") == before


def test_columns_land_by_name_not_position(warehouse: DuckDBWarehouse) -> None:
    """Invariant: a frame whose columns come in another order inserts each value into its own column."""
    reordered = pd.DataFrame({"value": [42], "id": [9], "day": [DAY1.date()]})
    warehouse.replace_partition("s", "t", reordered, _day(DAY1))
    row = _rows(warehouse, DAY1).iloc[0]
    assert (row["id"], row["value"], row["day"]) == (9, 42, DAY1.date())


def test_new_frame_column_is_added_to_the_table(warehouse: DuckDBWarehouse) -> None:
    """Invariant: schema evolution adds a new column; old rows read it as null."""
    warehouse.replace_partition("s", "t", _frame(DAY1, [1]).assign(note=["hello"]), _day(DAY1))
    assert warehouse.table_columns("s", "t")["note"] == "VARCHAR"
    assert _rows(warehouse, DAY1)["note"].tolist() == ["hello"]
    assert _rows(warehouse, DAY2)["note"].isna().all()


def test_partition_values_are_bound_not_executed(warehouse: DuckDBWarehouse) -> None:
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
    found = warehouse.query("SELECT count(*) AS n FROM s.seg WHERE segment = ?", [hostile])
    assert found["n"].tolist() == [1]


def test_hostile_identifiers_never_reach_sql(warehouse: DuckDBWarehouse) -> None:
    """Invariant: table, schema and column names are validated before any SQL is built."""
    with pytest.raises(InvalidIdentifierError):
        warehouse.replace_partition("s", 'x"; drop table y; --', _frame(DAY1, [1]), None)
    with pytest.raises(InvalidIdentifierError):
        warehouse.replace_partition("s", "t", pd.DataFrame({'a"; drop table s.t; --': [1]}), None)
    with pytest.raises(InvalidIdentifierError):
        PartitionFilter.value_set("a b", ["x"])
    assert warehouse.table_exists("s", "t")


def test_upsert_with_version_column(tmp_path: Path) -> None:
    """Invariant: upsert replaces rows by key; an older version never overwrites a newer one; equal
    versions rewrite (idempotent); duplicate keys in one frame are refused."""
    warehouse = DuckDBWarehouse(path=str(tmp_path / "w.duckdb"))
    first = pd.DataFrame({"k": [1, 2], "version": [5, 5], "v": ["a", "b"]})
    warehouse.upsert("s", "u", first, ["k"], "version")
    stale = pd.DataFrame({"k": [1, 3], "version": [4, 1], "v": ["old", "new"]})
    result = warehouse.upsert("s", "u", stale, ["k"], "version")
    assert (result.rows_skipped_stale, result.rows_deleted, result.rows_inserted) == (1, 0, 1)
    content = warehouse.table_content_hash("s", "u")
    again = warehouse.upsert("s", "u", first, ["k"], "version")
    assert (again.rows_deleted, again.rows_inserted) == (2, 2)
    assert warehouse.table_content_hash("s", "u") == content
    stored = warehouse.read_table("s", "u").sort_values("k")
    assert stored["v"].tolist() == ["a", "b", "new"]
    newer = pd.DataFrame({"k": [2], "version": [6], "v": ["b2"]})
    warehouse.upsert("s", "u", newer, ["k"], "version")
    assert warehouse.read_table("s", "u").sort_values("k")["v"].tolist() == ["a", "b2", "new"]
    with pytest.raises(WarehouseWriteError, match="duplicate keys"):
        warehouse.upsert("s", "u", pd.DataFrame({"k": [1, 1], "version": [9, 9], "v": ["x", "y"]}), ["k"])
    with pytest.raises(WarehouseWriteError, match="null key"):
        warehouse.upsert("s", "u", pd.DataFrame({"k": [None], "version": [9], "v": ["x"]}), ["k"])
    assert warehouse.read_table("s", "u").sort_values("k")["v"].tolist() == ["a", "b2", "new"]


def test_read_table_hides_audit_columns_and_reports_missing_tables(warehouse: DuckDBWarehouse) -> None:
    """Invariant: reads return content columns unless audit columns are asked for; a missing table
    is a TableNotFoundError, not an empty frame."""
    warehouse.replace_partition("s", "t", _frame(DAY1, [1]).assign(_run_id="r1"), _day(DAY1))
    assert "_run_id" not in warehouse.read_table("s", "t").columns
    assert "_run_id" in warehouse.read_table("s", "t", include_audit=True).columns
    with pytest.raises(TableNotFoundError, match=r"s\.missing"):
        warehouse.read_table("s", "missing")
    assert not warehouse.table_exists("s", "missing")


def test_execute_runs_in_its_own_transaction(warehouse: DuckDBWarehouse) -> None:
    """Invariant: execute commits a statement; a failing one changes nothing."""
    warehouse.execute("UPDATE s.t SET value = ? WHERE id = ?", [11, 4])
    assert _rows(warehouse, DAY2)["value"].tolist() == [11, 0]
    with pytest.raises(Exception, match=r"(?i)conversion|could not convert"):
        warehouse.execute("UPDATE s.t SET value = CAST(? AS BIGINT) WHERE id = 5", ["nope"])
    assert _rows(warehouse, DAY2)["value"].tolist() == [11, 0]
