"""`DAGSTER_DEPLOYMENT=prod`: the whole graph on PostgreSQL and a real S3 API, twice, same content."""

import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from reliable_assets import settings
from reliable_assets.definitions import defs
from reliable_assets.graph_runs import materialize_graph
from reliable_assets.simulator.run import simulate
from reliable_assets.simulator.targets import writers_for_deployment
from reliable_assets.toolkit.content_hash import frame_content_hash
from reliable_assets.toolkit.postgres_warehouse import PostgresWarehouse
from reliable_assets_tests.conftest import SIM_DAY_LIST, small_simulation
from reliable_assets_tests.pg_server import create_database, drop_database, pg_url, with_database
from reliable_assets_tests.s3_server import S3Bucket, s3_bucket_fixture, s3_endpoint_fixture

__all__ = ["pg_url", "s3_bucket_fixture", "s3_endpoint_fixture"]  # fixtures used by name


@dataclass(frozen=True)
class Prod:
    warehouse_url: str
    bucket: S3Bucket
    data_dir: Path


@pytest.fixture
def prod(pg_url: str, s3: S3Bucket, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Prod]:
    warehouse_db, source_db = create_database(pg_url), create_database(pg_url)
    data_dir = tmp_path / "data"
    monkeypatch.setenv("DAGSTER_DEPLOYMENT", "prod")
    monkeypatch.setenv("WAREHOUSE_POSTGRES_URL", with_database(pg_url, warehouse_db))
    monkeypatch.setenv("SOURCE_DATABASE_URL", with_database(pg_url, source_db))
    monkeypatch.setenv("LANDING_S3_BUCKET", s3.name)
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3.endpoint)
    monkeypatch.setenv("RELIABLE_ASSETS_DATA_DIR", str(data_dir))
    try:
        yield Prod(with_database(pg_url, warehouse_db), s3, data_dir)
    finally:
        drop_database(pg_url, warehouse_db)
        drop_database(pg_url, source_db)


def _state(prod: Prod) -> dict[str, str]:
    """Content hash of every warehouse table and of every raw/model object in the bucket."""
    warehouse = PostgresWarehouse(url=prod.warehouse_url)
    state = {f"{s}.{t}": warehouse.table_content_hash(s, t) for s, t in warehouse.list_tables()}
    for key in prod.bucket.list_keys():
        if key.startswith("raw/") and key.endswith(".parquet"):
            body = prod.bucket.client.get_object(Bucket=prod.bucket.name, Key=key)["Body"].read()
            state[key] = frame_content_hash(pd.read_parquet(io.BytesIO(body)))
        elif key.startswith("models/"):
            state[key] = prod.bucket.client.get_object(Bucket=prod.bucket.name, Key=key)["ETag"]
    return state


def _local_files(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")} if folder.exists() else set()


def test_prod_graph_twice_on_postgres_and_s3_leaves_identical_content(prod: Prod, rates_api: str) -> None:
    """Guarantee 1 in prod: every asset materializes against PostgreSQL and S3, twice, with identical
    content, and the materializations write nothing to the local data folder."""
    simulate(small_simulation(), *writers_for_deployment())
    local_before = _local_files(prod.data_dir)
    assert any(key.startswith("events/") for key in prod.bucket.list_keys())

    with dg.instance_for_test() as instance:
        first = materialize_graph(defs(), instance, SIM_DAY_LIST)
        assert all(o.success for o in first), [o.label for o in first if not o.success]
        state = _state(prod)
        second = materialize_graph(defs(), instance, SIM_DAY_LIST)
        assert all(o.success for o in second)
    assert _state(prod) == state
    assert {"warehouse.fact_orders", "warehouse.daily_revenue", "ml.model_registry", "ops.sla_report"} <= set(
        state
    )
    assert any(key.startswith("raw/events/") for key in state)
    assert any(key.startswith("models/ml/segment_models/") for key in state)
    assert _local_files(prod.data_dir) == local_before


def test_prod_binds_the_same_resource_keys_as_local(prod: Prod) -> None:
    """One asset graph, two deployments: both bind exactly the contract's resource keys."""
    assert (
        set(settings.resources_for("prod")) == set(settings.resources_for("local")) == settings.RESOURCE_KEYS
    )


def test_prod_without_its_environment_fails_at_load_naming_what_is_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A production deployment missing its URLs fails when the code location loads, naming them."""
    monkeypatch.setenv("DAGSTER_DEPLOYMENT", "prod")
    for name in ("WAREHOUSE_POSTGRES_URL", "SOURCE_DATABASE_URL", "LANDING_S3_BUCKET"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(settings.DeploymentNotReadyError, match="WAREHOUSE_POSTGRES_URL, SOURCE_DATABASE_URL"):
        defs()
