"""WarehouseIOManager, unchanged, through real Dagster runs (dg.materialize) on every warehouse
engine: a DuckDB file and a real PostgreSQL (the ``engine`` fixture, toolkit/conftest.py)."""

import datetime as dt
from collections.abc import Callable
from typing import Any

import dagster as dg
import pandas as pd
import pytest

from reliable_assets.toolkit.partition_filter import PartitionFilter
from reliable_assets.toolkit.warehouse import Warehouse
from reliable_assets.toolkit.warehouse_io_manager import WarehouseIOManager
from reliable_assets_tests.toolkit.warehouse_engines import WarehouseEngine

DAILY = dg.DailyPartitionsDefinition(start_date="2026-01-01")
# A segment value with a quote and a semicolon: partition values are bound as data, never SQL.
HOSTILE = "it's; drop"
SEGMENTS = dg.StaticPartitionsDefinition(["a", HOSTILE])
DAILY_BY_SEGMENT = dg.MultiPartitionsDefinition({"day": DAILY, "segment": SEGMENTS})
RANGE_TAGS = {
    "dagster/asset_partition_range_start": "2026-01-01",
    "dagster/asset_partition_range_end": "2026-01-03",
}


@pytest.fixture
def warehouse(engine: WarehouseEngine) -> Warehouse:
    return engine.warehouse


def _run(
    warehouse: Warehouse, assets: list[Any], raise_on_error: bool = True, **kwargs: Any
) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        assets,
        resources={"io_manager": WarehouseIOManager(warehouse=warehouse)},
        raise_on_error=raise_on_error,
        **kwargs,
    )


def _metadata(result: dg.ExecuteInProcessResult) -> dict[str, Any]:
    """Plain values of the run's materialization metadata (a range run repeats it per partition)."""
    materialization = result.get_asset_materialization_events()[0].materialization
    assert materialization is not None
    return {key: value.value for key, value in materialization.metadata.items()}


def _failure(result: dg.ExecuteInProcessResult) -> str:
    """The failed step's error with its causes (the IO manager's error is a cause of Dagster's)."""
    assert not result.success
    error = result.get_step_failure_events()[0].step_failure_data.error
    assert error is not None
    return error.to_string()


def _daily_asset(rows_for_day: Callable[[str], pd.DataFrame], **metadata: Any) -> dg.AssetsDefinition:
    @dg.asset(
        key=["mart", "sales"],
        partitions_def=DAILY,
        backfill_policy=dg.BackfillPolicy.single_run(),
        metadata={"partition_expr": "day", **metadata},
    )
    def sales(context: dg.AssetExecutionContext) -> pd.DataFrame:
        return pd.concat([rows_for_day(key) for key in context.partition_keys], ignore_index=True)

    return sales


def _rows(key: str, n: int = 3, amount: float = 1.0) -> pd.DataFrame:
    day = dt.date.fromisoformat(key)
    return pd.DataFrame({"day": [day] * n, "order": [f"{key}-{i}" for i in range(n)], "amount": [amount] * n})


def _day(key: str) -> PartitionFilter:
    start = dt.datetime.fromisoformat(key)
    return PartitionFilter.time_range("day", start, start + dt.timedelta(days=1))


def test_partition_overwrite_is_idempotent_and_leaves_other_partitions(engine: WarehouseEngine) -> None:
    """Invariant: materializing a partition twice leaves the same content hash and row count; other
    partitions are untouched; audit columns are added and output metadata describes the write."""
    warehouse = engine.warehouse
    sales = _daily_asset(_rows)
    first = _run(warehouse, [sales], partition_key="2026-01-01")
    result = _run(warehouse, [sales], partition_key="2026-01-02")
    day1 = warehouse.read_table("mart", "sales", partition=_day("2026-01-01"), include_audit=True)
    once = warehouse.table_content_hash("mart", "sales")
    rerun = _run(warehouse, [sales], partition_key="2026-01-02")
    assert warehouse.table_content_hash("mart", "sales") == once
    pd.testing.assert_frame_equal(
        warehouse.read_table("mart", "sales", partition=_day("2026-01-01"), include_audit=True), day1
    )
    stored = warehouse.read_table("mart", "sales", include_audit=True)
    assert len(stored) == 6
    assert set(stored["_run_id"]) == {first.run_id, rerun.run_id}
    assert set(day1["_run_id"]) == {first.run_id}
    assert stored["_loaded_at"].notna().all()
    loaded_at_dtype = {"duckdb": "datetime64[us, UTC]", "postgres": "datetime64[ns, UTC]"}[engine.name]
    assert str(stored["_loaded_at"].dtype) == loaded_at_dtype
    metadata = _metadata(rerun)
    assert metadata["table"] == "mart.sales"
    assert metadata["rows_written"] == 3
    assert metadata["rows_deleted"] == 3
    assert metadata["write_mode"] == "partition_overwrite"
    assert metadata["partition_range"] == "2026-01-02"
    assert _metadata(result)["rows_deleted"] == 0


def test_single_run_range_writes_every_day_once(warehouse: Warehouse) -> None:
    """Invariant: a 3-day single-run range (no single partition_key) writes all three days, and
    re-running the range replaces rather than duplicates."""
    sales = _daily_asset(_rows)
    _run(warehouse, [sales], tags=RANGE_TAGS)
    once = warehouse.table_content_hash("mart", "sales")
    result = _run(warehouse, [sales], tags=RANGE_TAGS)
    stored = warehouse.read_table("mart", "sales")
    assert sorted(stored["day"].unique()) == [dt.date(2026, 1, d) for d in (1, 2, 3)]
    assert len(stored) == 9
    assert warehouse.table_content_hash("mart", "sales") == once
    metadata = _metadata(result)
    assert metadata["rows_deleted"] == 9
    assert metadata["partition_range"].startswith("2026-01-01...2026-01-03")


def test_incompatible_type_fails_the_run_and_keeps_the_old_partition(engine: WarehouseEngine) -> None:
    """Invariant: a failed insert (text into a double column) fails the step with a message naming
    table and column, and the partition keeps its old rows."""
    warehouse = engine.warehouse
    _run(warehouse, [_daily_asset(_rows)], partition_key="2026-01-01")
    before = warehouse.table_content_hash("mart", "sales")
    broken = _daily_asset(lambda key: _rows(key).assign(amount="lots"))
    result = _run(warehouse, [broken], partition_key="2026-01-01", raise_on_error=False)
    assert not result.success
    failure = _failure(result)
    assert f"'amount' of mart.sales is {engine.type_name('double')}" in failure
    assert warehouse.table_content_hash("mart", "sales") == before


def test_reordered_columns_land_by_name_and_new_columns_are_added(warehouse: Warehouse) -> None:
    """Invariant: column order in the frame does not matter; a new column extends the table."""
    _run(warehouse, [_daily_asset(_rows)], partition_key="2026-01-01")
    reordered = _daily_asset(lambda key: _rows(key, amount=5.0)[["amount", "order", "day"]].assign(note="n"))
    _run(warehouse, [reordered], partition_key="2026-01-02")
    day2 = warehouse.read_table("mart", "sales", partition=_day("2026-01-02"))
    assert set(day2["amount"]) == {5.0}
    assert set(day2["note"]) == {"n"}
    assert warehouse.read_table("mart", "sales", partition=_day("2026-01-01"))["note"].isna().all()


def test_empty_frame_is_refused_unless_allowed(engine: WarehouseEngine) -> None:
    """Invariant: an empty frame never silently wipes a partition; allow_empty=True makes it legal
    (a zero-row column has no type of its own, whatever dtype pandas gave it)."""
    warehouse = engine.warehouse
    _run(warehouse, [_daily_asset(_rows)], partition_key="2026-01-01")
    empty = _daily_asset(lambda key: _rows(key, n=0))
    result = _run(warehouse, [empty], partition_key="2026-01-01", raise_on_error=False)
    assert not result.success
    error = _failure(result)
    assert "allow_empty" in error
    assert len(warehouse.read_table("mart", "sales")) == 3
    _run(warehouse, [_daily_asset(lambda key: _rows(key, n=0), allow_empty=True)], partition_key="2026-01-01")
    assert len(warehouse.read_table("mart", "sales")) == 0


def test_rows_outside_the_partition_are_refused(warehouse: Warehouse) -> None:
    """Invariant: a row whose partition column lies outside the run's partitions is refused (it
    would become a duplicate), naming the column and a sample value; nothing is written."""
    leaky = _daily_asset(lambda key: pd.concat([_rows(key), _rows("2026-01-09", n=1)]))
    result = _run(warehouse, [leaky], partition_key="2026-01-01", raise_on_error=False)
    assert not result.success
    error = _failure(result)
    assert "outside the target partition" in error
    assert "'day': '2026-01-09'" in error
    assert not warehouse.table_exists("mart", "sales")


def test_multi_partition_overwrite_touches_only_its_slice(warehouse: Warehouse) -> None:
    """Invariant: a daily x static partition replaces only rows of that day AND that segment, with a
    segment value holding a quote and a semicolon bound as data; inputs load exactly their slice."""

    @dg.asset(key=["ml", "scores"], partitions_def=DAILY_BY_SEGMENT,
              metadata={"partition_expr": {"day": "score_date", "segment": "segment"}})  # fmt: skip
    def scores(context: dg.AssetExecutionContext) -> pd.DataFrame:
        key = context.partition_key.keys_by_dimension
        day = dt.date.fromisoformat(key["day"])
        return pd.DataFrame(
            {"score_date": [day, day], "segment": [key["segment"]] * 2, "run": [context.run.run_id] * 2}
        )

    @dg.asset(key=["ml", "score_count"], partitions_def=DAILY_BY_SEGMENT,
              metadata={"partition_expr": {"day": "score_date", "segment": "segment"}})  # fmt: skip
    def score_count(scores: pd.DataFrame) -> pd.DataFrame:
        return scores.groupby(["score_date", "segment"], as_index=False).size()

    keys = [
        dg.MultiPartitionKey({"day": d, "segment": s})
        for d in ("2026-01-01", "2026-01-02")
        for s in ("a", HOSTILE)
    ]
    runs = {key: _run(warehouse, [scores], partition_key=key).run_id for key in keys}
    rerun = _run(warehouse, [scores], partition_key=keys[1]).run_id
    stored = warehouse.read_table("ml", "scores")
    assert len(stored) == 8
    by_slice = stored.groupby(["score_date", "segment"])["run"].agg(set)
    assert by_slice[(dt.date(2026, 1, 1), HOSTILE)] == {rerun}
    assert by_slice[(dt.date(2026, 1, 1), "a")] == {runs[keys[0]]}
    assert by_slice[(dt.date(2026, 1, 2), "a")] == {runs[keys[2]]}
    assert by_slice[(dt.date(2026, 1, 2), HOSTILE)] == {runs[keys[3]]}
    # load_input reads exactly the slice of the downstream partition.
    _run(warehouse, [scores, score_count], partition_key=keys[3], selection=[score_count])
    counted = warehouse.read_table("ml", "score_count")
    assert counted[["segment", "size"]].values.tolist() == [[HOSTILE, 2]]
    assert counted["score_date"].tolist() == [dt.date(2026, 1, 2)]


def test_upsert_through_the_io_manager_is_idempotent_and_never_regresses(warehouse: Warehouse) -> None:
    """Invariant: write_mode upsert with version_column keeps the newest version per key across
    partition runs, and an identical re-run leaves the same content."""
    versions = {"2026-01-01": 1, "2026-01-02": 2}

    @dg.asset(key=["mart", "orders"], partitions_def=DAILY,
              metadata={"write_mode": "upsert", "primary_key": ["order_id"],
                        "version_column": "version"})  # fmt: skip
    def orders(context: dg.AssetExecutionContext) -> pd.DataFrame:
        version = versions[context.partition_key]
        return pd.DataFrame({"order_id": [1, 2], "version": [version] * 2, "status": [f"v{version}"] * 2})

    _run(warehouse, [orders], partition_key="2026-01-02")
    content = warehouse.table_content_hash("mart", "orders")
    stale = _run(warehouse, [orders], partition_key="2026-01-01")
    assert warehouse.table_content_hash("mart", "orders") == content
    assert _metadata(stale)["rows_skipped_stale"] == 2
    _run(warehouse, [orders], partition_key="2026-01-02")
    assert warehouse.table_content_hash("mart", "orders") == content
    assert set(warehouse.read_table("mart", "orders")["status"]) == {"v2"}


def test_load_input_reads_partitions_ranges_and_refuses_missing_tables(warehouse: Warehouse) -> None:
    """Invariant: an input gets the rows of its partitions (a range: all of them), content columns
    only; an input whose table was never written fails naming the asset and what to do."""
    sales = _daily_asset(_rows)
    seen: dict[str, pd.DataFrame] = {}

    @dg.asset(key=["mart", "sales_summary"], partitions_def=DAILY,
              backfill_policy=dg.BackfillPolicy.single_run(), metadata={"partition_expr": "day"},
              ins={"sales": dg.AssetIn(key=["mart", "sales"])})  # fmt: skip
    def summary(sales: pd.DataFrame) -> pd.DataFrame:
        seen["sales"] = sales
        return sales.groupby("day", as_index=False).agg(amount=("amount", "sum"))

    failed = _run(
        warehouse, [sales, summary], selection=[summary], partition_key="2026-01-01", raise_on_error=False
    )
    error = _failure(failed)
    assert "mart/sales" in error
    assert "materialize" in error
    _run(warehouse, [sales], tags=RANGE_TAGS)
    _run(
        warehouse,
        [sales, summary],
        selection=[summary],
        tags={**RANGE_TAGS, "dagster/asset_partition_range_end": "2026-01-02"},
    )
    assert sorted(seen["sales"]["day"].unique()) == [dt.date(2026, 1, 1), dt.date(2026, 1, 2)]
    assert not any(column.startswith("_") for column in seen["sales"].columns)
    assert len(warehouse.read_table("mart", "sales_summary")) == 2


def test_unpartitioned_replace_swaps_the_whole_table(warehouse: Warehouse) -> None:
    """Invariant: an unpartitioned asset replaces its table atomically (default write_mode replace)."""
    content = {"rows": pd.DataFrame({"k": [1, 2, 3]})}

    @dg.asset(key=["ops", "report"])
    def report() -> pd.DataFrame:
        return content["rows"]

    _run(warehouse, [report])
    content["rows"] = pd.DataFrame({"k": [9]})
    result = _run(warehouse, [report])
    assert warehouse.read_table("ops", "report")["k"].tolist() == [9]
    assert _metadata(result)["rows_deleted"] == 3
