"""Where the embedded (`local`) deployment keeps its files.

Read from the environment when called, never at import, so tests can point each run at a
temporary folder with `RELIABLE_ASSETS_DATA_DIR`.
"""

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def data_dir() -> Path:
    """`RELIABLE_ASSETS_DATA_DIR`, default `.data/` in the project root."""
    configured = os.environ.get("RELIABLE_ASSETS_DATA_DIR")
    return Path(configured).expanduser().resolve() if configured else PROJECT_ROOT / ".data"


def source_db_path() -> Path:
    """The SQLite source database (customers, orders) the simulator writes."""
    return data_dir() / "source.sqlite"


def landing_dir() -> Path:
    """The landing zone: hourly JSON-lines event files under `events/<day>/`."""
    return data_dir() / "landing"


def raw_dir() -> Path:
    """The raw layer and model files: one file per partition."""
    return data_dir() / "lake"


def warehouse_path() -> Path:
    """The DuckDB warehouse file."""
    # Not "warehouse.duckdb": DuckDB names the catalog after the file, and a catalog "warehouse"
    # would clash with the schema "warehouse".
    return data_dir() / "dwh.duckdb"
