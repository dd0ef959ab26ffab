"""What only PostgresWarehouse does; the Warehouse contract it shares with DuckDB is pinned in
test_warehouse_contract.py, and its crashes and concurrent writers in
test_postgres_crash_and_concurrency.py. (``pg_database_url`` comes from toolkit/conftest.py.)"""

import pandas as pd
import pytest

from reliable_assets.toolkit.postgres_warehouse import PostgresWarehouse


def test_sqlalchemy_style_url_reaches_the_same_database(pg_database_url: str) -> None:
    """Invariant: ``postgresql+psycopg2://`` (SQLAlchemy's spelling) and ``postgresql://`` name the
    same database."""
    sqlalchemy_url = pg_database_url.replace("postgresql://", "postgresql+psycopg2://", 1)
    assert sqlalchemy_url != pg_database_url
    PostgresWarehouse(url=sqlalchemy_url).replace_partition("s", "t", pd.DataFrame({"k": [1, 2]}), None)
    assert PostgresWarehouse(url=pg_database_url).read_table("s", "t")["k"].tolist() == [1, 2]


def test_url_scheme_is_checked_without_echoing_the_password() -> None:
    """Invariant: a URL with a foreign scheme is refused naming the scheme only, never the secret."""
    warehouse = PostgresWarehouse(url="mysql://user:s3cret@host/db")
    with pytest.raises(ValueError, match="mysql") as raised:
        warehouse.list_tables()
    assert "s3cret" not in str(raised.value)
