"""Issue 9: a backfill chunk that fails is resumed with Dagster's re-execute-from-failure, launched
over GraphQL as the UI's "Re-execute → From failure" does, and ends as a clean run.

A real `dagster-webserver` and `dagster-daemon` (benchmarks/dagster_service.py) on the repo's
instance config; a backfill of two chunks of the daily assets that share a run (the raw extracts
and warehouse/daily_events, which reads raw/events) in which the second chunk's last day has no
landing files yet: its raw/events fails, permanently, naming the missing folder, and
daily_events never runs for that chunk. The files then arrive,
`reexecutePartitionBackfill(strategy: FROM_FAILURE)` re-runs what failed and what never ran, and
every table and file ends equal to a clean in-process run of the same assets and days. The
sensors and schedules are stopped (the landing sensor would start the day itself). The whole
graph's backfill through the daemon is what `make bench` and the UI test run; this test keeps to
one layer of runs because the backfill daemon looks for ready chunks every 30 s (fixed in
Dagster 1.13), and every further layer adds that wait twice.
"""

import shutil
import time
from datetime import date, timedelta

import dagster as dg
import pytest

from benchmarks.bench_backfill import discover_assets, launch_backfill, stop_automation, wait_terminal
from benchmarks.dagster_service import running_service, simulate, temp_world
from reliable_assets.partitions import DAYS_PER_BACKFILL_RUN
from reliable_assets.simulator.rates_api import serve_rates_api
from reliable_assets.toolkit.partition_days import RANGE_END_TAG, RANGE_START_TAG
from reliable_assets_tests import graph_state
from reliable_assets_tests.laps import laps

START = date(2024, 3, 1)
DAYS = DAYS_PER_BACKFILL_RUN + 3  # two chunks
# One run per chunk holds all of these (same partitions, backfill policy and no upstream outside).
BACKFILLED = ["raw/orders", "raw/events", "raw/fx_rates", "warehouse/daily_events"]
MISSING_DAY = START + timedelta(days=DAYS - 1)
REEXECUTE = """
mutation Reexecute($id: String!) {
  reexecutePartitionBackfill(reexecutionParams: {parentRunId: $id, strategy: FROM_FAILURE}) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message }
  }
}
"""


def test_a_failed_chunk_resumes_from_failure_to_a_clean_runs_content(monkeypatch: pytest.MonkeyPatch) -> None:
    from reliable_assets.definitions import defs
    from reliable_assets.graph_runs import execute_assets

    lap = laps(time.monotonic())
    with temp_world("resume") as world, temp_world("clean") as clean:
        simulate(world, START.isoformat(), DAYS, orders_per_day=40, events_per_day=300)
        held = world.root / "held"
        shutil.move(world.data_dir / "landing" / "events" / MISSING_DAY.isoformat(), held)
        with running_service(world) as service:
            stop_automation(service)
            service.start_daemon()
            service.wait_for_daemon()
            assets = [a for a in discover_assets(service) if "/".join(a.path) in BACKFILLED]
            assert len(assets) == len(BACKFILLED), assets
            lap("world simulated, deployment up")
            first = launch_backfill(service, assets, START, MISSING_DAY, "resume test")
            statuses, _, timed_out = wait_terminal(service, [first], time.monotonic() + 600)
            assert not timed_out
            assert statuses[first] not in {"COMPLETED_SUCCESS", "COMPLETED"}, statuses
            lap("first backfill, one chunk failed")

            shutil.move(held, world.data_dir / "landing" / "events" / MISSING_DAY.isoformat())
            result = service.gql(REEXECUTE, {"id": first})["reexecutePartitionBackfill"]
            assert result["__typename"] == "LaunchBackfillSuccess", result
            resumed = result["backfillId"]
            statuses, errors, timed_out = wait_terminal(service, [resumed], time.monotonic() + 600)
            assert not timed_out
            assert statuses[resumed] in {"COMPLETED_SUCCESS", "COMPLETED"}, (statuses, errors)
            lap("resumed from failure")
            with dg.DagsterInstance.from_config(str(world.home)) as instance:
                failed = instance.get_runs(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.FAILURE]))
                resumed_runs = instance.get_runs(filters=dg.RunsFilter(tags={"dagster/backfill": resumed}))
        # Only the first backfill's failed chunk failed, and the resume re-ran that chunk.
        assert len(failed) == 1, failed
        assert all(run.tags.get("dagster/backfill") == first for run in failed)
        second_chunk = (START + timedelta(days=DAYS_PER_BACKFILL_RUN)).isoformat()
        assert {run.tags.get(RANGE_START_TAG) for run in resumed_runs} == {second_chunk}, resumed_runs

        simulate(clean, START.isoformat(), DAYS, orders_per_day=40, events_per_day=300)
        monkeypatch.setenv("RELIABLE_ASSETS_DATA_DIR", str(clean.data_dir))
        # The service's rates API stopped with it: the clean run gets its own.
        with serve_rates_api(port=0) as url, dg.instance_for_test() as instance:
            monkeypatch.setenv("RATES_API_URL", url)
            span = {RANGE_START_TAG: START.isoformat(), RANGE_END_TAG: MISSING_DAY.isoformat()}
            clean_run = execute_assets(defs(), instance, BACKFILLED, "clean", span, log_level="WARNING")
            assert clean_run.success
        lap("clean in-process run")
        assert graph_state.state_of(world.data_dir, monkeypatch) == graph_state.state_of(
            clean.data_dir, monkeypatch
        )
