"""Issue 10: the graph runs by itself day by day, and late data reaches every affected partition.

A 3-day world is driven one day at a time by the project's own automation (the source crons,
follow_upstream, the landing-zone and order-changes sensors), evaluated with Dagster's public test
APIs at 00:30 UTC after each day (reliable_assets_tests/automation_driver.py). Each day's landing
folder appears on its day, and one file of day 1 is held back until after day 3: a late file.
"""

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from reliable_assets.simulator.rates_api import serve_rates_api
from reliable_assets.simulator.run import simulate
from reliable_assets.toolkit.content_hash import content_columns
from reliable_assets.warehouse.features import daily_revenue, order_history, user_features
from reliable_assets_tests import graph_state
from reliable_assets_tests.automation_driver import AutomationDriver, DrivenRun
from reliable_assets_tests.conftest import SIM_DAY_LIST, simulated_world, small_simulation

DATA_SENSORS = ("landing_zone_sensor", "order_changes_sensor")
LATE_DAY = SIM_DAY_LIST[0]


@dataclass(frozen=True)
class DrivenWorld:
    data_dir: Path
    runs: list[DrivenRun]
    late_runs: list[DrivenRun]
    before_late_file: dict[str, pd.DataFrame]


def _morning_after(day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), time(0, 30), tzinfo=UTC)


def _day_tables() -> dict[str, pd.DataFrame]:
    """Every table a day of the late file feeds, content columns only, in a stable order."""
    wh = graph_state.warehouse()
    tables = {
        "daily_events": ("warehouse", "daily_events", "event_date"),
        "user_features": ("warehouse", "user_features", "feature_date"),
        "segment_model_metrics": ("ml", "segment_model_metrics", "model_date"),
        "model_registry": ("ml", "model_registry", "model_date"),
        "daily_revenue": ("warehouse", "daily_revenue", "revenue_date"),
    }
    out = {}
    for name, (schema, table, day_column) in tables.items():
        frame = wh.read_table(schema, table)
        frame = frame.loc[pd.to_datetime(frame[day_column]) == pd.Timestamp(LATE_DAY), content_columns(frame)]
        out[name] = frame.sort_values(list(frame.columns)).reset_index(drop=True)
    return out


@pytest.fixture(scope="module")
def driven_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DrivenWorld]:
    from reliable_assets.definitions import defs

    folder = tmp_path_factory.mktemp("driven") / "data"
    held = tmp_path_factory.mktemp("held")
    with simulated_world(folder) as inst:
        landing = folder / "landing" / "events"
        for day in SIM_DAY_LIST:  # nothing has landed yet
            shutil.move(landing / day.isoformat(), held / day.isoformat())
        late_file = sorted((held / LATE_DAY.isoformat()).iterdir())[-1]
        late_file.rename(held / late_file.name)
        driver = AutomationDriver(defs(), inst, DATA_SENSORS)
        # The deployment is up before the first day closes: its first evaluation is the baseline
        # that later cron ticks are measured from, as for the automation sensor of a daemon.
        assert not driver.settle(_morning_after(LATE_DAY) - timedelta(hours=2))
        for day in SIM_DAY_LIST:
            shutil.move(held / day.isoformat(), landing / day.isoformat())
            driver.settle(_morning_after(day))
        runs = list(driver.runs)
        before = _day_tables()
        shutil.move(held / late_file.name, landing / LATE_DAY.isoformat() / late_file.name)
        late_runs = driver.settle(_morning_after(SIM_DAY_LIST[-1]) + timedelta(hours=2))
        yield DrivenWorld(folder, runs, late_runs, before)


def test_day_by_day_revenue_and_features_equal_a_recomputation_from_the_final_orders(
    driven_world: DrivenWorld,
) -> None:
    """Orders updated after their order day change earlier days' revenue: the order-changes sensor
    re-runs those days, so every (day, country) equals a recomputation from the final fact_orders,
    and every day's features equal a recomputation from the final tables."""
    wh = graph_state.warehouse()
    orders = wh.read_table("warehouse", "fact_orders")
    customers = wh.read_table("warehouse", "dim_customers")
    events = wh.read_table("warehouse", "daily_events")
    assert (orders["order_date"] < orders["extract_date"]).any(), "the world must have late order updates"

    published = wh.read_table("warehouse", "daily_revenue")
    expected = daily_revenue(orders, customers)
    columns = list(expected.columns)
    pd.testing.assert_frame_equal(
        published[columns].sort_values(columns[:2]).reset_index(drop=True),
        expected.sort_values(columns[:2]).reset_index(drop=True),
        check_dtype=False,
    )
    features = wh.read_table("warehouse", "user_features")
    for day in SIM_DAY_LIST:
        expected_day = user_features(day, events, customers, order_history(orders))
        got = features.loc[features["feature_date"] == pd.Timestamp(day), list(expected_day.columns)]
        pd.testing.assert_frame_equal(
            got.sort_values("user_id").reset_index(drop=True), expected_day, check_dtype=False
        )
    # The scenario exercises the fix: revenue of an earlier day was re-run because of a later load.
    revenue_reruns = [
        r
        for r in driven_world.runs
        if r.requested_by == "order_changes_sensor" and "warehouse/daily_revenue" in r.assets
    ]
    assert revenue_reruns
    # Every asset of the graph ran for every day without anything launched by hand.
    done = {(asset, r.partitions) for r in driven_world.runs for asset in r.assets}
    for day in SIM_DAY_LIST:
        for asset in ("raw/orders", "raw/fx_rates", "raw/events", "ml/model_registry", "ml/segment_models"):
            assert any(a == asset and p and day.isoformat() in p for a, p in done), (asset, day)


def test_a_late_landing_file_ends_as_if_it_had_landed_on_time(
    driven_world: DrivenWorld, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The late file of day 1 re-runs raw/events of day 1 and everything downstream of that day:
    its tables end equal to a clean run's that had the file from the start."""
    from reliable_assets.definitions import defs
    from reliable_assets.graph_runs import materialize_graph

    late_assets = {asset for run in driven_world.late_runs for asset in run.assets}
    assert {"raw/events", "warehouse/daily_events", "warehouse/user_features"} <= late_assets
    assert {"ml/segment_models", "ml/model_registry"} <= late_assets
    monkeypatch.setenv("RELIABLE_ASSETS_DATA_DIR", str(driven_world.data_dir))
    late = _day_tables()
    assert not late["daily_events"].equals(driven_world.before_late_file["daily_events"])

    monkeypatch.setenv("RELIABLE_ASSETS_DATA_DIR", str(tmp_path / "clean"))
    with serve_rates_api(port=0) as url, dg.instance_for_test() as inst:
        monkeypatch.setenv("RATES_API_URL", url)
        simulate(small_simulation())
        assert all(o.success for o in materialize_graph(defs(), inst, SIM_DAY_LIST, log_level="WARNING"))
        clean = _day_tables()
    for name, frame in clean.items():
        pd.testing.assert_frame_equal(late[name], frame, check_dtype=False, obj=name)
