"""Issue 11: a warehouse write that meets a transient PostgreSQL fault is run again, whole.

Real PostgreSQL (pg_server.py), the project's WarehouseIOManager in a real Dagster run. The
fault comes from the server itself: a trigger on the target table that, on its first firing
only, raises SQLSTATE 40001 (serialization_failure) or terminates its own backend (what a
failover or an admin's `pg_terminate_backend` does to a connection). The write is one
transaction, so the failed attempt left nothing; the retried one publishes the whole partition,
and the materialization says it took two attempts. A permanent error (a type that does not fit)
is not retried.
"""

import dagster as dg
import pandas as pd
import psycopg2
import pytest

from reliable_assets.toolkit.postgres_warehouse import PostgresWarehouse
from reliable_assets.toolkit.warehouse_io_manager import WRITE_ATTEMPTS_METADATA, WarehouseIOManager
from reliable_assets_tests.pg_server import libpq_url

DAILY = dg.DailyPartitionsDefinition(start_date="2026-01-01")
DAY = "2026-01-02"
ROWS = 500
FAULTS = {
    "serialization_failure": "RAISE EXCEPTION 'injected' USING ERRCODE = 'serialization_failure';",
    "dropped_connection": "PERFORM pg_terminate_backend(pg_backend_pid());",
}


def _rows(day: str, amount: float = 1.0) -> pd.DataFrame:
    return pd.DataFrame({"day": pd.Timestamp(day), "order_id": range(ROWS), "amount": [amount] * ROWS})


def _asset(amount: float) -> dg.AssetsDefinition:
    @dg.asset(key=["warehouse", "faulty_orders"], partitions_def=DAILY, metadata={"partition_expr": "day"})
    def faulty_orders(context: dg.AssetExecutionContext) -> pd.DataFrame:
        return _rows(context.partition_key, amount)

    return faulty_orders


def _fail_the_next_insert_once(url: str, fault: str) -> None:
    """A trigger that injects `fault` into the first insert after it is installed, then never again
    (a sequence counts the firings: `nextval` is not undone by the failing transaction's rollback)."""
    connection = psycopg2.connect(libpq_url(url))
    with connection, connection.cursor() as cursor:
        cursor.execute("CREATE SCHEMA IF NOT EXISTS ops")
        cursor.execute("CREATE SEQUENCE ops.injected_faults")
        cursor.execute(
            f"""
            CREATE FUNCTION ops.inject_fault() RETURNS trigger AS $$
            BEGIN
              IF nextval('ops.injected_faults') = 1 THEN
                {FAULTS[fault]}
              END IF;
              RETURN NULL;
            END $$ LANGUAGE plpgsql
            """
        )
        cursor.execute(
            "CREATE TRIGGER inject_fault AFTER INSERT ON warehouse.faulty_orders"
            " FOR EACH STATEMENT EXECUTE FUNCTION ops.inject_fault()"
        )
    connection.close()


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_a_transient_fault_in_a_write_is_retried_and_the_partition_ends_complete(
    pg_database_url: str, fault: str
) -> None:
    warehouse = PostgresWarehouse(url=pg_database_url)
    resources = {"io_manager": WarehouseIOManager(warehouse=warehouse)}
    assert dg.materialize([_asset(1.0)], partition_key=DAY, resources=resources).success
    _fail_the_next_insert_once(pg_database_url, fault)

    result = dg.materialize([_asset(2.0)], partition_key=DAY, resources=resources)

    assert result.success
    # Fired twice: the failed attempt and the retried one, which passed.
    assert warehouse.query("SELECT last_value FROM ops.injected_faults")["last_value"].tolist() == [2]
    (event,) = result.get_asset_materialization_events()
    assert event.materialization is not None
    assert event.materialization.metadata[WRITE_ATTEMPTS_METADATA].value == 2
    stored = warehouse.query("SELECT amount, count(*) AS n FROM warehouse.faulty_orders GROUP BY amount")
    assert stored.to_dict("records") == [{"amount": 2.0, "n": ROWS}]


def test_a_permanent_write_error_is_not_retried(pg_database_url: str) -> None:
    warehouse = PostgresWarehouse(url=pg_database_url)
    resources = {"io_manager": WarehouseIOManager(warehouse=warehouse)}
    assert dg.materialize([_asset(1.0)], partition_key=DAY, resources=resources).success

    @dg.asset(key=["warehouse", "faulty_orders"], partitions_def=DAILY, metadata={"partition_expr": "day"})
    def faulty_orders() -> pd.DataFrame:  # amount as text: does not fit the table's numeric column
        return _rows(DAY).assign(amount="not a number")

    result = dg.materialize([faulty_orders], partition_key=DAY, resources=resources, raise_on_error=False)
    assert not result.success
    assert not result.filter_events(lambda event: event.event_type == dg.DagsterEventType.STEP_UP_FOR_RETRY)
    stored = warehouse.query("SELECT amount, count(*) AS n FROM warehouse.faulty_orders GROUP BY amount")
    assert stored.to_dict("records") == [{"amount": 1.0, "n": ROWS}]
