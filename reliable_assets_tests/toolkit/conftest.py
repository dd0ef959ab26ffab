"""Fixtures for the toolkit tests: a fresh warehouse of each engine for the contract tests.

The PostgreSQL fixtures are imported here, once for the whole folder: a session fixture imported
into several test modules would start one server per module.
"""

from pathlib import Path

import pytest

from reliable_assets_tests.pg_server import pg_database_url, pg_url  # noqa: F401
from reliable_assets_tests.toolkit.warehouse_engines import (
    ENGINES,
    WarehouseEngine,
    duckdb_engine,
    postgres_engine,
)


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> WarehouseEngine:
    """An empty warehouse of each engine (test ids ``[duckdb]`` and ``[postgres]``)."""
    if request.param == "duckdb":
        return duckdb_engine(tmp_path)
    # Asked for here, not in the signature: the DuckDB variants never start a PostgreSQL server.
    return postgres_engine(request.getfixturevalue("pg_database_url"))
