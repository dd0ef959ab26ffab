"""What only DuckDBWarehouse does; the Warehouse contract it shares with PostgreSQL is pinned in
test_warehouse_contract.py, and its file locks and crashes in test_duckdb_crash_and_locks.py."""

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from reliable_assets.toolkit.content_hash import frame_content_hash
from reliable_assets.toolkit.duckdb_warehouse import DuckDBWarehouse
from reliable_assets.toolkit.partition_filter import PartitionFilter
from reliable_assets.toolkit.warehouse import TableNotFoundError

DAY1, DAY2 = dt.datetime(2026, 1, 1), dt.datetime(2026, 1, 2)


def _day(day: dt.datetime) -> PartitionFilter:
    return PartitionFilter.time_range("day", day, day + dt.timedelta(days=1))


def _frame(day: dt.datetime, ids: list[int], value: int = 0) -> pd.DataFrame:
    return pd.DataFrame({"day": [day.date()] * len(ids), "id": ids, "value": [value] * len(ids)})


def test_the_file_and_its_parent_folders_are_created_on_first_write(tmp_path: Path) -> None:
    """Invariant: a path under folders that do not exist yet is usable as is."""
    path = tmp_path / "nested" / "dir" / "w.duckdb"
    warehouse = DuckDBWarehouse(path=str(path))
    warehouse.replace_partition("s", "t", _frame(DAY1, [1, 2]), _day(DAY1))
    assert path.is_file()
    assert DuckDBWarehouse(path=str(path)).read_table("s", "t")["id"].tolist() == [1, 2]


def test_failure_after_delete_rolls_back_the_delete(tmp_path: Path) -> None:
    """Invariant: an error raised by the database during the insert (after the delete ran) rolls the
    whole transaction back: the old partition is intact. (PostgreSQL refuses this frame before the
    delete; its failures inside the transaction are in test_postgres_crash_and_concurrency.py.)"""
    warehouse = DuckDBWarehouse(path=str(tmp_path / "w.duckdb"))
    warehouse.replace_partition("s", "t", _frame(DAY1, [1, 2, 3]), _day(DAY1))
    warehouse.replace_partition("s", "t", _frame(DAY2, [4, 5]), _day(DAY2))
    before = warehouse.table_content_hash("s", "t")
    # Date 2026-01-01 as a midnight timestamp fits the DATE column; the value column holds a
    # number too large for BIGINT, which DuckDB only rejects while inserting.
    huge = _frame(DAY1, [1]).assign(value=[2.0**70])
    with pytest.raises(Exception, match=r"(?i)out of range|overflow|conversion"):
        warehouse.replace_partition("s", "t", huge, _day(DAY1))
    assert warehouse.table_content_hash("s", "t") == before


def test_table_lookups_see_only_the_named_schema_of_this_file(tmp_path: Path) -> None:
    """Invariant: a table is found in its schema of this file's catalog, whatever the file is called
    (quotes included); a ``main`` table of a catalog named like the schema asked for is not it."""
    odd = DuckDBWarehouse(path=str(tmp_path / 'my "dwh".duckdb'))
    odd.replace_partition("s", "t", _frame(DAY1, [1]), _day(DAY1))
    assert odd.table_columns("s", "t") == {"day": "DATE", "id": "BIGINT", "value": "BIGINT"}
    assert not odd.table_exists("s", "missing")
    assert not odd.table_exists("missing", "t")

    # The catalog of raw.duckdb is "raw": a two-part name "raw"."events" would reach main.events.
    named_like_the_schema = DuckDBWarehouse(path=str(tmp_path / "raw.duckdb"))
    named_like_the_schema.execute("CREATE TABLE main.events (id BIGINT)")
    assert named_like_the_schema.table_columns("main", "events") == {"id": "BIGINT"}
    assert not named_like_the_schema.table_exists("raw", "events")
    with pytest.raises(TableNotFoundError, match=r"raw\.events"):
        named_like_the_schema.read_table("raw", "events")


def test_writes_run_under_the_write_memory_limit_and_reads_do_not(tmp_path: Path) -> None:
    """Invariant: a write's transaction has `write_memory_limit_mib` as DuckDB's memory limit, a
    frame several times that size is still written whole (DuckDB writes out or spills what does
    not fit), and reads keep DuckDB's default limit."""
    warehouse = DuckDBWarehouse(path=str(tmp_path / "w.duckdb"), write_memory_limit_mib=16)
    with warehouse.transaction() as transaction:
        assert transaction.fetch("SELECT current_setting('memory_limit')") == [("16.0 MiB",)]
    assert warehouse.query("SELECT current_setting('memory_limit') AS limit")["limit"][0] != "16.0 MiB"

    rows = 400_000  # about 60 MiB as Python objects, and more than 16 MiB in DuckDB
    frame = pd.DataFrame(
        {
            "day": [DAY1.date()] * rows,
            "id": range(rows),
            "text": [f"event-{n:08d}-{'x' * 24}" for n in range(rows)],
        }
    )
    warehouse.replace_partition("s", "t", frame, _day(DAY1))
    assert warehouse.table_content_hash("s", "t") == frame_content_hash(frame)
