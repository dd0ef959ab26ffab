"""Bad records end in ops.dead_letters with their error type; too many of them stop the batch."""

import json
from pathlib import Path

import dagster as dg

from reliable_assets import paths
from reliable_assets.definitions import defs
from reliable_assets.graph_runs import (
    DAILY_ASSETS,
    SNAPSHOT_ASSETS,
    RunOutcome,
    execute_assets,
)
from reliable_assets.simulator.run import simulate
from reliable_assets.toolkit.duckdb_warehouse import DuckDBWarehouse
from reliable_assets.toolkit.partition_days import RANGE_END_TAG, RANGE_START_TAG
from reliable_assets_tests.conftest import SIM_DAY_LIST, small_simulation

DAY_RANGE = {RANGE_START_TAG: SIM_DAY_LIST[0].isoformat(), RANGE_END_TAG: SIM_DAY_LIST[-1].isoformat()}


def _run_daily(instance: dg.DagsterInstance) -> bool:
    return _run_daily_outcome(instance).success


def _run_daily_outcome(instance: dg.DagsterInstance) -> RunOutcome:
    definitions = defs()
    assert execute_assets(definitions, instance, SNAPSHOT_ASSETS, "snapshot").success
    return execute_assets(definitions, instance, DAILY_ASSETS, "daily", DAY_RANGE)


def test_every_injected_bad_record_is_dead_lettered_with_its_type(
    data_dir: Path, rates_api: str, instance: dg.DagsterInstance
) -> None:
    """Guarantee 4 with --bad-rate 0.02: each bad order and each malformed event line the simulator
    injected is in ops.dead_letters with the right error type; nothing else is refused."""
    summary = simulate(small_simulation(bad_rate=0.02))
    bad = summary.manifest["bad_records"]
    assert isinstance(bad, dict)
    assert bad["orders"]
    assert bad["events"]["malformed_lines"]
    outcome = _run_daily_outcome(instance)
    assert outcome.success
    # The range run reports reconciliation per partition (and one summary without a partition).
    reconciled = [e for e in outcome.checks if e.check_name.endswith("_reconciled") and e.partition]
    event_days = summary.manifest["counts"]["events"]  # type: ignore[index]
    assert {(e.check_name, e.partition) for e in reconciled} == {
        (name, day) for name in ("landed_lines_reconciled", "source_rows_reconciled") for day in event_days
    }
    assert all(e.passed for e in reconciled)
    landed = {
        e.partition: e.metadata["source_rows"].value for e in reconciled if e.check_name.startswith("landed")
    }
    assert landed == {day: counts["lines"] for day, counts in event_days.items()}

    letters = DuckDBWarehouse(path=str(paths.warehouse_path())).read_table("ops", "dead_letters")
    orders = letters.loc[letters["asset_key"] == "warehouse/fact_orders"]
    refused = {
        json.loads(record)["order_id"]: kind
        for record, kind in zip(orders["record"], orders["error_type"], strict=True)
    }
    assert refused == bad["orders"]
    events = letters.loc[letters["asset_key"] == "raw/events"]
    lines = {(json.loads(r)["source"], json.loads(r)["line_number"]) for r in events["record"]}
    expected = {
        (f"events/{path.split('events/', 1)[-1]}", number)
        for path, number in bad["events"]["malformed_lines"]
    }
    assert lines == expected
    assert set(events["error_type"]) == {"malformed_json"}
    assert set(letters["status"]) == {"pending"}

    # Re-running the same partitions does not duplicate dead letters.
    assert _run_daily(instance)
    again = DuckDBWarehouse(path=str(paths.warehouse_path())).read_table("ops", "dead_letters")
    assert sorted(again["dead_letter_id"]) == sorted(letters["dead_letter_id"])


def test_a_batch_over_the_bad_record_limit_fails_without_retry_and_writes_nothing(
    data_dir: Path, rates_api: str, instance: dg.DagsterInstance
) -> None:
    """--bad-rate 0.3 is past the 5 % limit: fact_orders fails once (no retry), and the partitions
    published by the earlier clean run keep exactly their previous content."""
    simulate(small_simulation())
    assert _run_daily(instance)
    warehouse = DuckDBWarehouse(path=str(paths.warehouse_path()))
    published = warehouse.table_content_hash("warehouse", "fact_orders")

    simulate(small_simulation(bad_rate=0.3))
    assert not _run_daily(instance)
    assert warehouse.table_content_hash("warehouse", "fact_orders") == published
    run_id = instance.get_runs(limit=1)[0].run_id
    failures = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.STEP_FAILURE).records
    assert len(failures) == 1
    assert "above the 5% limit" in str(failures[0].event_log_entry.dagster_event)
    assert not instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.STEP_UP_FOR_RETRY).records


def test_clean_data_leaves_no_dead_letters(
    data_dir: Path, rates_api: str, instance: dg.DagsterInstance
) -> None:
    """Clean simulated data: nothing is refused, so nothing is dead-lettered."""
    simulate(small_simulation())
    assert _run_daily(instance)
    letters = DuckDBWarehouse(path=str(paths.warehouse_path())).read_table("ops", "dead_letters")
    assert letters.empty
