"""`reliable-assets check`: only the checks, on what is published, with a CI-friendly exit code."""

from pathlib import Path

import dagster as dg
import pytest

from reliable_assets import paths
from reliable_assets.cli import main
from reliable_assets.definitions import defs
from reliable_assets.graph_runs import (
    DAILY_ASSETS,
    RANGE_END_TAG,
    RANGE_START_TAG,
    SNAPSHOT_ASSETS,
    execute_assets,
)
from reliable_assets.simulator.run import simulate
from reliable_assets.toolkit.duckdb_warehouse import DuckDBWarehouse
from reliable_assets_tests.conftest import SIM_DAY_LIST, small_simulation


def test_clean_data_exits_0_and_a_planted_duplicate_exits_1_naming_check_table_partition(
    data_dir: Path, rates_api: str, instance: dg.DagsterInstance, capsys: pytest.CaptureFixture[str]
) -> None:
    """A duplicated order_id planted in the warehouse fails `order_id_unique` for its partition, and
    only that: the command exits 1 and its table names the check, the asset and the partition."""
    simulate(small_simulation())
    definitions = defs()
    day_range = {RANGE_START_TAG: SIM_DAY_LIST[0].isoformat(), RANGE_END_TAG: SIM_DAY_LIST[-1].isoformat()}
    assert execute_assets(definitions, instance, SNAPSHOT_ASSETS, "snapshot").success
    assert execute_assets(definitions, instance, DAILY_ASSETS, "daily", day_range).success
    runs_before = len(instance.get_runs())

    assert main(["check"]) == 0
    clean = capsys.readouterr().out
    assert "0 ERROR failures" in clean
    assert "warehouse/daily_revenue" in clean

    day = SIM_DAY_LIST[1].isoformat()
    warehouse = DuckDBWarehouse(path=str(paths.warehouse_path()))
    warehouse.execute(
        "INSERT INTO warehouse.fact_orders"
        " SELECT * FROM warehouse.fact_orders WHERE extract_date = ? LIMIT 1",
        [day],
    )
    assert (
        main(
            ["check", "--select", "warehouse/fact_orders", "--partition-range", f"{SIM_DAY_LIST[0]}...{day}"]
        )
        == 1
    )
    out = capsys.readouterr().out
    failing = [line for line in out.splitlines() if " FAIL " in line]
    assert len(failing) == 1
    assert failing[0].split()[:3] == ["warehouse/fact_orders", day, "order_id_unique"]
    assert "1 ERROR failures" in out
    assert len(instance.get_runs()) == runs_before  # checks only: nothing was materialized


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--select", "warehouse/nope"], "matches no checked asset"),
        (["--partition", "2024-13-01"], "is not a daily partition key"),
        (["--partition-range", "2024-01-05"], "must look like"),
        (["--partition", "2023-12-31"], "before the first partition"),
    ],
)
def test_bad_arguments_exit_2_with_what_to_do(
    args: list[str], message: str, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Bad selections and partition keys are refused with a message, not a traceback."""
    assert main(["check", *args]) == 2
    assert message in capsys.readouterr().err
