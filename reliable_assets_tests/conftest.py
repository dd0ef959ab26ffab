"""Shared fixtures: a simulated world in a temporary data folder, the real rates API server, and
a throwaway Dagster instance."""

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import pytest

from reliable_assets.simulator.config import SimulationConfig
from reliable_assets.simulator.rates_api import serve_rates_api
from reliable_assets.simulator.run import simulate

SIM_START = date(2024, 3, 1)
SIM_DAYS = 3
SIM_DAY_LIST = [SIM_START + timedelta(days=offset) for offset in range(SIM_DAYS)]


def small_simulation(bad_rate: float = 0.0) -> SimulationConfig:
    """Small enough to keep every graph run in the suite to a few seconds."""
    return SimulationConfig(
        start=SIM_START, days=SIM_DAYS, orders_per_day=40, events_per_day=300, bad_rate=bad_rate
    )


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "data"
    monkeypatch.setenv("RELIABLE_ASSETS_DATA_DIR", str(folder))
    monkeypatch.delenv("DAGSTER_DEPLOYMENT", raising=False)
    return folder


@pytest.fixture
def rates_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    with serve_rates_api(port=0) as url:
        monkeypatch.setenv("RATES_API_URL", url)
        yield url


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as test_instance:
        yield test_instance


@pytest.fixture
def simulated(data_dir: Path, rates_api: str) -> Path:
    """A clean 3-day world: source database, landing files, rates API."""
    simulate(small_simulation())
    return data_dir
