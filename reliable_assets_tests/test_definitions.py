"""Smoke tests of the code location: the asset graph's shape and the deployment switch."""

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from reliable_assets import execution, settings
from reliable_assets.definitions import defs
from reliable_assets.partitions import DAYS_PER_BACKFILL_RUN, DAYS_PER_MODEL_RUN, DAYS_PER_ORDER_LOAD_RUN

EXPECTED_KEYS = {
    "raw/orders",
    "raw/events",
    "raw/fx_rates",
    "raw/customers",
    "warehouse/dim_customers",
    "warehouse/fact_orders",
    "warehouse/daily_events",
    "warehouse/user_features",
    "warehouse/daily_revenue",
    "warehouse/revenue_shadow",
    "ml/segment_models",
    "ml/model_registry",
    "ops/sla_report",
}


def _asset_specs(definitions: dg.Definitions) -> dict[str, dg.AssetSpec]:
    return {spec.key.to_user_string(): spec for spec in definitions.resolve_all_asset_specs()}


def test_asset_keys_and_groups_match_the_design(monkeypatch: pytest.MonkeyPatch) -> None:
    """The asset keys are the contract of DESIGN.md; the group is the key's first part."""
    monkeypatch.delenv("DAGSTER_DEPLOYMENT", raising=False)
    specs = _asset_specs(defs())
    assert set(specs) == EXPECTED_KEYS
    for key, spec in specs.items():
        assert spec.group_name == key.split("/")[0], key


def test_sensors_of_the_contract_are_defined_and_running_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """DESIGN.md names the landing-zone and the three alert sensors; none needs enabling by hand."""
    monkeypatch.delenv("DAGSTER_DEPLOYMENT", raising=False)
    sensors = {sensor.name: sensor for sensor in defs().get_repository_def().sensor_defs}
    contract = {"landing_zone_sensor", "alert_on_run_failure", "alert_on_check_failure", "alert_on_freshness"}
    assert contract <= set(sensors)
    for name in contract:
        assert sensors[name].default_status == dg.DefaultSensorStatus.RUNNING, name


def test_maintenance_jobs_of_the_contract_are_defined(monkeypatch: pytest.MonkeyPatch) -> None:
    """DESIGN.md names `reprocess_dead_letters`, `promote_daily_revenue`, `rollback_daily_revenue`
    and `retention`; retention runs daily on its own."""
    monkeypatch.delenv("DAGSTER_DEPLOYMENT", raising=False)
    repository = defs().get_repository_def()
    contract = {"reprocess_dead_letters", "promote_daily_revenue", "rollback_daily_revenue", "retention"}
    assert contract <= {job.name for job in repository.get_all_jobs()}
    schedule = repository.get_schedule_def("retention_schedule")
    assert schedule.job_name == "retention"
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING


def test_definitions_load_and_validate(monkeypatch: pytest.MonkeyPatch) -> None:
    """Dagster's own validation accepts the code location (what `dagster dev` would load)."""
    monkeypatch.delenv("DAGSTER_DEPLOYMENT", raising=False)
    dg.Definitions.validate_loadable(defs())


def test_local_binds_exactly_the_contract_resource_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every asset finds its resources, and the key set is the one every deployment must bind."""
    monkeypatch.delenv("DAGSTER_DEPLOYMENT", raising=False)
    assert set(settings.resources_for("local")) == settings.RESOURCE_KEYS
    required = set()
    for assets_def in defs().resolve_asset_graph().assets_defs:
        required |= set(assets_def.required_resource_keys)
    assert required <= settings.RESOURCE_KEYS | {"io_manager"}


@pytest.mark.parametrize("value", ["production", "LOCAL", "dev"])
def test_unknown_deployment_fails_at_load_with_a_clear_message(
    value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A typo in DAGSTER_DEPLOYMENT must fail loudly, not fall back to some default."""
    monkeypatch.setenv("DAGSTER_DEPLOYMENT", value)
    with pytest.raises(
        settings.UnknownDeploymentError,
        match=r"DAGSTER_DEPLOYMENT=.*use one of \['local', 'prod', 'staging'\]",
    ):
        defs()


def test_the_revenue_shadow_shares_the_published_revenues_upstream_and_policy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The backfill daemon puts two assets in one run only when it requests the same partitions of
    both in one tick; with the same parents and policy it always does. A dependency of the shadow on
    daily_revenue gave the shadow runs of its own (see warehouse/shadow.py)."""
    monkeypatch.delenv("DAGSTER_DEPLOYMENT", raising=False)
    graph = defs().resolve_asset_graph()
    revenue = graph.get(dg.AssetKey(["warehouse", "daily_revenue"]))
    shadow = graph.get(dg.AssetKey(["warehouse", "revenue_shadow"]))
    assert shadow.parent_keys == revenue.parent_keys
    assert shadow.backfill_policy == revenue.backfill_policy
    assert shadow.partitions_def == revenue.partitions_def


MODEL_LAYER = {
    "warehouse/user_features",
    "warehouse/daily_revenue",
    "warehouse/revenue_shadow",
    "ml/segment_models",
    "ml/model_registry",
}


def test_every_daily_asset_chunks_backfills_and_warehouse_writes_declare_a_mode(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Backfills run in bounded chunks; every partitioned table names its partition column."""
    monkeypatch.delenv("DAGSTER_DEPLOYMENT", raising=False)
    graph = defs().resolve_asset_graph()
    for assets_def in graph.assets_defs:
        for key in assets_def.keys:
            name = key.to_user_string()
            if assets_def.partitions_def != dg.DailyPartitionsDefinition(
                start_date="2024-01-01", timezone="UTC"
            ):
                continue
            policy = assets_def.backfill_policy
            assert policy is not None, name
            # The order loads chunk on their own, so they never share a run with revenue (see
            # partitions.py): a backfill then writes every chunk's revenue after the next chunk's orders.
            # The model layer's chunks are longer: its runs hold a day of events at a time.
            if name == "warehouse/fact_orders":
                chunk = DAYS_PER_ORDER_LOAD_RUN
            elif name in MODEL_LAYER:
                chunk = DAYS_PER_MODEL_RUN
            else:
                chunk = DAYS_PER_BACKFILL_RUN
            assert policy.max_partitions_per_run == chunk, name
            if name != "ml/segment_models":  # model files, one JSON document per day
                assert "partition_expr" in assets_def.metadata_by_key[key], name


def test_dagster_asset_list_prints_the_keys_and_no_warning(tmp_path: Path) -> None:
    """The user's own CLI commands stay quiet: the project silences the beta/preview notices of the
    APIs it opts into, so `dagster asset list` prints the asset keys and nothing else."""
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path), "RELIABLE_ASSETS_DATA_DIR": str(tmp_path / "data")}
    env.pop("DAGSTER_DEPLOYMENT", None)
    env.pop("PYTHONWARNINGS", None)
    listed = subprocess.run(
        [str(Path(sys.executable).parent / "dagster"), "asset", "list", "-m", "reliable_assets.definitions"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        timeout=120,
    )
    assert listed.stdout.split() == sorted(EXPECTED_KEYS)
    assert "Warning" not in listed.stderr, listed.stderr


def test_executor_is_in_process_by_default_and_an_unknown_one_fails_naming_the_choices(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DAGSTER_DEPLOYMENT", raising=False)
    monkeypatch.delenv(execution.EXECUTOR_ENV, raising=False)
    assert defs().executor is dg.in_process_executor
    monkeypatch.setenv(execution.EXECUTOR_ENV, "forkserver")
    forkserver = defs().executor
    assert isinstance(forkserver, dg.ExecutorDefinition)
    assert forkserver.name == "forkserver_multiprocess"
    monkeypatch.setenv(execution.EXECUTOR_ENV, "threads")
    with pytest.raises(execution.UnknownExecutorError, match=r"in_process.*multiprocess.*forkserver"):
        defs()
