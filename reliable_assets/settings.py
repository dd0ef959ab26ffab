"""The deployment switch: `DAGSTER_DEPLOYMENT` picks one set of resources.

Both deployments bind exactly the same resource keys, so an asset never knows where it runs.
Nothing here runs at import time; secrets reach resources only through `dg.EnvVar`.
"""

import os
from collections.abc import Callable, Mapping
from typing import Any

import dagster as dg

from reliable_assets import paths
from reliable_assets.raw.resources import RatesApi
from reliable_assets.toolkit.dead_letters import DeadLetterQueue
from reliable_assets.toolkit.duckdb_warehouse import DuckDBWarehouse
from reliable_assets.toolkit.file_io_managers import JsonIOManager, ParquetIOManager
from reliable_assets.toolkit.landing_zone import LocalLandingZone
from reliable_assets.toolkit.source_database import SourceDatabase
from reliable_assets.toolkit.warehouse_io_manager import WarehouseIOManager

DEPLOYMENT_ENV_VAR = "DAGSTER_DEPLOYMENT"
DEFAULT_RATES_API_URL = "http://127.0.0.1:8765"

RESOURCE_KEYS = frozenset(
    {
        "source_db",
        "landing_zone",
        "rates_api",
        "warehouse",
        "dead_letters",
        "raw_io_manager",
        "model_io_manager",
        "warehouse_io_manager",
    }
)


class UnknownDeploymentError(ValueError):
    """`DAGSTER_DEPLOYMENT` holds a value this project does not know."""


class DeploymentNotReadyError(RuntimeError):
    """The deployment is known but its components are not built yet."""


def current_deployment() -> str:
    """`local` unless `DAGSTER_DEPLOYMENT` says otherwise; any unknown value fails loudly."""
    deployment = os.environ.get(DEPLOYMENT_ENV_VAR, "local").strip() or "local"
    if deployment not in _BUILDERS:
        raise UnknownDeploymentError(
            f"{DEPLOYMENT_ENV_VAR}={deployment!r} is not a deployment of this project; "
            f"use one of {sorted(_BUILDERS)} (unset means 'local')."
        )
    return deployment


def _rates_api() -> RatesApi:
    url = os.environ.get("RATES_API_URL")
    return RatesApi(
        base_url=dg.EnvVar("RATES_API_URL") if url else DEFAULT_RATES_API_URL,
        token=dg.EnvVar("RATES_API_TOKEN") if os.environ.get("RATES_API_TOKEN") else None,
    )


def local_resources() -> dict[str, Any]:
    """The embedded default: SQLite source, landing folder, Parquet files, DuckDB warehouse."""
    warehouse = DuckDBWarehouse(path=str(paths.warehouse_path()))
    return {
        "source_db": SourceDatabase(url=f"sqlite:///{paths.source_db_path()}"),
        "landing_zone": LocalLandingZone(root=str(paths.landing_dir())),
        "rates_api": _rates_api(),
        "warehouse": warehouse,
        "dead_letters": DeadLetterQueue(warehouse=warehouse),
        "raw_io_manager": ParquetIOManager(base_dir=str(paths.raw_dir())),
        "model_io_manager": JsonIOManager(base_dir=str(paths.raw_dir())),
        "warehouse_io_manager": WarehouseIOManager(warehouse=warehouse),
    }


def prod_resources() -> dict[str, Any]:
    """PostgreSQL warehouse and source, S3 landing zone and raw layer."""
    raise DeploymentNotReadyError(
        "DAGSTER_DEPLOYMENT=prod needs the PostgreSQL warehouse IO manager and the S3 landing "
        "zone, which are not built yet; use DAGSTER_DEPLOYMENT=local (the default) for now."
    )


_BUILDERS: Mapping[str, Callable[[], dict[str, Any]]] = {"local": local_resources, "prod": prod_resources}


def resources_for(deployment: str | None = None) -> dict[str, Any]:
    """The resource dict of a deployment (the current one by default)."""
    return dict(_BUILDERS[deployment or current_deployment()]())
