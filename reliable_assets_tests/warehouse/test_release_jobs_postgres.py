"""`promote_daily_revenue` and `rollback_daily_revenue` on a real PostgreSQL warehouse (prod's engine).

The revenue tables are written through the warehouse's own partition overwrite, as the assets
write them; the jobs then run against that database alone.
"""

from datetime import datetime, timedelta
from typing import Any

import dagster as dg
import pandas as pd
import pytest

from reliable_assets.toolkit.partition_filter import PartitionFilter
from reliable_assets.toolkit.postgres_warehouse import PostgresWarehouse
from reliable_assets.warehouse.features import REVENUE_COLUMNS
from reliable_assets.warehouse.releases import promote_daily_revenue, rollback_daily_revenue
from reliable_assets.warehouse.revenue_versions import CANDIDATE_ENV_VAR
from reliable_assets_tests.pg_server import pg_database_url, pg_url  # noqa: F401

DAYS = [datetime(2024, 3, 1) + timedelta(days=n) for n in range(3)]
COUNTRIES = ["BR", "DE", "FR", "JP", "US"]


def _revenue(extra_usd: float, days: list[datetime] = DAYS) -> pd.DataFrame:
    rows = [
        {
            "revenue_date": day,
            "country": country,
            "orders": 3 + n,
            "revenue_usd": round(100.5 + n + extra_usd, 2),
            "avg_order_value_usd": round((100.5 + n + extra_usd) / (3 + n), 2),
        }
        for day in days
        for n, country in enumerate(COUNTRIES)
    ]
    return pd.DataFrame(rows, columns=REVENUE_COLUMNS)


def _write(warehouse: PostgresWarehouse, schema: str, table: str, frame: pd.DataFrame) -> None:
    span = PartitionFilter.time_range("revenue_date", DAYS[0], DAYS[-1] + timedelta(days=1))
    warehouse.replace_partition(schema, table, frame.assign(_run_id="seed"), span)


@pytest.fixture
def warehouse(pg_database_url: str, monkeypatch: pytest.MonkeyPatch) -> PostgresWarehouse:  # noqa: F811
    monkeypatch.delenv(CANDIDATE_ENV_VAR, raising=False)
    pg = PostgresWarehouse(url=pg_database_url)
    _write(pg, "warehouse", "daily_revenue", _revenue(0.0))
    _write(pg, "shadow", "daily_revenue_v2", _revenue(-7.25))
    return pg


def _consumer_rows(warehouse: PostgresWarehouse) -> list[tuple[Any, ...]]:
    frame = warehouse.query('SELECT * FROM "warehouse"."daily_revenue_current" ORDER BY 1, 2')
    return list(frame.itertuples(index=False, name=None))


def _run(
    job: dg.JobDefinition, warehouse: PostgresWarehouse, instance: dg.DagsterInstance
) -> dg.ExecuteInProcessResult:
    return job.execute_in_process(resources={"warehouse": warehouse}, instance=instance, raise_on_error=False)


def test_promote_then_rollback_on_postgres_return_byte_identical_results(
    warehouse: PostgresWarehouse, instance: dg.DagsterInstance
) -> None:
    assert _run(rollback_daily_revenue, warehouse, instance).success  # nothing to undo: creates the view
    before = _consumer_rows(warehouse)
    assert len(before) == len(DAYS) * len(COUNTRIES)

    assert _run(promote_daily_revenue, warehouse, instance).success
    promoted = _consumer_rows(warehouse)
    assert promoted != before
    assert [row[3] for row in promoted] == [row[3] - 7.25 for row in before]
    assert _run(promote_daily_revenue, warehouse, instance).success
    assert _consumer_rows(warehouse) == promoted

    assert _run(rollback_daily_revenue, warehouse, instance).success
    assert repr(_consumer_rows(warehouse)).encode() == repr(before).encode()
    log = warehouse.query(
        "SELECT action, changed, from_version, to_version FROM ops.releases ORDER BY release_number"
    )
    assert list(log.itertuples(index=False, name=None)) == [
        ("rollback", False, "v1", "v1"),
        ("promote", True, "v1", "v2"),
        ("promote", False, "v2", "v2"),
        ("rollback", True, "v2", "v1"),
    ]


def test_a_candidate_missing_a_day_is_refused_and_consumers_keep_their_rows(
    warehouse: PostgresWarehouse, instance: dg.DagsterInstance
) -> None:
    assert _run(rollback_daily_revenue, warehouse, instance).success
    before = _consumer_rows(warehouse)
    warehouse.execute('DELETE FROM "shadow"."daily_revenue_v2" WHERE "revenue_date" = %s', [DAYS[1]])

    result = _run(promote_daily_revenue, warehouse, instance)
    assert not result.success
    failure = next(event for event in result.all_events if event.is_step_failure)
    assert failure.step_failure_data.error is not None
    message = failure.step_failure_data.error.message
    assert "shadow.daily_revenue_v2 (version 'v2') lacks 1 revenue_date value(s)" in message
    assert "2024-03-02" in message
    assert _consumer_rows(warehouse) == before
    assert warehouse.query("SELECT count(*) AS n FROM ops.releases")["n"].iloc[0] == 1
