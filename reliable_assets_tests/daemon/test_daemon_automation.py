"""Issue 10: with the daemon running and nothing launched by hand, a new day gets materialized.

A real `dagster-daemon run` on the repo's workspace and instance config (sensors, automation and
schedules as they are on by default), a simulated world holding only yesterday (the latest daily
partition), and the source cron set to every minute so the test does not wait for 00:15 UTC.
The SLA report runs on its own daily cron (10:00 UTC) and is not waited for.
"""

import os
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest

from reliable_assets.graph_runs import DAILY_ASSETS, SNAPSHOT_ASSETS
from reliable_assets.raw.schedules import SOURCE_CRON_ENV
from reliable_assets.simulator.config import SimulationConfig
from reliable_assets.simulator.run import simulate

REPO = Path(__file__).resolve().parents[2]
# Every minute in the test; the daily default would make the test wait until 00:15 UTC.
CRON_PERIOD_S = 60
WAIT_S = 7 * CRON_PERIOD_S


def _missing(instance: dg.DagsterInstance, day: str) -> list[str]:
    missing = [
        key
        for key in DAILY_ASSETS
        if day not in instance.get_materialized_partitions(dg.AssetKey.from_user_string(key))
    ]
    missing += [
        key
        for key in SNAPSHOT_ASSETS
        if instance.get_latest_materialization_event(dg.AssetKey.from_user_string(key)) is None
    ]
    return missing


def test_the_daemon_alone_materializes_a_new_day(
    tmp_path: Path, data_dir: Path, rates_api: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    simulate(SimulationConfig(start=yesterday, days=1, orders_per_day=40, events_per_day=300))
    env = {**os.environ, SOURCE_CRON_ENV: "* * * * *"}
    log = (tmp_path / "daemon.log").open("w")
    daemon = subprocess.Popen(
        [str(Path(sys.executable).parent / "dagster-daemon"), "run", "-w", str(REPO / "workspace.yaml")],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    started = time.monotonic()
    try:
        with dg.DagsterInstance.get() as instance:
            missing = _missing(instance, yesterday.isoformat())
            while missing and time.monotonic() - started < WAIT_S and daemon.poll() is None:
                time.sleep(5)
                missing = _missing(instance, yesterday.isoformat())
            elapsed = time.monotonic() - started
            failed = instance.get_runs(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.FAILURE]))
            runs = instance.get_runs()
    finally:
        os.killpg(daemon.pid, 15)
        daemon.wait(timeout=60)
        log.close()
    print(f"day {yesterday} fully materialized by the daemon in {elapsed:.0f} s, {len(runs)} runs")
    assert not failed, [run.run_id for run in failed]
    assert not missing, (
        f"after {elapsed:.0f} s still missing {missing}; daemon log tail:\n"
        + (tmp_path / "daemon.log").read_text()[-3000:]
    )
    # Nothing was launched by hand: every run came from a sensor or an automation tick.
    assert all(
        run.tags.get("dagster/sensor_name")
        or run.tags.get("dagster/from_automation_condition")
        or run.tags.get("dagster/schedule_name")
        for run in runs
    ), [run.tags for run in runs]
