"""One :class:`Warehouse` per engine for the contract tests, with what differs between engines.

The ``engine`` fixture (toolkit/conftest.py) hands every contract test a fresh, empty warehouse
of each engine in turn: DuckDB in a file under folders that do not exist yet, PostgreSQL in a
fresh database of the test server. The behaviour is the same by contract; only the spelling
differs: placeholders in raw SQL, type names, the database's own error messages (which the few
tests that see them key by ``engine.name``).
"""

from dataclasses import dataclass
from pathlib import Path

from reliable_assets.toolkit.duckdb_warehouse import DuckDBWarehouse
from reliable_assets.toolkit.postgres_warehouse import PostgresWarehouse
from reliable_assets.toolkit.warehouse import Warehouse

ENGINES = ("duckdb", "postgres")

# Bound-parameter marker of each engine's driver in raw SQL.
_PLACEHOLDERS = {"duckdb": "?", "postgres": "%s"}
# Engine type name of each type the tests write, as table_columns reports it.
_TYPE_NAMES = {
    "duckdb": {
        "bigint": "BIGINT",
        "double": "DOUBLE",
        "text": "VARCHAR",
        "date": "DATE",
        "timestamptz": "TIMESTAMP WITH TIME ZONE",
    },
    "postgres": {
        "bigint": "bigint",
        "double": "double precision",
        "text": "text",
        "date": "date",
        "timestamptz": "timestamp with time zone",
    },
}


@dataclass(frozen=True)
class WarehouseEngine:
    """A fresh, empty warehouse of one engine (``name``: ``duckdb`` or ``postgres``, the test id)."""

    name: str
    warehouse: Warehouse

    def sql(self, text: str) -> str:
        """``text`` written with ``?`` placeholders, in the engine's placeholder style."""
        return text.replace("?", _PLACEHOLDERS[self.name])

    def type_name(self, kind: str) -> str:
        """The engine's name for ``kind``: ``bigint``, ``double``, ``text``, ``date``, ``timestamptz``."""
        return _TYPE_NAMES[self.name][kind]


def duckdb_engine(folder: Path) -> WarehouseEngine:
    # Folders that do not exist yet: the warehouse creates them on first use.
    return WarehouseEngine("duckdb", DuckDBWarehouse(path=str(folder / "nested" / "dir" / "w.duckdb")))


def postgres_engine(database_url: str) -> WarehouseEngine:
    return WarehouseEngine("postgres", PostgresWarehouse(url=database_url))
