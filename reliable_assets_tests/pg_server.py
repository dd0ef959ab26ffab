"""A real PostgreSQL for the tests: ``RELIABLE_ASSETS_TEST_PG_URL`` if set, else a throwaway server.

The throwaway server is PostgreSQL 16 from the ``pgserver`` wheel, started once per pytest
process (each xdist worker gets its own, in its own temp dir) and stopped at the end. Every test
gets a fresh database of its own (``pg_database_url``), so tests never see each other's tables.

Import the fixtures into a test module: ``from reliable_assets_tests.pg_server import pg_url,
pg_database_url  # noqa: F401``.
"""

import itertools
import os
import shutil
import tempfile
from collections.abc import Iterator

import psycopg2
import pytest
import sqlalchemy as sa

TEST_PG_URL_ENV_VAR = "RELIABLE_ASSETS_TEST_PG_URL"
_DATABASE_NUMBERS = itertools.count()


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """``postgresql://`` URL of a server the tests may create and drop databases on."""
    given = os.environ.get(TEST_PG_URL_ENV_VAR)
    if given:
        yield given
        return
    import pgserver

    # Not under pytest's basetemp: a concurrent pytest session of the same user prunes old
    # basetemp dirs, which would delete the data directory under a running server. Short path:
    # the server's Unix socket lives there (107-byte limit).
    folder = tempfile.mkdtemp(prefix="ra-pg-")
    server = pgserver.get_server(folder, cleanup_mode="stop")  # type: ignore[attr-defined]
    try:
        yield server.get_uri()
    finally:
        server.cleanup()
        shutil.rmtree(folder, ignore_errors=True)


def libpq_url(url: str) -> str:
    """The URL psycopg2 takes (no ``+psycopg2`` driver suffix)."""
    return url.replace("postgresql+psycopg2://", "postgresql://", 1)


def with_database(url: str, database: str, driver: str = "postgresql") -> str:
    """``url`` pointing at ``database`` instead (scheme ``driver``, e.g. ``postgresql+psycopg2``)."""
    parsed = sa.make_url(libpq_url(url)).set(drivername=driver, database=database)
    return parsed.render_as_string(hide_password=False)


def create_database(url: str, prefix: str = "t_") -> str:
    """A new empty database on ``url``'s server, named ``<prefix><pid>_<n>``; returns its name."""
    name = f"{prefix}{os.getpid()}_{next(_DATABASE_NUMBERS)}"
    connection = psycopg2.connect(libpq_url(url))
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
    finally:
        connection.close()
    return name


def drop_database(url: str, name: str) -> None:
    connection = psycopg2.connect(libpq_url(url))
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        connection.close()


@pytest.fixture
def pg_database_url(pg_url: str) -> Iterator[str]:
    """``postgresql://`` URL of a fresh, empty database, dropped after the test."""
    name = create_database(pg_url)
    try:
        yield with_database(pg_url, name)
    finally:
        drop_database(pg_url, name)
