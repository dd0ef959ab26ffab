"""Fixtures for the simulator tests: small simulations in temporary data folders."""

import sqlite3
from contextlib import closing
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from reliable_assets.simulator.config import SimulationConfig
from reliable_assets.simulator.run import SimulationSummary, simulate

# Small enough that every test file runs in a second or two.
SMALL = {"start": date(2024, 1, 1), "days": 3, "orders_per_day": 60, "events_per_day": 150}


def run_in(data_dir: Path, **overrides: object) -> SimulationSummary:
    """Simulate into `data_dir` (through RELIABLE_ASSETS_DATA_DIR, as the CLI does)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RELIABLE_ASSETS_DATA_DIR", str(data_dir))
        return simulate(SimulationConfig(**{**SMALL, **overrides}))  # type: ignore[arg-type]


def query(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(db)) as conn:
        return conn.execute(sql).fetchall()


@pytest.fixture(scope="module")
def bad_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SimulationSummary]:
    """One simulation with bad records and many late files, shared by the read-only tests."""
    data_dir = tmp_path_factory.mktemp("bad_run")
    return data_dir, run_in(data_dir, bad_rate=0.2, late_rate=0.3)
