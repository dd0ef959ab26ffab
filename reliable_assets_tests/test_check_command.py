"""`reliable-assets check`: every declared check, on what is published, with a CI-friendly exit code.

One world per module, materialized once with a few bad records (so both reconciliations count dead
letters). Tests that plant a fault put the world back as they found it, and say so by comparing
its content hashes with the baseline.
"""

import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from reliable_assets import paths
from reliable_assets.cli import main
from reliable_assets.definitions import defs
from reliable_assets.ops.sla import SLA_AFTER_DAY_END
from reliable_assets.simulator.rates_api import serve_rates_api
from reliable_assets.simulator.run import simulate
from reliable_assets.toolkit.duckdb_warehouse import DuckDBWarehouse
from reliable_assets.toolkit.files import LocalFileStore
from reliable_assets.toolkit.runless_checks import daily_partition_freshness
from reliable_assets_tests import graph_state
from reliable_assets_tests.conftest import SIM_DAY_LIST, World, small_simulation

DAYS = [day.isoformat() for day in SIM_DAY_LIST]
ALL_DAYS = f"{DAYS[0]}...{DAYS[-1]}"
Report = dict[tuple[str, str, str], tuple[str, str, int]]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """The whole graph materialized once over a simulated world with 2% bad records."""
    from reliable_assets.graph_runs import materialize_graph

    folder = tmp_path_factory.mktemp("checked_world") / "data"
    with (
        pytest.MonkeyPatch.context() as patch,
        serve_rates_api(port=0) as url,
        dg.instance_for_test() as instance,  # also points DAGSTER_HOME at it, as CI would
    ):
        patch.setenv("RELIABLE_ASSETS_DATA_DIR", str(folder))
        patch.setenv("RATES_API_URL", url)
        patch.delenv("DAGSTER_DEPLOYMENT", raising=False)
        simulate(small_simulation(bad_rate=0.02))
        outcomes = materialize_graph(defs(), instance, SIM_DAY_LIST, log_level="ERROR")
        assert all(o.success for o in outcomes), [o.label for o in outcomes if not o.success]
        yield World(folder, instance, graph_state.state(), tuple(o.run_id for o in outcomes))


def report(out: str) -> Report:
    """The printed table as {(asset, partition, check): (severity, result, failing rows)}."""
    rows: Report = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 6 and parts[4] in {"pass", "FAIL", "skip"}:
            rows[(parts[0], parts[1], parts[2])] = (parts[3], parts[4], int(parts[5]))
    return rows


def error_failures(rows: Report) -> list[tuple[str, str, str, int]]:
    return sorted(
        (*key, failing) for key, (sev, result, failing) in rows.items() if (sev, result) == ("ERROR", "FAIL")
    )


def warehouse() -> DuckDBWarehouse:
    return DuckDBWarehouse(path=str(paths.warehouse_path()))


@contextmanager
def planted_raw_partition(asset: str, day: str, frame: pd.DataFrame) -> Iterator[None]:
    """Replace a raw partition's Parquet file the way the IO manager does (write, then rename),
    and put the original bytes back afterwards."""
    store, relpath = LocalFileStore(paths.raw_dir()), f"{asset}/{day}.parquet"
    original = store.read_bytes(relpath)
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False, engine="pyarrow")
    store.write_bytes(relpath, buffer.getvalue())
    try:
        yield
    finally:
        store.write_bytes(relpath, original)


def raw_orders(day: str) -> pd.DataFrame:
    return pd.read_parquet(paths.raw_dir() / "raw" / "orders" / f"{day}.parquet")


def raw_orders_with_a_null_order_id(day: str) -> pd.DataFrame:
    frame = raw_orders(day)
    frame["order_id"] = frame["order_id"].astype(object)
    frame.loc[0, "order_id"] = None
    return frame


def test_a_clean_world_passes_every_declared_check_and_exits_0(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every check any asset declares is evaluated on the published data, raw contracts, both
    reconciliations and the registry included; ERROR checks all pass; nothing is materialized."""
    # The world exercises every term of both reconciliations: dead letters of both assets, and
    # raw orders of a day whose fact_orders row now comes from a later extract (the overlap window).
    letters = warehouse().query("SELECT DISTINCT asset_key FROM ops.dead_letters")["asset_key"]
    assert set(letters) == {"raw/events", "warehouse/fact_orders"}
    latest_extract = warehouse().read_table("warehouse", "fact_orders").set_index("order_id")["extract_date"]
    later = [latest_extract.reindex(raw_orders(day)["order_id"]) > pd.Timestamp(day) for day in DAYS]
    assert sum(int(is_later.sum()) for is_later in later) > 0
    runs_before = len(world.instance.get_runs())

    assert main(["check"]) == 0
    out = capsys.readouterr().out
    rows = report(out)
    assert "0 ERROR failures" in out
    assert error_failures(rows) == []
    declared = {(k.asset_key.to_user_string(), k.name) for k in defs().resolve_asset_graph().asset_check_keys}
    assert {(asset, check) for asset, _, check in rows} == declared
    for day in DAYS:
        for key in [
            ("raw/orders", day, "schema_contract"),
            ("raw/events", day, "landed_lines_reconciled"),
            ("raw/fx_rates", day, "schema_contract"),
            ("warehouse/fact_orders", day, "source_rows_reconciled"),
            ("ml/model_registry", day, "segment_day_unique"),
            ("ml/segment_models", day, "churned_trained"),
        ]:
            assert rows[key] == ("ERROR", "pass", 0), key
        assert rows[("raw/orders", day, "row_count_anomaly")] == ("WARN", "pass", 0)
    assert rows[("raw/customers", "-", "schema_contract")] == ("ERROR", "pass", 0)
    # Freshness is about now: the 2024 world's partitions are long overdue, a WARN, not a failure.
    for asset in SLA_AFTER_DAY_END:
        assert rows[(asset, "-", "freshness_check")] == ("WARN", "FAIL", 0)
    assert len(world.instance.get_runs()) == runs_before  # checks only: nothing was materialized


def test_a_planted_raw_contract_failure_exits_1_naming_asset_partition_and_check(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    """A raw/orders partition rewritten with a null order_id fails its schema contract, for that
    partition alone. (A negative total is not a raw contract failure: the raw contracts catch a
    source that changed shape, fact_orders dead-letters bad values.)"""
    day = DAYS[1]
    with planted_raw_partition("raw/orders", day, raw_orders_with_a_null_order_id(day)):
        assert main(["check", "--select", "raw", "--partition-range", ALL_DAYS]) == 1
    out = capsys.readouterr().out
    assert error_failures(report(out)) == [("raw/orders", day, "schema_contract", 1)]
    assert "1 ERROR failures" in out
    assert graph_state.state() == world.baseline


def test_fact_orders_rows_missing_from_the_warehouse_fail_the_reconciliation(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    """One fact_orders row of an extract day deleted: the day's raw rows are no longer accounted
    for (loaded + dead-lettered + superseded by later extracts), and nothing else fails."""
    day = DAYS[1]
    wh = warehouse()
    wh.execute(
        "CREATE TABLE ops.planted AS SELECT * FROM warehouse.fact_orders WHERE extract_date = ? "
        "ORDER BY order_id LIMIT 1",
        [day],
    )
    wh.execute("DELETE FROM warehouse.fact_orders WHERE order_id IN (SELECT order_id FROM ops.planted)")
    try:
        assert main(["check", "--select", "warehouse/fact_orders", "--partition", day]) == 1
    finally:
        wh.execute("INSERT INTO warehouse.fact_orders SELECT * FROM ops.planted")
        wh.execute("DROP TABLE ops.planted")
    assert error_failures(report(capsys.readouterr().out)) == [
        ("warehouse/fact_orders", day, "source_rows_reconciled", 1)
    ]
    assert graph_state.state() == world.baseline


def test_a_planted_duplicate_fails_order_id_unique_and_the_reconciliation_of_its_partition(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    day = DAYS[1]
    wh = warehouse()
    wh.execute(
        "CREATE TABLE ops.planted AS SELECT * FROM warehouse.fact_orders WHERE extract_date = ? "
        "ORDER BY order_id LIMIT 1",
        [day],
    )
    wh.execute("INSERT INTO warehouse.fact_orders SELECT * FROM ops.planted")
    try:
        assert main(["check", "--select", "warehouse/fact_orders", "--partition-range", ALL_DAYS]) == 1
    finally:
        wh.execute("DELETE FROM warehouse.fact_orders WHERE order_id IN (SELECT order_id FROM ops.planted)")
        wh.execute("INSERT INTO warehouse.fact_orders SELECT * FROM ops.planted")
        wh.execute("DROP TABLE ops.planted")
    out = capsys.readouterr().out
    assert error_failures(report(out)) == [
        ("warehouse/fact_orders", day, "order_id_unique", 2),
        ("warehouse/fact_orders", day, "source_rows_reconciled", 1),
    ]
    assert "2 ERROR failures" in out
    assert graph_state.state() == world.baseline


def test_a_line_landed_after_the_load_fails_the_landed_lines_reconciliation(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    """A landing file with one new event, delivered after raw/events loaded the day: the day's
    landed lines exceed raw rows + duplicates + dead letters by exactly that line."""
    day = DAYS[2]
    folder = Path(paths.landing_dir()) / "events" / day
    first_line = sorted(folder.iterdir())[0].read_text().splitlines()[0]
    event = {**json.loads(first_line), "event_id": "evt-planted-after-the-load"}
    planted = folder / "events-late-delivery.jsonl"
    planted.write_text(json.dumps(event) + "\n\n")  # the blank line is not a landed line
    try:
        assert main(["check", "--select", "raw/events", "--partition-range", ALL_DAYS]) == 1
    finally:
        planted.unlink()
    assert error_failures(report(capsys.readouterr().out)) == [
        ("raw/events", day, "landed_lines_reconciled", 1)
    ]


def test_record_stores_runless_evaluations_on_the_declared_checks_the_ui_shows(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--record` files each result as an evaluation of the asset's own check key, per partition,
    targeting the partition's latest materialization (so Dagster counts it as current), under one
    id per invocation that is no run: nothing is materialized or launched."""
    storage = world.instance.event_log_storage
    day, other_day = DAYS[0], DAYS[1]
    order_id = dg.AssetCheckKey(dg.AssetKey(["raw", "orders"]), "schema_contract")
    registry = dg.AssetCheckKey(dg.AssetKey(["ml", "model_registry"]), "segment_day_unique")
    customers = dg.AssetCheckKey(dg.AssetKey(["raw", "customers"]), "schema_contract")

    def latest(key: dg.AssetCheckKey, partition: str) -> tuple[str, str, bool]:
        """The check's latest execution of the partition: status, the id it is filed under, and
        whether it targets the partition's latest materialization (what the UI shows as current)."""
        (info,) = storage.get_asset_check_partition_info([key], partition_keys=[partition])
        return info.latest_execution_status.value, info.latest_planned_run_id, info.is_current

    def recorded_as(out: str) -> str:
        (line,) = [line for line in out.splitlines() if line.startswith("recorded ")]
        return line.split(" as ")[1].split()[0]

    selection = "raw/orders,raw/customers,ml/model_registry"
    assert main(["check", "--record", "--select", selection, "--partition", day]) == 0
    first = recorded_as(capsys.readouterr().out)
    assert first.startswith("check-")
    assert latest(order_id, day) == ("SUCCEEDED", first, True)
    assert latest(registry, day) == ("SUCCEEDED", first, True)
    assert latest(order_id, other_day)[1] in world.run_ids  # not selected: still the run's own
    record = world.instance.get_latest_asset_check_evaluation_record(customers)
    assert record is not None
    event = record.event
    assert event is not None
    assert event.dagster_event is not None
    evaluation = event.dagster_event.event_specific_data
    assert isinstance(evaluation, dg.AssetCheckEvaluation)
    (materialization,) = world.instance.fetch_materializations(customers.asset_key, limit=1).records
    assert (evaluation.passed, evaluation.partition) == (True, None)
    assert evaluation.target_materialization_data is not None
    assert evaluation.target_materialization_data.storage_id == materialization.storage_id

    # Re-checking the same partition adds an evaluation (Dagster's runless reporting cannot).
    with planted_raw_partition("raw/orders", day, raw_orders_with_a_null_order_id(day)):
        assert main(["check", "--record", "--select", "raw/orders", "--partition", day]) == 1
    second = recorded_as(capsys.readouterr().out)
    assert latest(order_id, day) == ("FAILED", second, True)
    assert latest(registry, day) == ("SUCCEEDED", first, True)
    # The fix shows up the same way: the next recorded check passes again.
    assert main(["check", "--record", "--select", "raw/orders", "--partition", day]) == 0
    assert latest(order_id, day) == ("SUCCEEDED", recorded_as(capsys.readouterr().out), True)
    assert world.instance.get_runs(filters=dg.RunsFilter(run_ids=[first, second])) == []


def test_freshness_passes_once_the_due_partition_is_there_and_warns_when_it_is_overdue(
    world: World,
) -> None:
    """The SLA'd assets' time-partition freshness, judged from the instance as of a given time."""
    asset, sla = dg.AssetKey(["warehouse", "daily_revenue"]), SLA_AFTER_DAY_END["warehouse/daily_revenue"]
    last_deadline = datetime.fromisoformat(DAYS[-1]).replace(tzinfo=UTC) + timedelta(days=1) + sla
    expected, fresh = daily_partition_freshness(
        world.instance, asset, sla, last_deadline + timedelta(minutes=1), DAYS[0]
    )
    assert (expected, fresh.passed) == (DAYS[-1], True)
    expected, overdue = daily_partition_freshness(
        world.instance, asset, sla, last_deadline + timedelta(days=1), DAYS[0]
    )
    assert (overdue.passed, overdue.severity) == (False, dg.AssetCheckSeverity.WARN)
    assert expected == (SIM_DAY_LIST[-1] + timedelta(days=1)).isoformat()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--select", "warehouse/nope"], "matches no checked asset"),
        (["--select", "ops"], "matches no checked asset"),
        (["--partition", "2024-13-01"], "is not a daily partition key"),
        (["--partition-range", "2024-01-05"], "must look like"),
        (["--partition", "2023-12-31"], "before the first partition"),
    ],
)
def test_bad_arguments_exit_2_with_what_to_do(
    args: list[str], message: str, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Bad selections and partition keys are refused with a message, not a traceback."""
    assert main(["check", *args]) == 2
    assert message in capsys.readouterr().err


def test_record_without_a_dagster_home_exits_2(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    assert main(["check", "--record"]) == 2
    assert "set DAGSTER_HOME" in capsys.readouterr().err
