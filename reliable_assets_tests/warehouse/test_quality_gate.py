"""Write-audit-publish: a partition failing a blocking check is never published."""

from pathlib import Path

import dagster as dg
import pandas as pd

from reliable_assets import paths
from reliable_assets.definitions import defs
from reliable_assets.graph_runs import (
    DAILY_ASSETS,
    SNAPSHOT_ASSETS,
    execute_assets,
)
from reliable_assets.simulator.run import simulate
from reliable_assets.toolkit.duckdb_warehouse import DuckDBWarehouse
from reliable_assets.toolkit.partition_days import RANGE_END_TAG, RANGE_START_TAG
from reliable_assets.toolkit.partition_filter import PartitionFilter
from reliable_assets_tests.conftest import SIM_DAY_LIST, small_simulation


def test_blocking_failure_keeps_the_published_partition_and_stops_downstream(
    data_dir: Path, rates_api: str, instance: dg.DagsterInstance
) -> None:
    """A raw partition with an invalid user_id: daily_events' contract fails, the published partition
    keeps its previous rows, user_features does not run, and the candidate rows sit in quarantine."""
    simulate(small_simulation())
    definitions = defs()
    day_range = {RANGE_START_TAG: SIM_DAY_LIST[0].isoformat(), RANGE_END_TAG: SIM_DAY_LIST[-1].isoformat()}
    assert execute_assets(definitions, instance, SNAPSHOT_ASSETS, "snapshot").success
    assert execute_assets(definitions, instance, DAILY_ASSETS, "daily", day_range).success

    day = SIM_DAY_LIST[1]
    warehouse = DuckDBWarehouse(path=str(paths.warehouse_path()))
    window = PartitionFilter.time_range(
        "event_date", pd.Timestamp(day), pd.Timestamp(day) + pd.Timedelta(days=1)
    )
    published = warehouse.read_table("warehouse", "daily_events", partition=window)
    raw_file = data_dir / "lake" / "raw" / "events" / f"{day.isoformat()}.parquet"
    raw = pd.read_parquet(raw_file)
    raw.loc[raw.index[0], "user_id"] = -5
    raw.to_parquet(raw_file)

    result = execute_assets(
        definitions,
        instance,
        ["warehouse/daily_events", "warehouse/user_features"],
        "gate",
        partition_key=day.isoformat(),
    )
    assert not result.success
    failed = {e.check_name: e for e in result.checks if not e.passed}
    assert set(failed) == {"schema_contract"}
    assert failed["schema_contract"].partition == day.isoformat()
    assert failed["schema_contract"].metadata["failing_columns"].value == ["user_id"]
    assert "ops.quarantine_warehouse_daily_events" in str(
        failed["schema_contract"].metadata["quarantine"].value
    )
    after = warehouse.read_table("warehouse", "daily_events", partition=window)
    pd.testing.assert_frame_equal(
        after.sort_values("event_id").reset_index(drop=True),
        published.sort_values("event_id").reset_index(drop=True),
    )
    materialized = {
        r.asset_key.to_user_string()
        for r in instance.get_records_for_run(
            result.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION
        ).records
        if r.asset_key
    }
    assert materialized == set()
    quarantined = warehouse.read_table("ops", "quarantine_warehouse_daily_events")
    assert len(quarantined) == len(raw)
    assert (quarantined["user_id"] == -5).sum() == 1
    assert set(quarantined["quarantined_partition"]) == {day.isoformat()}


def test_a_range_with_one_bad_day_names_that_day_and_publishes_none(
    data_dir: Path, rates_api: str, instance: dg.DagsterInstance
) -> None:
    """A three-day range run of daily_events where only the middle day's raw rows are bad: the
    contract fails for that partition alone, and no day of the range is published."""
    simulate(small_simulation())
    definitions = defs()
    first, last = SIM_DAY_LIST[0].isoformat(), SIM_DAY_LIST[-1].isoformat()
    day_range = {RANGE_START_TAG: first, RANGE_END_TAG: last}
    assert execute_assets(definitions, instance, SNAPSHOT_ASSETS, "snapshot").success
    assert execute_assets(definitions, instance, DAILY_ASSETS, "daily", day_range).success
    warehouse = DuckDBWarehouse(path=str(paths.warehouse_path()))
    published = warehouse.read_table("warehouse", "daily_events", include_audit=True)

    bad_day = SIM_DAY_LIST[1]
    raw_file = data_dir / "lake" / "raw" / "events" / f"{bad_day.isoformat()}.parquet"
    raw = pd.read_parquet(raw_file)
    raw.loc[raw.index[:2], "user_id"] = -5
    raw.to_parquet(raw_file)

    result = execute_assets(definitions, instance, ["warehouse/daily_events"], "gate", day_range)
    assert not result.success
    contract = {e.partition: e for e in result.checks if e.check_name == "schema_contract"}
    expected: dict[str | None, bool] = {day.isoformat(): day != bad_day for day in SIM_DAY_LIST}
    expected[None] = False  # the range's summary result
    assert {key: e.passed for key, e in contract.items()} == expected
    assert contract[bad_day.isoformat()].metadata["failing_rows"].value == 2
    assert contract[None].metadata["failed_partitions"].value == [bad_day.isoformat()]
    after = warehouse.read_table("warehouse", "daily_events", include_audit=True)
    pd.testing.assert_frame_equal(
        after.sort_values("event_id").reset_index(drop=True),
        published.sort_values("event_id").reset_index(drop=True),
    )
