"""What a test compares between runs: content hashes of every table and raw file."""

import json
from pathlib import Path

import pandas as pd
import pytest

from reliable_assets import paths
from reliable_assets.toolkit.content_hash import frame_content_hash
from reliable_assets.toolkit.duckdb_warehouse import DuckDBWarehouse


def warehouse() -> DuckDBWarehouse:
    return DuckDBWarehouse(path=str(paths.warehouse_path()))


def table_hashes() -> dict[str, str]:
    """Content hash (audit columns left out) of every warehouse table."""
    wh = warehouse()
    return {f"{schema}.{table}": wh.table_content_hash(schema, table) for schema, table in wh.list_tables()}


def lake_hashes() -> dict[str, str]:
    """Content hash of every raw Parquet file and model file."""
    hashes = {}
    for path in sorted(Path(paths.raw_dir()).rglob("*")):
        if path.suffix == ".parquet":
            hashes[str(path.relative_to(paths.raw_dir()))] = frame_content_hash(pd.read_parquet(path))
        elif path.suffix == ".json":
            hashes[str(path.relative_to(paths.raw_dir()))] = json.dumps(
                json.loads(path.read_text()), sort_keys=True
            )
    return hashes


def state() -> dict[str, str]:
    return {**table_hashes(), **lake_hashes()}


def state_of(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """`state()` of the world whose data folder is `data_dir` (the environment is pointed there)."""
    monkeypatch.setenv("RELIABLE_ASSETS_DATA_DIR", str(data_dir))
    return state()
