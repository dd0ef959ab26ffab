"""Issue 11: a run worker killed with `kill -9` in the middle of a run is noticed and re-run by
the instance, and the result equals a clean run's.

A real deployment (benchmarks/dagster_service.py: code server, webserver, `dagster-daemon run`
on the repo's `dagster.yaml`). A run of the daily assets that share a run (raw extracts and
warehouse/daily_events) for three days is launched over GraphQL as the UI's "Materialize" does;
once its raw/events step has started, its worker process (the pid on its step events) gets
SIGKILL. The code server, which started that process, notices it died and marks the run failed
with the reason (with the default run launcher, that is how a dead worker is seen; the
monitoring daemon, on in `dagster.yaml`, fails runs stuck starting or cancelling); the
instance's run retry (`run_retries`, for crashed workers only) launches a new run from the
failure, which completes. The tables and files then equal a clean in-process
run of the same assets and days.
"""

import os
import signal
import time
from collections.abc import Callable
from datetime import date, timedelta

import dagster as dg
import pytest

from benchmarks.bench_backfill import stop_automation
from benchmarks.dagster_service import Service, running_service, simulate, temp_world
from reliable_assets.simulator.rates_api import serve_rates_api
from reliable_assets.toolkit.partition_days import RANGE_END_TAG, RANGE_START_TAG
from reliable_assets_tests import graph_state
from reliable_assets_tests.laps import laps

START = date(2024, 3, 1)
DAYS = 3
LAST = START + timedelta(days=DAYS - 1)
ASSETS = ["raw/orders", "raw/events", "raw/fx_rates", "warehouse/daily_events"]
# Enough events that raw/events runs for seconds, so the kill lands inside the run.
EVENTS_PER_DAY = 40_000
PID_POLL_S = 0.2
PID_POLLS = 1500  # 5 minutes of looks for the step to start
RUN_POLLS = 300  # a look a second, for the retried run to finish
PARENT_RUN_TAG = "dagster/parent_run_id"
LAUNCH_RUN = """
mutation Launch($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on Error { message }
  }
}
"""


def _launch(service: Service) -> str:
    params = {
        "selector": {
            "repositoryLocationName": service.location,
            "repositoryName": service.repository,
            "jobName": "__ASSET_JOB",
            "assetSelection": [{"path": key.split("/")} for key in ASSETS],
        },
        "executionMetadata": {
            "tags": [
                {"key": RANGE_START_TAG, "value": START.isoformat()},
                {"key": RANGE_END_TAG, "value": LAST.isoformat()},
            ]
        },
    }
    result = service.gql(LAUNCH_RUN, {"params": params})["launchRun"]
    assert result["__typename"] == "LaunchRunSuccess", result
    run_id: str = result["run"]["runId"]
    return run_id


def _worker_pid_once_events_started(instance: dg.DagsterInstance, run_id: str) -> int:
    for _ in range(PID_POLLS):
        for record in instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.STEP_START).records:
            event = record.event_log_entry.dagster_event
            if event is not None and event.step_key == "raw__events" and event.pid:
                return event.pid
        time.sleep(PID_POLL_S)
    raise AssertionError(f"raw/events of run {run_id} did not start in {PID_POLLS} looks")


def _wait_for(what: str, done: Callable[[], bool]) -> None:
    """Look up to RUN_POLLS times, a second apart (a bound on waiting, not a speed asserted)."""
    for _ in range(RUN_POLLS):
        if done():
            return
        time.sleep(1)
    raise AssertionError(f"not {what} after {RUN_POLLS} looks")


def test_a_killed_run_worker_is_noticed_and_rerun_to_a_clean_runs_content(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from reliable_assets.definitions import defs
    from reliable_assets.graph_runs import execute_assets

    lap = laps(time.monotonic())
    with temp_world("crash") as world, temp_world("crash-clean") as clean:
        simulate(world, START.isoformat(), DAYS, orders_per_day=40, events_per_day=EVENTS_PER_DAY)
        with running_service(world) as service:
            stop_automation(service)
            service.start_daemon()
            service.wait_for_daemon()
            lap("world simulated, deployment up")
            run_id = _launch(service)
            with dg.DagsterInstance.from_config(str(world.home)) as instance:
                pid = _worker_pid_once_events_started(instance, run_id)
                os.kill(pid, signal.SIGKILL)
                lap(f"run started, worker {pid} killed")

                def retried_run() -> dg.DagsterRun | None:
                    runs = instance.get_runs(filters=dg.RunsFilter(tags={PARENT_RUN_TAG: run_id}))
                    return runs[0] if runs else None

                _wait_for("retried and finished", lambda: (r := retried_run()) is not None and r.is_finished)
                lap("crash noticed, run retried by the instance")
                killed = instance.get_run_by_id(run_id)
                retry = retried_run()
                engine_messages = [
                    record.event_log_entry.message
                    for record in instance.get_records_for_run(
                        run_id, of_type=dg.DagsterEventType.ENGINE_EVENT
                    ).records
                ]
        assert killed is not None
        assert killed.status == dg.DagsterRunStatus.FAILURE
        assert any(f"{run_id}" in m and "signal" in m.lower() for m in engine_messages), engine_messages
        assert retry is not None
        assert retry.status == dg.DagsterRunStatus.SUCCESS, retry
        assert retry.tags.get("dagster/retry_number") == "1"

        simulate(clean, START.isoformat(), DAYS, orders_per_day=40, events_per_day=EVENTS_PER_DAY)
        monkeypatch.setenv("RELIABLE_ASSETS_DATA_DIR", str(clean.data_dir))
        with serve_rates_api(port=0) as url, dg.instance_for_test() as clean_instance:
            monkeypatch.setenv("RATES_API_URL", url)
            span = {RANGE_START_TAG: START.isoformat(), RANGE_END_TAG: LAST.isoformat()}
            assert execute_assets(defs(), clean_instance, ASSETS, "clean", span, log_level="WARNING").success
        lap("clean in-process run")
        assert graph_state.state_of(world.data_dir, monkeypatch) == graph_state.state_of(
            clean.data_dir, monkeypatch
        )
