"""The deployment switch: `DAGSTER_DEPLOYMENT` picks one set of resources.

Every deployment binds exactly the same resource keys, so an asset never knows where it runs.
Nothing here runs at import time; secrets reach resources only through `dg.EnvVar`.
"""

import os
from collections.abc import Callable, Mapping
from typing import Any

import dagster as dg

from reliable_assets import paths, setting_errors
from reliable_assets.raw.resources import RatesApi
from reliable_assets.toolkit.alerts import AlertSink
from reliable_assets.toolkit.dead_letters import DeadLetterQueue
from reliable_assets.toolkit.duckdb_warehouse import DuckDBWarehouse
from reliable_assets.toolkit.file_io_managers import JsonIOManager, ParquetIOManager
from reliable_assets.toolkit.landing_zone import LocalLandingZone
from reliable_assets.toolkit.source_database import SourceDatabase
from reliable_assets.toolkit.warehouse_io_manager import WarehouseIOManager

DEPLOYMENT_ENV_VAR = "DAGSTER_DEPLOYMENT"
DEFAULT_RATES_API_URL = "http://127.0.0.1:8765"
RATES_RATE_ENV_VAR = "RATES_API_REQUESTS_PER_SECOND"
DEFAULT_RATES_REQUESTS_PER_SECOND = 10.0

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
        "alerts",
    }
)


InvalidSettingError = setting_errors.InvalidSettingError  # where callers have always found it


class UnknownDeploymentError(ValueError):
    """`DAGSTER_DEPLOYMENT` holds a value this project does not know."""


class DeploymentNotReadyError(RuntimeError):
    """The deployment is known but the environment lacks what it needs."""


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
        max_requests_per_second=_requests_per_second(),
    )


def _requests_per_second() -> float:
    """RATES_API_REQUESTS_PER_SECOND: the client's pace, to set below the API's own limit."""
    text = os.environ.get(RATES_RATE_ENV_VAR, "").strip()
    if not text:
        return DEFAULT_RATES_REQUESTS_PER_SECOND
    try:
        rate = float(text)
    except ValueError:
        rate = 0.0
    if not rate > 0:
        raise InvalidSettingError(
            f"{RATES_RATE_ENV_VAR}={text!r} is not a positive number of requests per second;"
            " set it below the rates API's limit (e.g. 4 for an API that allows 5) or unset it"
            f" for the default of {DEFAULT_RATES_REQUESTS_PER_SECOND:g}."
        )
    return rate


def _alerts(warehouse: Any) -> AlertSink:
    """The webhook only when ALERT_WEBHOOK_URL is set (a secret: through EnvVar); else log and table."""
    webhook = dg.EnvVar("ALERT_WEBHOOK_URL") if os.environ.get("ALERT_WEBHOOK_URL") else None
    return AlertSink(warehouse=warehouse, webhook_url=webhook)


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
        "alerts": _alerts(warehouse),
    }


def _optional_env(name: str, default: str) -> str | dg.EnvVar:
    """An EnvVar when the variable is set (resolved at run time), else the default."""
    return dg.EnvVar(name) if os.environ.get(name) else default


def require_environment(deployment: str, *names: str) -> None:
    """Fail at load, naming every missing variable and every name that mixes staging with prod
    (see `deployment_places`), rather than at the first run."""
    # Imported here: the S3 key helpers load botocore, which the embedded default never needs.
    from reliable_assets.deployment_places import separation_problems  # noqa: PLC0415

    problems = []
    missing = [name for name in names if not os.environ.get(name)]
    if missing:
        problems.append(f"needs {', '.join(missing)} in the environment (see README, Deployments)")
    problems += separation_problems(deployment, os.environ)
    if problems:
        problems.append("unset DAGSTER_DEPLOYMENT to run embedded.")
        raise DeploymentNotReadyError(f"DAGSTER_DEPLOYMENT={deployment}: {'; '.join(problems)}")


def prod_resources() -> dict[str, Any]:
    """PostgreSQL warehouse and source, S3 landing zone, raw layer and model files."""
    return _remote_resources("prod")


def staging_resources() -> dict[str, Any]:
    """Prod's parts and code, in `staging_…` databases and under `staging/` in S3."""
    return _remote_resources("staging")


def _remote_resources(deployment: str) -> dict[str, Any]:
    # Imported here, not at the top: dagster_aws, boto3, psycopg2 and pgpq cost every process of
    # the embedded default (code server, run workers) about 0.7 s of imports it never uses.
    from dagster_aws.s3 import S3Resource  # noqa: PLC0415

    from reliable_assets.deployment_places import s3_places  # noqa: PLC0415
    from reliable_assets.toolkit.postgres_warehouse import PostgresWarehouse  # noqa: PLC0415
    from reliable_assets.toolkit.s3_io_managers import S3JsonIOManager, S3ParquetIOManager  # noqa: PLC0415
    from reliable_assets.toolkit.s3_landing_zone import S3LandingZone  # noqa: PLC0415

    require_environment(deployment, "WAREHOUSE_POSTGRES_URL", "SOURCE_DATABASE_URL", "LANDING_S3_BUCKET")
    warehouse = PostgresWarehouse(url=dg.EnvVar("WAREHOUSE_POSTGRES_URL"))
    # boto3 reads the standard AWS_* variables itself, AWS_ENDPOINT_URL included.
    s3 = S3Resource()
    landing_bucket = dg.EnvVar("LANDING_S3_BUCKET")
    raw_bucket = _optional_env("RAW_S3_BUCKET", os.environ["LANDING_S3_BUCKET"])
    places = s3_places(deployment, os.environ)
    return {
        "source_db": SourceDatabase(url=dg.EnvVar("SOURCE_DATABASE_URL")),
        "landing_zone": S3LandingZone(bucket=landing_bucket, prefix=places.landing, s3=s3),
        "rates_api": _rates_api(),
        "warehouse": warehouse,
        "dead_letters": DeadLetterQueue(warehouse=warehouse),
        "raw_io_manager": S3ParquetIOManager(bucket=raw_bucket, prefix=places.raw, s3=s3),
        "model_io_manager": S3JsonIOManager(bucket=raw_bucket, prefix=places.models, s3=s3),
        "warehouse_io_manager": WarehouseIOManager(warehouse=warehouse),
        "alerts": _alerts(warehouse),
    }


_BUILDERS: Mapping[str, Callable[[], dict[str, Any]]] = {
    "local": local_resources,
    "staging": staging_resources,
    "prod": prod_resources,
}


def resources_for(deployment: str | None = None) -> dict[str, Any]:
    """The resource dict of a deployment (the current one by default)."""
    return dict(_BUILDERS[deployment or current_deployment()]())
