"""The PostgreSQL source writer: same rows as the SQLite source, replaced atomically."""

import sqlite3
from contextlib import closing
from pathlib import Path

import pandas as pd

from reliable_assets.simulator.generate import generate
from reliable_assets.simulator.pg_source import PostgresSourceWriter
from reliable_assets.simulator.source_db import SqliteSourceWriter
from reliable_assets.toolkit.content_hash import frame_content_hash
from reliable_assets.toolkit.source_database import SourceDatabase
from reliable_assets_tests.conftest import small_simulation
from reliable_assets_tests.pg_server import pg_database_url, pg_url  # noqa: F401


def test_postgres_source_holds_the_same_rows_as_sqlite_and_rewrites_idempotently(
    pg_database_url: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    """Invariant: for one simulation, the PostgreSQL source's customers and orders read back (through
    the same SourceDatabase resource the extract uses) with the same content as the SQLite source;
    writing again replaces rather than appends."""
    sim = generate(small_simulation(bad_rate=0.1))
    sqlite_path = tmp_path / "source.sqlite"
    SqliteSourceWriter(sqlite_path).write(sim.customers.customers, sim.orders, as_of=0)
    writer = PostgresSourceWriter(pg_database_url.replace("postgresql://", "postgresql+psycopg2://"))
    summary = writer.write(sim.customers.customers, sim.orders, as_of=0)
    writer.write(sim.customers.customers, sim.orders, as_of=0)
    assert "orders" in summary
    assert "@" not in summary
    postgres = SourceDatabase(url=pg_database_url.replace("postgresql://", "postgresql+psycopg2://"))
    for table in ("customers", "orders"):
        with closing(sqlite3.connect(sqlite_path)) as connection:
            expected = pd.read_sql_query(f"SELECT * FROM {table}", connection)
        stored = postgres.query(f"SELECT * FROM {table}")
        assert len(stored) == len(expected) > 0
        assert frame_content_hash(stored) == frame_content_hash(expected)
