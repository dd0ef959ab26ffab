"""Shared fixtures: a simulated world in a temporary data folder, the real rates API server, and
a throwaway Dagster instance."""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
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


@dataclass(frozen=True)
class World:
    data_dir: Path
    instance: dg.DagsterInstance
    baseline: dict[str, str]
    run_ids: tuple[str, ...]


@contextmanager
def simulated_world(folder: Path) -> Iterator[dg.DagsterInstance]:
    """The small simulation in `folder`, the rates API and a throwaway instance, with the
    environment pointing at them: the set-up of module-scoped worlds."""
    with (
        pytest.MonkeyPatch.context() as patch,
        serve_rates_api(port=0) as url,
        dg.instance_for_test() as inst,
    ):
        patch.setenv("RELIABLE_ASSETS_DATA_DIR", str(folder))
        patch.setenv("RATES_API_URL", url)
        patch.delenv("DAGSTER_DEPLOYMENT", raising=False)
        simulate(small_simulation())
        yield inst


@pytest.fixture(scope="module")
def materialized_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """One simulated world with the whole graph materialized once, shared by a module's tests.

    Module-scoped because a graph run costs seconds; tests that share it must leave its content
    as they found it (which is exactly what the idempotency tests assert).
    """
    from reliable_assets.definitions import defs
    from reliable_assets.graph_runs import materialize_graph
    from reliable_assets_tests import graph_state

    folder = tmp_path_factory.mktemp("world") / "data"
    with simulated_world(folder) as inst:
        outcomes = materialize_graph(defs(), inst, SIM_DAY_LIST)
        assert all(o.success for o in outcomes), [o.label for o in outcomes if not o.success]
        yield World(folder, inst, graph_state.state(), tuple(o.run_id for o in outcomes))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The tests of whole deployments (daemon/) first: each takes minutes, mostly waiting on the
    daemon, so under `pytest -n` they start at once and the short tests fill the other workers,
    instead of one of them starting last and running alone."""
    items.sort(key=lambda item: 0 if "/daemon/" in item.nodeid else 1)
