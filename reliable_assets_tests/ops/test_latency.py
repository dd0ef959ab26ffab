"""Latency alerts: a run far slower than its asset's usual p95 raises one alert, once.

The runs are real Dagster runs of an asset wrapped by `retried_if_transient`, the wrapper every
project asset has, which records `duration_s`. Its clock is replaced by a fake one the asset
advances, so each run's duration is chosen by the test rather than slept (and never measured).
"""

from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from reliable_assets.ops.alerts import alert_on_slow_run
from reliable_assets.toolkit import retries
from reliable_assets.toolkit.alerts import AlertSink
from reliable_assets.toolkit.duckdb_warehouse import DuckDBWarehouse
from reliable_assets.toolkit.retries import DURATION_METADATA, retried_if_transient

DAILY = dg.DailyPartitionsDefinition(start_date="2026-01-01")
NORMAL_S, SLOW_S = 30.0, 200.0  # slow: > 2 x p95 (60 s) and 170 s more, past the 60 s floor


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.step_s = NORMAL_S

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(retries, "_clock", fake)
    return fake


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test(temp_dir=str(tmp_path)) as test_instance:
        yield test_instance


@pytest.fixture
def warehouse(tmp_path: Path) -> DuckDBWarehouse:
    return DuckDBWarehouse(path=str(tmp_path / "w.duckdb"))


def _timed_asset(clock: FakeClock) -> dg.AssetsDefinition:
    @dg.asset(key="timed", partitions_def=DAILY)
    @retried_if_transient
    def timed(context: dg.AssetExecutionContext) -> dg.Output[int]:
        clock.now += clock.step_s  # the body "takes" step_s seconds
        return dg.Output(1)

    return timed


def _run(instance: dg.DagsterInstance, clock: FakeClock, day: int, seconds: float) -> dg.DagsterRun:
    clock.step_s = seconds
    result = dg.materialize([_timed_asset(clock)], instance=instance, partition_key=f"2026-01-{day:02d}")
    run = instance.get_run_by_id(result.run_id)
    assert run is not None
    return run


def _evaluate(instance: dg.DagsterInstance, run: dg.DagsterRun, sink: AlertSink) -> None:
    records = instance.get_records_for_run(run.run_id, of_type=dg.DagsterEventType.RUN_SUCCESS).records
    success = records[0].event_log_entry.dagster_event
    assert success is not None
    with dg.build_run_status_sensor_context(
        sensor_name="alert_on_slow_run",
        dagster_event=success,
        dagster_instance=instance,
        dagster_run=run,
        resources={"alerts": sink},
    ) as context:
        alert_on_slow_run(context)


def _alerts(warehouse: DuckDBWarehouse) -> dict[str, str]:
    if not warehouse.table_exists("ops", "alerts"):
        return {}
    table = warehouse.read_table("ops", "alerts")
    return dict(zip(table["alert_id"], table["title"], strict=True))


def test_every_materialization_carries_the_bodys_duration(
    instance: dg.DagsterInstance, clock: FakeClock
) -> None:
    """Invariant: `duration_s` is the wrapped body's time, as its clock saw it."""
    _run(instance, clock, 1, 42.5)
    record = instance.fetch_materializations(dg.AssetKey("timed"), limit=1).records[0]
    assert record.asset_materialization is not None
    assert record.asset_materialization.metadata[DURATION_METADATA] == dg.FloatMetadataValue(42.5)


def test_a_slow_run_alerts_once_and_a_normal_run_not_at_all(
    instance: dg.DagsterInstance, clock: FakeClock, warehouse: DuckDBWarehouse
) -> None:
    """Invariant: after a history of normal runs, one far slower run is one latency alert,
    however often the sensor sees it; a normal run after it raises none."""
    sink = AlertSink(warehouse=warehouse)
    for day in range(1, 7):
        _evaluate(instance, _run(instance, clock, day, NORMAL_S + day / 10), sink)
    assert _alerts(warehouse) == {}

    slow = _run(instance, clock, 7, SLOW_S)
    _evaluate(instance, slow, sink)
    _evaluate(instance, slow, sink)  # the same run seen again
    alerts = _alerts(warehouse)
    assert list(alerts) == [f"latency:{slow.run_id}"]
    assert alerts[f"latency:{slow.run_id}"].endswith(": timed")
    details = warehouse.read_table("ops", "alerts")["details"][0]
    assert "200 s against a p95 of 31 s over its last 6 runs of 1 partition(s)" in details

    _evaluate(instance, _run(instance, clock, 8, NORMAL_S), sink)
    assert list(_alerts(warehouse)) == [f"latency:{slow.run_id}"]


def test_without_enough_history_a_slow_run_does_not_alert(
    instance: dg.DagsterInstance, clock: FakeClock, warehouse: DuckDBWarehouse
) -> None:
    """Failure mode: four runs are no baseline (five needed); nothing is flagged yet."""
    sink = AlertSink(warehouse=warehouse)
    for day in range(1, 5):
        _run(instance, clock, day, NORMAL_S)
    _evaluate(instance, _run(instance, clock, 5, SLOW_S), sink)
    assert _alerts(warehouse) == {}


def test_a_slowdown_under_the_floor_does_not_alert(
    instance: dg.DagsterInstance, clock: FakeClock, warehouse: DuckDBWarehouse
) -> None:
    """Failure mode: 3 s -> 10 s is more than twice the p95 but 7 s: not worth a page."""
    sink = AlertSink(warehouse=warehouse)
    for day in range(1, 7):
        _run(instance, clock, day, 3.0)
    _evaluate(instance, _run(instance, clock, 7, 10.0), sink)
    assert _alerts(warehouse) == {}
