"""The whole graph through Dagster: re-running anything changes nothing."""

from pathlib import Path

import dagster as dg
import pytest

from reliable_assets.definitions import defs
from reliable_assets.graph_runs import DAILY_ASSETS, SNAPSHOT_ASSETS, materialize_graph
from reliable_assets_tests import graph_state
from reliable_assets_tests.conftest import SIM_DAY_LIST

ALL_ASSETS = [*SNAPSHOT_ASSETS, *DAILY_ASSETS, "ml/segment_models", "ml/model_registry", "ops/sla_report"]


def _data_versions(instance: dg.DagsterInstance) -> dict[tuple[str, str | None], str | None]:
    versions = {}
    for key in ALL_ASSETS:
        records = instance.fetch_materializations(dg.AssetKey.from_user_string(key), limit=1000).records
        for record in records:
            materialization = record.asset_materialization
            assert materialization is not None
            tag = materialization.tags.get("dagster/data_version") if materialization.tags else None
            versions.setdefault((key, record.partition_key), tag)  # newest first: keep the latest
    return versions


def test_graph_twice_leaves_identical_content(simulated: Path, instance: dg.DagsterInstance) -> None:
    """Guarantee 1: the whole graph run twice leaves every table and file with identical content,
    and the second run records the same data versions (content hashes) as the first."""
    first_runs = materialize_graph(defs(), instance, SIM_DAY_LIST)
    assert all(outcome.success for outcome in first_runs), [o.label for o in first_runs if not o.success]
    first_state, first_versions = graph_state.state(), _data_versions(instance)

    second_runs = materialize_graph(defs(), instance, SIM_DAY_LIST)
    assert all(outcome.success for outcome in second_runs)
    assert graph_state.state() == first_state
    assert _data_versions(instance) == first_versions
    assert None not in first_versions.values()
    assert {"warehouse.fact_orders", "warehouse.daily_revenue", "ops.dead_letters", "ops.sla_report"} <= set(
        first_state
    )


def test_range_run_writes_every_day(simulated: Path, instance: dg.DagsterInstance) -> None:
    """A 3-day single-run range writes all three days, not just the first (the hooli backfill bug)."""
    outcomes = materialize_graph(defs(), instance, SIM_DAY_LIST)
    assert all(outcome.success for outcome in outcomes)
    wh = graph_state.warehouse()
    expected = {day.isoformat() for day in SIM_DAY_LIST}
    for table, column in [
        ("daily_events", "event_date"),
        ("daily_revenue", "revenue_date"),
        ("user_features", "feature_date"),
        ("fact_orders", "extract_date"),
    ]:
        days = {value.date().isoformat() for value in wh.read_table("warehouse", table)[column]}
        assert days == expected, table
    registry_days = {v.date().isoformat() for v in wh.read_table("ml", "model_registry")["model_date"]}
    assert registry_days == expected
    for asset in ("orders", "events", "fx_rates"):
        files = sorted(p.stem for p in (simulated / "lake" / "raw" / asset).glob("*.parquet"))
        assert files == sorted(expected), asset


@pytest.mark.parametrize("asset_key", ALL_ASSETS)
def test_rerunning_one_asset_partition_changes_nothing(
    asset_key: str, simulated: Path, instance: dg.DagsterInstance
) -> None:
    """Guarantee 1 per asset: materializing one partition of it again leaves every table and file as it was."""
    assert all(o.success for o in materialize_graph(defs(), instance, SIM_DAY_LIST))
    before = graph_state.state()
    definitions = defs()
    key = dg.AssetKey.from_user_string(asset_key)
    job = definitions.get_repository_def().get_implicit_job_def_for_assets([key])
    assert job is not None
    partitions = definitions.get_assets_def(key).partitions_def
    middle_day = SIM_DAY_LIST[1].isoformat()
    partition_key = None
    if partitions is not None:
        partition_key = f"{middle_day}|mid_value" if asset_key == "ml/segment_models" else middle_day
    result = job.execute_in_process(
        instance=instance, asset_selection=[key], partition_key=partition_key, raise_on_error=False
    )
    assert result.success
    assert graph_state.state() == before
