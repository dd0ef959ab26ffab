"""Issue 11: the source database goes away in the middle of a backfill, then comes back.

The source is a real PostgreSQL (pg_server.py) filled by the simulator's PostgreSQL writer;
`raw/orders` reaches it through a loopback proxy the test cuts (tcp_proxy.py), so the extract
meets what a client meets when its database is unreachable: connections closed on arrival.
A backfill of raw/orders in two chunks (range runs, as the backfill daemon launches them):

1. the first chunk loads;
2. for the second, the source refuses one connection: the step is retried (a transient fault)
   and the chunk loads on its second attempt;
3. the source stays away: the chunk fails after its bounded retries, saying it gave up and why;
4. the source is back: running the chunk again (what re-executing the backfill from failure
   launches) completes it,

and the raw files and warehouse tables end equal to a clean run's of the same source.
"""

from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa

from reliable_assets import settings
from reliable_assets.graph_runs import RunOutcome, execute_assets
from reliable_assets.raw.assets import orders
from reliable_assets.simulator.generate import generate
from reliable_assets.simulator.pg_source import PostgresSourceWriter
from reliable_assets.toolkit.partition_days import RANGE_END_TAG, RANGE_START_TAG
from reliable_assets.toolkit.retries import STEP_ATTEMPT_METADATA, STEP_RETRIES
from reliable_assets.toolkit.source_database import SourceDatabase
from reliable_assets_tests import graph_state
from reliable_assets_tests.conftest import SIM_DAY_LIST, small_simulation
from reliable_assets_tests.pg_server import pg_database_url, pg_url  # noqa: F401
from reliable_assets_tests.tcp_proxy import CuttableProxy, proxy_in_front_of_postgres

FIRST_CHUNK, SECOND_CHUNK = SIM_DAY_LIST[:2], SIM_DAY_LIST[2:]


@pytest.fixture
def source_url(pg_database_url: str) -> str:  # noqa: F811
    url = pg_database_url.replace("postgresql://", "postgresql+psycopg2://", 1)
    sim = generate(small_simulation())
    PostgresSourceWriter(url).write(sim.customers.customers, sim.orders, as_of=0)
    return url


@pytest.fixture
def proxy(source_url: str) -> Iterator[CuttableProxy]:
    with proxy_in_front_of_postgres(source_url) as running:
        yield running


def _through(proxy: CuttableProxy, source_url: str) -> str:
    url = sa.make_url(source_url).set(host="127.0.0.1", port=proxy.port, query={})
    return url.render_as_string(hide_password=False)


def _extract(instance: dg.DagsterInstance, url: str, days: list, label: str) -> RunOutcome:
    definitions = dg.Definitions(
        assets=[orders], resources={**settings.resources_for("local"), "source_db": SourceDatabase(url=url)}
    )
    span = {RANGE_START_TAG: days[0].isoformat(), RANGE_END_TAG: days[-1].isoformat()}
    return execute_assets(definitions, instance, ["raw/orders"], label, span, log_level="WARNING")


def _count(instance: dg.DagsterInstance, run_id: str, kind: dg.DagsterEventType) -> int:
    return len(instance.get_records_for_run(run_id, of_type=kind).records)


def test_an_unreachable_source_mid_backfill_is_retried_then_resumed_to_a_clean_runs_content(
    data_dir: Path,
    tmp_path: Path,
    instance: dg.DagsterInstance,
    source_url: str,
    proxy: CuttableProxy,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    via_proxy = _through(proxy, source_url)
    assert _extract(instance, via_proxy, FIRST_CHUNK, "first chunk").success

    proxy.refuse(1)
    retried = _extract(instance, via_proxy, SECOND_CHUNK, "second chunk, one refusal")
    assert retried.success
    assert proxy.refused == 1
    assert _count(instance, retried.run_id, dg.DagsterEventType.STEP_UP_FOR_RETRY) == 1
    latest = instance.get_latest_materialization_event(dg.AssetKey(["raw", "orders"]))
    assert latest is not None
    assert latest.asset_materialization is not None
    assert latest.asset_materialization.metadata[STEP_ATTEMPT_METADATA].value == 2

    proxy.refuse()  # gone until restored
    down = _extract(instance, via_proxy, SECOND_CHUNK, "second chunk, source down")
    assert not down.success
    attempts = STEP_RETRIES.max_retries + 1
    assert _count(instance, down.run_id, dg.DagsterEventType.STEP_START) == 1
    assert _count(instance, down.run_id, dg.DagsterEventType.STEP_UP_FOR_RETRY) == STEP_RETRIES.max_retries
    (failure,) = instance.get_records_for_run(down.run_id, of_type=dg.DagsterEventType.STEP_FAILURE).records
    message = str(failure.event_log_entry.dagster_event)
    assert f"gave up after {attempts} attempts" in message, message
    assert "PostgreSQL" in message, message

    proxy.restore()
    assert _extract(instance, via_proxy, SECOND_CHUNK, "second chunk, resumed").success

    clean_dir = tmp_path / "clean"
    monkeypatch.setenv("RELIABLE_ASSETS_DATA_DIR", str(clean_dir))
    with dg.instance_for_test() as clean_instance:
        assert _extract(clean_instance, source_url, FIRST_CHUNK + SECOND_CHUNK, "clean").success
    assert graph_state.state_of(data_dir, monkeypatch) == graph_state.state_of(clean_dir, monkeypatch)
