"""WarehouseIOManager, unchanged, on PostgresWarehouse through real Dagster runs (dg.materialize)."""

import datetime as dt
from collections.abc import Callable
from typing import Any

import dagster as dg
import pandas as pd
import pytest

from reliable_assets.toolkit.postgres_warehouse import PostgresWarehouse
from reliable_assets.toolkit.warehouse_io_manager import WarehouseIOManager
from reliable_assets_tests.pg_server import pg_database_url, pg_url  # noqa: F401

DAILY = dg.DailyPartitionsDefinition(start_date="2026-01-01")
SEGMENTS = dg.StaticPartitionsDefinition(["a", "b", "it's; drop"])
DAILY_BY_SEGMENT = dg.MultiPartitionsDefinition({"day": DAILY, "segment": SEGMENTS})
RANGE_TAGS = {
    "dagster/asset_partition_range_start": "2026-01-01",
    "dagster/asset_partition_range_end": "2026-01-03",
}


@pytest.fixture
def warehouse(pg_database_url: str) -> PostgresWarehouse:  # noqa: F811
    return PostgresWarehouse(url=pg_database_url)


def _run(warehouse: PostgresWarehouse, assets: list[Any], **kwargs: Any) -> dg.ExecuteInProcessResult:
    return dg.materialize(assets, resources={"io_manager": WarehouseIOManager(warehouse=warehouse)}, **kwargs)


def _metadata(result: dg.ExecuteInProcessResult) -> dict[str, Any]:
    materialization = result.get_asset_materialization_events()[0].materialization
    assert materialization is not None
    return {key: value.value for key, value in materialization.metadata.items()}


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


def test_partition_overwrite_is_idempotent_and_leaves_other_partitions(warehouse: PostgresWarehouse) -> None:
    """Invariant: materializing a partition twice leaves the same content hash and row count; other
    partitions keep their rows; audit columns are stored and metadata describes the write."""
    sales = _daily_asset(_rows)
    first = _run(warehouse, [sales], partition_key="2026-01-01")
    _run(warehouse, [sales], partition_key="2026-01-02")
    once = warehouse.table_content_hash("mart", "sales")
    rerun = _run(warehouse, [sales], partition_key="2026-01-02")
    assert warehouse.table_content_hash("mart", "sales") == once
    stored = warehouse.read_table("mart", "sales", include_audit=True)
    assert len(stored) == 6
    assert set(stored["_run_id"]) == {first.run_id, rerun.run_id}
    assert str(stored["_loaded_at"].dtype) == "datetime64[ns, UTC]"
    metadata = _metadata(rerun)
    assert (metadata["table"], metadata["rows_written"], metadata["rows_deleted"]) == ("mart.sales", 3, 3)


def test_single_run_range_writes_every_day_once(warehouse: PostgresWarehouse) -> None:
    """Invariant: a 3-day single-run range writes all three days, and re-running the range replaces
    rather than duplicates."""
    sales = _daily_asset(_rows)
    _run(warehouse, [sales], tags=RANGE_TAGS)
    once = warehouse.table_content_hash("mart", "sales")
    result = _run(warehouse, [sales], tags=RANGE_TAGS)
    stored = warehouse.read_table("mart", "sales")
    assert sorted(stored["day"].unique()) == [dt.date(2026, 1, d) for d in (1, 2, 3)]
    assert len(stored) == 9
    assert warehouse.table_content_hash("mart", "sales") == once
    assert _metadata(result)["rows_deleted"] == 9


def test_incompatible_type_fails_the_run_and_keeps_the_old_partition(warehouse: PostgresWarehouse) -> None:
    """Invariant: text into a double precision column fails the step with a message naming table and
    column, and the partition keeps its old rows."""
    _run(warehouse, [_daily_asset(_rows)], partition_key="2026-01-01")
    before = warehouse.table_content_hash("mart", "sales")
    broken = _daily_asset(lambda key: _rows(key).assign(amount="lots"))
    result = _run(warehouse, [broken], partition_key="2026-01-01", raise_on_error=False)
    assert not result.success
    error = result.get_step_failure_events()[0].step_failure_data.error
    assert error is not None
    assert "'amount' of mart.sales is double precision" in error.to_string()
    assert warehouse.table_content_hash("mart", "sales") == before


def test_multi_partition_overwrite_touches_only_its_slice(warehouse: PostgresWarehouse) -> None:
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
        for s in ("a", "it's; drop")
    ]
    runs = {key: _run(warehouse, [scores], partition_key=key).run_id for key in keys}
    rerun = _run(warehouse, [scores], partition_key=keys[1]).run_id
    stored = warehouse.read_table("ml", "scores")
    assert len(stored) == 8
    by_slice = stored.groupby(["score_date", "segment"])["run"].agg(set)
    assert by_slice[(dt.date(2026, 1, 1), "it's; drop")] == {rerun}
    assert by_slice[(dt.date(2026, 1, 1), "a")] == {runs[keys[0]]}
    assert by_slice[(dt.date(2026, 1, 2), "it's; drop")] == {runs[keys[3]]}
    _run(warehouse, [scores, score_count], partition_key=keys[3], selection=[score_count])
    counted = warehouse.read_table("ml", "score_count")
    assert counted[["segment", "size"]].values.tolist() == [["it's; drop", 2]]


def test_upsert_through_the_io_manager_is_idempotent_and_never_regresses(
    warehouse: PostgresWarehouse,
) -> None:
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
