"""`DAGSTER_DEPLOYMENT=staging`: prod's parts under staging's own names, fed with pseudonyms.

The whole graph runs against the real PostgreSQL and a real S3 API (moto's server), and the
tests look everywhere staging wrote for the real names and emails the same simulation holds.
"""

import dataclasses
import io
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from reliable_assets import settings
from reliable_assets.cli import main
from reliable_assets.definitions import defs
from reliable_assets.graph_runs import materialize_graph
from reliable_assets.simulator.config import SimulationConfig
from reliable_assets.simulator.customers import Customer
from reliable_assets.simulator.generate import generate
from reliable_assets.simulator.run import simulate
from reliable_assets.simulator.targets import writers_for_deployment
from reliable_assets.toolkit.postgres_warehouse import PostgresWarehouse
from reliable_assets_tests.conftest import SIM_DAY_LIST, small_simulation
from reliable_assets_tests.pg_server import create_database, drop_database, pg_url, with_database
from reliable_assets_tests.s3_server import S3Bucket, s3_bucket_fixture, s3_endpoint_fixture

__all__ = ["pg_url", "s3_bucket_fixture", "s3_endpoint_fixture"]  # fixtures used by name

PSEUDONYM_EMAIL = re.compile(r"user-[0-9a-f]{16}@example\.invalid")
PSEUDONYM_NAME = re.compile(r"Customer [0-9a-f]{16}")
SIMULATE_ARGS = ["simulate", "--start", "2024-03-01", "--days", "1", "--orders-per-day", "5"]


@dataclass(frozen=True)
class Staging:
    warehouse_url: str
    source_url: str
    bucket: S3Bucket


@pytest.fixture
def staging(pg_url: str, s3: S3Bucket, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Staging]:
    warehouse_db = create_database(pg_url, prefix="staging_warehouse_")
    source_db = create_database(pg_url, prefix="staging_source_")
    monkeypatch.setenv("DAGSTER_DEPLOYMENT", "staging")
    monkeypatch.setenv("WAREHOUSE_POSTGRES_URL", with_database(pg_url, warehouse_db))
    monkeypatch.setenv("SOURCE_DATABASE_URL", with_database(pg_url, source_db))
    monkeypatch.setenv("LANDING_S3_BUCKET", s3.name)
    monkeypatch.delenv("LANDING_S3_PREFIX", raising=False)
    monkeypatch.delenv("RAW_S3_BUCKET", raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3.endpoint)
    monkeypatch.setenv("RELIABLE_ASSETS_DATA_DIR", str(tmp_path / "data"))
    # A fresh random key per test: no secret in the code, and none that outlives the test.
    monkeypatch.setenv("STAGING_PSEUDONYM_KEY", secrets.token_hex(32))
    try:
        yield Staging(with_database(pg_url, warehouse_db), with_database(pg_url, source_db), s3)
    finally:
        drop_database(pg_url, warehouse_db)
        drop_database(pg_url, source_db)


def _real_customers(config: SimulationConfig) -> dict[int, Customer]:
    """The customers the same simulation holds without pseudonyms (what prod would receive)."""
    return {c.customer_id: c for c in generate(config).customers.customers}


def _source_customers(staging: Staging) -> pd.DataFrame:
    customers = PostgresWarehouse(url=staging.source_url).read_table("public", "customers")
    return customers.set_index("customer_id")


def _database_text(url: str) -> dict[str, str]:
    """Every table of the database, audit columns included, as CSV text."""
    database = PostgresWarehouse(url=url)
    return {
        f"{schema}.{table}": database.read_table(schema, table, include_audit=True).to_csv()
        for schema, table in database.list_tables()
    }


def _bucket_text(bucket: S3Bucket) -> dict[str, str]:
    """Every object in the bucket as text: Parquet decoded (its pages are compressed), the rest as is."""
    texts = {}
    for key in bucket.list_keys():
        body = bucket.client.get_object(Bucket=bucket.name, Key=key)["Body"].read()
        texts[key] = pd.read_parquet(io.BytesIO(body)).to_csv() if key.endswith(".parquet") else body.decode()
    return texts


def _leaks(texts: dict[str, str], real_values: set[str]) -> dict[str, list[str]]:
    found = {where: sorted(v for v in real_values if v in text) for where, text in texts.items()}
    return {where: values for where, values in found.items() if values}


def test_staging_graph_holds_pseudonyms_only_and_writes_under_staging_names_alone(
    staging: Staging, rates_api: str
) -> None:
    """Staging runs the whole graph on PostgreSQL and S3 from a pseudonymized simulation: no real
    name or email reaches its source, warehouse or bucket; the pseudonyms are valid, stable across
    runs and across days, and everything in the bucket is under staging/ (prod's prefixes stay
    empty)."""
    config = small_simulation()
    real = _real_customers(config)
    real_values = {c.name for c in real.values()} | {c.email for c in real.values()}

    simulate(config, *writers_for_deployment())
    first = _source_customers(staging)
    assert sorted(first.index) == sorted(real)
    assert all(PSEUDONYM_EMAIL.fullmatch(email) for email in first["email"]), first["email"].head()
    assert all(PSEUDONYM_NAME.fullmatch(name) for name in first["name"]), first["name"].head()

    # Across days: a later window of the same feed gives each real value the pseudonym it had.
    later = dataclasses.replace(config, start=config.start + timedelta(days=1), days=config.days + 1)
    simulate(later, *writers_for_deployment())
    later_rows, later_real = _source_customers(staging), _real_customers(later)
    pseudonym_of = {real[i].email: first.at[i, "email"] for i in first.index}
    pseudonym_of |= {real[i].name: first.at[i, "name"] for i in first.index}
    shared = {later_real[i].email: later_rows.at[i, "email"] for i in later_rows.index}
    shared |= {later_real[i].name: later_rows.at[i, "name"] for i in later_rows.index}
    overlap = pseudonym_of.keys() & shared.keys()
    assert len(overlap) > 10
    assert {value: shared[value] for value in overlap} == {value: pseudonym_of[value] for value in overlap}

    # Across runs: the same arguments again give the very same pseudonymized rows.
    simulate(config, *writers_for_deployment())
    pd.testing.assert_frame_equal(_source_customers(staging), first)

    with dg.instance_for_test() as instance:
        outcomes = materialize_graph(defs(), instance, SIM_DAY_LIST)
    assert all(o.success for o in outcomes), [o.label for o in outcomes if not o.success]

    warehouse, source, bucket = (
        _database_text(staging.warehouse_url),
        _database_text(staging.source_url),
        _bucket_text(staging.bucket),
    )
    assert _leaks(warehouse, real_values) == {}
    assert _leaks(source, real_values) == {}
    assert _leaks(bucket, real_values) == {}
    # The scan looked where the customers are: the pseudonyms reached the warehouse and S3.
    dim = PostgresWarehouse(url=staging.warehouse_url).read_table("warehouse", "dim_customers")
    assert set(dim["email"]) == set(first["email"])
    assert any(key.startswith("staging/raw/customers") for key in bucket)
    assert any(first["email"].iloc[0] in text for key, text in bucket.items() if "customers" in key)

    assert [key for key in bucket if not key.startswith("staging/")] == []
    for place in ("staging/events/", "staging/raw/events/", "staging/raw/orders/", "staging/models/ml/"):
        assert any(key.startswith(place) for key in bucket), place


def test_staging_binds_the_same_resource_keys_as_prod(staging: Staging) -> None:
    """Same code, same resource keys: staging differs from prod only in where it writes."""
    assert set(settings.resources_for("staging")) == settings.RESOURCE_KEYS


@pytest.mark.parametrize("variable", ["WAREHOUSE_POSTGRES_URL", "SOURCE_DATABASE_URL"])
def test_staging_pointed_at_a_prod_database_fails_at_load_naming_it(
    staging: Staging, variable: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A staging environment that names prod's database (any name without `staging_`) fails when
    the code location loads, names the variable and the rule, and never echoes the password."""
    monkeypatch.setenv(variable, "postgresql://etl:s3cr3t-pw@db.internal:5432/warehouse")
    with pytest.raises(settings.DeploymentNotReadyError) as raised:
        defs()
    message = str(raised.value)
    assert f"{variable} points at database 'warehouse'" in message
    assert "must start with 'staging_'" in message
    assert "s3cr3t-pw" not in message


def test_simulate_into_a_prod_source_from_staging_is_refused_and_writes_nothing(
    staging: Staging, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`simulate` replaces the whole source database: from staging it refuses a database not named
    `staging_…` (exit 2, the reason on stderr) before writing anything anywhere."""
    monkeypatch.setenv("SOURCE_DATABASE_URL", "postgresql://etl@db.internal/shop")
    assert main(SIMULATE_ARGS) == 2
    assert "SOURCE_DATABASE_URL points at database 'shop'" in capsys.readouterr().err
    assert staging.bucket.list_keys() == []


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        (None, "STAGING_PSEUDONYM_KEY is not set"),
        ("short-key", "STAGING_PSEUDONYM_KEY: the pseudonym key has 9 characters, fewer than 32"),
    ],
)
def test_simulate_in_staging_without_a_usable_key_refuses_and_writes_nothing(
    staging: Staging,
    key: str | None,
    expected: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """No key, no data: staging never receives real names because a secret was forgotten, and a
    bad key is not printed back."""
    if key is None:
        monkeypatch.delenv("STAGING_PSEUDONYM_KEY")
    else:
        monkeypatch.setenv("STAGING_PSEUDONYM_KEY", key)
    assert main(SIMULATE_ARGS) == 2
    err = capsys.readouterr().err
    assert expected in err
    assert key is None or key not in err
    assert staging.bucket.list_keys() == []
    assert PostgresWarehouse(url=staging.source_url).list_tables() == []


def test_prod_pointed_at_staging_names_fails_at_load(
    staging: Staging, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The separation holds both ways: prod refuses a `staging_…` database and a landing prefix
    under staging/, where the pseudonymized copy lives."""
    monkeypatch.setenv("DAGSTER_DEPLOYMENT", "prod")
    monkeypatch.setenv("LANDING_S3_PREFIX", "staging/landing")
    with pytest.raises(settings.DeploymentNotReadyError) as raised:
        defs()
    message = str(raised.value)
    assert "WAREHOUSE_POSTGRES_URL points at database 'staging_warehouse_" in message
    assert "SOURCE_DATABASE_URL points at database 'staging_source_" in message
    assert "LANDING_S3_PREFIX is under staging/" in message
