"""Read-only access to an operational source database, by SQLAlchemy URL.

The same resource serves the embedded SQLite file (`local`) and PostgreSQL (`prod`): queries use
named bind parameters (`:name`), which SQLAlchemy renders for either driver, so values never
become SQL text.
"""

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
import sqlalchemy as sa
from pydantic import Field


class SourceDatabaseMissingError(RuntimeError):
    """The configured source database does not exist yet."""


class SourceDatabase(dg.ConfigurableResource):
    """An operational database the pipeline extracts from, never writes to."""

    url: str = Field(description="SQLAlchemy URL: sqlite:///path/to/file or postgresql+psycopg2://...")

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
        """Run one SELECT with bound parameters and return its rows as a frame."""
        engine = sa.create_engine(self._read_only_url())
        try:
            with engine.connect() as connection:
                return pd.read_sql_query(sa.text(sql), connection, params=dict(params or {}))
        finally:
            engine.dispose()

    def _read_only_url(self) -> str:
        """SQLite opens read-only (a missing file fails, not created empty); PostgreSQL via psycopg2."""
        url = sa.make_url(self.url)
        if url.drivername == "postgresql":
            # SQLAlchemy 2.1 defaults to psycopg 3; the driver installed here is psycopg2.
            return url.set(drivername="postgresql+psycopg2").render_as_string(hide_password=False)
        if url.get_backend_name() != "sqlite" or not url.database:
            return self.url
        path = Path(url.database)
        if not path.exists():
            raise SourceDatabaseMissingError(
                f"Source database {path} does not exist. Create it with "
                "`reliable-assets simulate --start YYYY-MM-DD --days N` (or point the deployment "
                "at the real source)."
            )
        return f"sqlite:///file:{path.as_posix()}?mode=ro&uri=true"
