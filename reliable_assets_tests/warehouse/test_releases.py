"""Shadow, promote, rollback of `warehouse/daily_revenue` through Dagster (guarantee 9), on the
simulated world (DuckDB warehouse); code versions on materializations.

The same jobs on a real PostgreSQL warehouse are in test_release_jobs_postgres.py; the view swap
itself, with a concurrent reader on both engines, in toolkit/test_view_release.py.
"""

import getpass
from collections.abc import Callable
from typing import Any

import dagster as dg
import pandas as pd
import pytest

from reliable_assets.definitions import defs
from reliable_assets.graph_runs import RunOutcome, materialize_graph
from reliable_assets.toolkit.warehouse import Warehouse
from reliable_assets.warehouse import revenue_versions
from reliable_assets.warehouse.revenue_versions import CANDIDATE_ENV_VAR, REVENUE_LOGIC
from reliable_assets.warehouse.shadow import MATCHES_PUBLISHED, SHADOW_KEY
from reliable_assets_tests import graph_state
from reliable_assets_tests.conftest import SIM_DAY_LIST

CONSUMER_SQL = 'SELECT * FROM "warehouse"."daily_revenue_current" ORDER BY "revenue_date", "country"'
CODE_VERSION_TAG = "dagster/code_version"


def _shadow_checks(outcomes: list[RunOutcome]) -> dict[str, dict[str, Any]]:
    """Partition -> metadata of the shadow's matches_published evaluation, with `passed` (the range
    run's summary evaluation, filed without a partition, left out)."""
    found = {}
    for outcome in outcomes:
        for evaluation in outcome.checks:
            if (
                evaluation.asset_key == SHADOW_KEY
                and evaluation.check_name == MATCHES_PUBLISHED
                and evaluation.partition is not None
            ):
                metadata = {name: value.value for name, value in evaluation.metadata.items()}
                found[str(evaluation.partition)] = {**metadata, "passed": evaluation.passed}
    return found


def _published(warehouse: Warehouse, day: str) -> pd.DataFrame:
    revenue = warehouse.read_table("warehouse", "daily_revenue")
    return revenue.loc[revenue["revenue_date"] == pd.Timestamp(day)].sort_values("country")


def _materialize(instance: dg.DagsterInstance) -> list[RunOutcome]:
    outcomes = materialize_graph(defs(), instance, SIM_DAY_LIST, log_level="WARNING")
    assert all(outcome.success for outcome in outcomes), [o.label for o in outcomes if not o.success]
    return outcomes


def _code_versions(instance: dg.DagsterInstance, key: dg.AssetKey) -> set[str]:
    records = instance.fetch_materializations(key, limit=100).records
    assert records
    return {
        (record.asset_materialization.tags or {}).get(CODE_VERSION_TAG, "")
        for record in records
        if record.asset_materialization is not None
    }


def test_shadow_with_identical_logic_reports_no_differences(
    simulated: object, instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The shadow running the current logic (v1) reports 0 differing rows for every day and writes
    a table of the same content as the published one."""
    monkeypatch.setenv(CANDIDATE_ENV_VAR, "v1")
    checks = _shadow_checks(_materialize(instance))
    warehouse = graph_state.warehouse()
    assert set(checks) == {day.isoformat() for day in SIM_DAY_LIST}
    for day, metadata in checks.items():
        assert metadata["passed"], (day, metadata)
        assert metadata["rows_compared"] == len(_published(warehouse, day)) > 0
        assert metadata["failing_rows"] == metadata["rows_differing"] == 0
    assert warehouse.table_content_hash("shadow", "daily_revenue_v1") == warehouse.table_content_hash(
        "warehouse", "daily_revenue"
    )


def _planted(
    change: Callable[[pd.DataFrame], pd.DataFrame],
) -> Callable[[pd.DataFrame, pd.DataFrame], pd.DataFrame]:
    def logic(orders: pd.DataFrame, customers: pd.DataFrame) -> pd.DataFrame:
        return change(REVENUE_LOGIC["v1"](orders, customers))

    return logic


def test_a_planted_change_reports_exactly_the_differing_rows(
    simulated: object, instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A candidate that adds 1.25 USD to one country of day 2 and leaves out one country of day 3:
    the check passes day 1, names exactly that row for day 2 (largest difference 1.25 in
    revenue_usd) and that missing row for day 3; the shadow's materializations carry its code
    version, the published asset's its own."""
    day1, day2, day3 = (day.isoformat() for day in SIM_DAY_LIST)
    planted: dict[str, str] = {}

    def change(revenue: pd.DataFrame) -> pd.DataFrame:
        revenue = revenue.copy()
        on = {day: revenue["revenue_date"] == pd.Timestamp(day) for day in (day2, day3)}
        raised = revenue.loc[on[day2]].sort_values("country").index[0]
        dropped = revenue.loc[on[day3]].sort_values("country").index[-1]
        planted.update(raised=str(revenue.at[raised, "country"]), dropped=str(revenue.at[dropped, "country"]))
        revenue.loc[raised, "revenue_usd"] += 1.25
        changed: pd.DataFrame = revenue.drop(index=dropped)
        return changed

    monkeypatch.setitem(revenue_versions.REVENUE_LOGIC, "v9", _planted(change))
    monkeypatch.setenv(CANDIDATE_ENV_VAR, "v9")
    checks = _shadow_checks(_materialize(instance))
    warehouse = graph_state.warehouse()

    assert checks[day1]["passed"]
    assert checks[day1]["failing_rows"] == 0
    second = checks[day2]
    assert not second["passed"]
    assert (second["rows_differing"], second["rows_only_in_shadow"], second["rows_only_in_published"]) == (
        1,
        0,
        0,
    )
    assert second["rows_compared"] == len(_published(warehouse, day2))
    assert second["difference_rate"] == pytest.approx(1 / len(_published(warehouse, day2)))
    assert second["largest_abs_difference"] == pytest.approx(1.25)
    assert second["largest_difference_column"] == "revenue_usd"
    assert [sample["key"]["country"] for sample in second["differing_samples"]] == [planted["raised"]]
    third = checks[day3]
    assert (third["rows_differing"], third["rows_only_in_shadow"], third["rows_only_in_published"]) == (
        0,
        0,
        1,
    )
    assert [sample["key"]["country"] for sample in third["differing_samples"]] == [planted["dropped"]]
    assert third["largest_abs_difference"] == 0.0

    assert _code_versions(instance, SHADOW_KEY) == {"v9"}
    assert _code_versions(instance, dg.AssetKey(["warehouse", "daily_revenue"])) == {"v1"}
    assert _code_versions(instance, dg.AssetKey(["warehouse", "fact_orders"])) == {"v1"}


def _consumer_rows(warehouse: Warehouse) -> list[tuple[Any, ...]]:
    return list(warehouse.query(CONSUMER_SQL).itertuples(index=False, name=None))


def _table_rows(warehouse: Warehouse, schema: str, table: str) -> list[tuple[Any, ...]]:
    frame = warehouse.query(
        f'SELECT "revenue_date", "country", "orders", "revenue_usd", "avg_order_value_usd"'
        f' FROM "{schema}"."{table}" ORDER BY "revenue_date", "country"'
    )
    return list(frame.itertuples(index=False, name=None))


def _run_job(
    name: str, instance: dg.DagsterInstance, config: dict[str, Any] | None = None
) -> dg.ExecuteInProcessResult:
    op = {
        "promote_daily_revenue": "promote_daily_revenue_view",
        "rollback_daily_revenue": "rollback_daily_revenue_view",
    }
    run_config = {"ops": {op[name]: {"config": config}}} if config else None
    return (
        defs()
        .resolve_job_def(name)
        .execute_in_process(instance=instance, run_config=run_config, raise_on_error=False)
    )


def test_promote_then_rollback_return_consumers_to_byte_identical_results(
    simulated: object, instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The graph leaves consumers a view on the published table; `promote_daily_revenue` serves the
    shadow's candidate (v2: paid orders only), `rollback_daily_revenue` the exact rows of before;
    repeating either changes nothing; ops.releases says who, when, what and which run."""
    monkeypatch.delenv(CANDIDATE_ENV_VAR, raising=False)
    _materialize(instance)
    warehouse = graph_state.warehouse()
    before = _consumer_rows(warehouse)
    assert before == _table_rows(warehouse, "warehouse", "daily_revenue")

    promoted = _run_job("promote_daily_revenue", instance)
    assert promoted.success
    candidate = _table_rows(warehouse, "shadow", "daily_revenue_v2")
    assert _consumer_rows(warehouse) == candidate != before
    assert _run_job("promote_daily_revenue", instance).success  # idempotent: no change
    assert _consumer_rows(warehouse) == candidate

    rolled_back = _run_job("rollback_daily_revenue", instance, {"released_by": "oncall"})
    assert rolled_back.success
    after = _consumer_rows(warehouse)
    assert repr(after).encode() == repr(before).encode()
    assert _run_job("rollback_daily_revenue", instance).success  # nothing left to undo
    assert _consumer_rows(warehouse) == before

    log = warehouse.query(
        "SELECT release_number, action, changed, from_version, to_version, to_table, released_by, run_id"
        " FROM ops.releases ORDER BY release_number"
    )
    user = getpass.getuser()
    assert list(log.drop(columns="run_id").itertuples(index=False, name=None)) == [
        (1, "promote", True, "v1", "v2", "shadow.daily_revenue_v2", user),
        (2, "promote", False, "v2", "v2", "shadow.daily_revenue_v2", user),
        (3, "rollback", True, "v2", "v1", "warehouse.daily_revenue", "oncall"),
        (4, "rollback", False, "v1", "v1", "warehouse.daily_revenue", user),
    ]
    assert log["run_id"].iloc[0] == promoted.run_id
    assert log["run_id"].iloc[2] == rolled_back.run_id


def test_promoting_an_unknown_version_fails_naming_the_versions(
    simulated: object, instance: dg.DagsterInstance
) -> None:
    result = _run_job("promote_daily_revenue", instance, {"version": "v7"})
    assert not result.success
    failure = next(event for event in result.all_events if event.is_step_failure)
    message = str(failure.step_failure_data.error)
    assert "version='v7' is not a daily revenue logic version; use one of ['v1', 'v2']" in message


def test_an_unknown_candidate_fails_the_code_location_at_load(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CANDIDATE_ENV_VAR, "v2-beta")
    with pytest.raises(
        revenue_versions.UnknownRevenueVersionError, match=r"DAILY_REVENUE_CANDIDATE='v2-beta'"
    ):
        defs()
