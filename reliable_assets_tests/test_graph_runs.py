"""The whole graph through Dagster: re-running anything changes nothing."""

import dagster as dg
import pytest

from reliable_assets.definitions import defs
from reliable_assets.graph_runs import DAILY_ASSETS, SNAPSHOT_ASSETS, materialize_graph
from reliable_assets_tests import graph_state
from reliable_assets_tests.conftest import SIM_DAY_LIST, World

ALL_ASSETS = [*SNAPSHOT_ASSETS, *DAILY_ASSETS, "ops/sla_report"]


def _materializations(
    instance: dg.DagsterInstance, run_ids: set[str] | None = None
) -> dict[tuple[str, str | None], dict[str, str]]:
    """Data version and per-partition content hash of the latest materialization of each asset
    partition (only those written by `run_ids`, when given)."""
    found: dict[tuple[str, str | None], dict[str, str]] = {}
    for key in ALL_ASSETS:
        for record in instance.fetch_materializations(dg.AssetKey.from_user_string(key), limit=1000).records:
            materialization = record.asset_materialization
            assert materialization is not None
            if run_ids is not None and record.run_id not in run_ids:
                continue
            content_hash = materialization.metadata.get("content_hash")
            found.setdefault(
                (key, record.partition_key),
                {
                    "data_version": (materialization.tags or {}).get("dagster/data_version", ""),
                    "content_hash": str(content_hash.value) if content_hash else "",
                },
            )
    return found


def test_range_run_wrote_every_day(materialized_world: World) -> None:
    """A 3-day single-run range writes all three days, not just the first (the hooli backfill bug)."""
    wh = graph_state.warehouse()
    expected = {day.isoformat() for day in SIM_DAY_LIST}
    for schema, table, column in [
        ("warehouse", "daily_events", "event_date"),
        ("warehouse", "daily_revenue", "revenue_date"),
        ("warehouse", "user_features", "feature_date"),
        ("warehouse", "fact_orders", "extract_date"),
        ("ml", "model_registry", "model_date"),
    ]:
        days = {value.date().isoformat() for value in wh.read_table(schema, table)[column]}
        assert days == expected, f"{schema}.{table}"
    for asset in ("orders", "events", "fx_rates"):
        files = sorted(
            p.stem for p in (materialized_world.data_dir / "lake" / "raw" / asset).glob("*.parquet")
        )
        assert files == sorted(expected), asset


@pytest.mark.parametrize("asset_key", ALL_ASSETS)
def test_rerunning_one_asset_partition_changes_nothing(asset_key: str, materialized_world: World) -> None:
    """Guarantee 1 per asset: re-materializing one of its partitions leaves every table and file as it was."""
    definitions = defs()
    key = dg.AssetKey.from_user_string(asset_key)
    job = definitions.get_repository_def().get_implicit_job_def_for_assets([key])
    assert job is not None
    middle_day = SIM_DAY_LIST[1].isoformat()
    partition_key = None
    if definitions.get_assets_def(key).partitions_def is not None:
        partition_key = middle_day
    result = job.execute_in_process(
        instance=materialized_world.instance, asset_selection=[key], partition_key=partition_key
    )
    assert result.success
    assert graph_state.state() == materialized_world.baseline
    # The partition's content hash is the same whether it was written alone or within a range
    # (not for upserts: a range run drops versions that a later day of the same range supersedes).
    if definitions.get_assets_def(key).metadata_by_key[key].get("write_mode") == "upsert":
        return
    rerun = _materializations(materialized_world.instance, {result.run_id})
    original = _materializations(materialized_world.instance, set(materialized_world.run_ids))
    assert rerun
    for partition, entry in rerun.items():
        assert entry["content_hash"] == original[partition]["content_hash"], partition


def test_graph_twice_leaves_identical_content_and_data_versions(materialized_world: World) -> None:
    """Guarantee 1: the whole graph run again leaves every table and file with identical content,
    and records the same data versions (content hashes) as the first run."""
    first = _materializations(materialized_world.instance, set(materialized_world.run_ids))
    outcomes = materialize_graph(defs(), materialized_world.instance, SIM_DAY_LIST)
    assert all(outcome.success for outcome in outcomes)
    assert graph_state.state() == materialized_world.baseline
    second = _materializations(materialized_world.instance, {outcome.run_id for outcome in outcomes})
    assert second == first
    assert all(entry["data_version"] and entry["content_hash"] for entry in first.values())
    assert {"warehouse.fact_orders", "warehouse.daily_revenue", "ops.dead_letters", "ops.sla_report"} <= set(
        materialized_world.baseline
    )
