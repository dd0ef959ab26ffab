"""The production instance configs in deploy/ load through Dagster itself, and Dagster's own
storage on PostgreSQL records real runs."""

from pathlib import Path

import dagster as dg
import psycopg2
import pytest

from reliable_assets_tests.pg_server import pg_database_url, pg_url, with_database  # noqa: F401

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
INSTANCE_CONFIGS = sorted(path.name for path in DEPLOY.glob("dagster*.yaml"))


def _psycopg2_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg2://", 1)


def test_deploy_holds_the_plain_and_the_ecs_instance_config() -> None:
    """Invariant: deploy/ keeps both production instance configs this test validates."""
    assert INSTANCE_CONFIGS == ["dagster-ecs.yaml", "dagster.yaml"]


@pytest.mark.parametrize("config_name", INSTANCE_CONFIGS)
def test_instance_config_loads_through_dagster(
    config_name: str,
    pg_database_url: str,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Invariant: every instance yaml in deploy/ passes Dagster's own config validation and builds
    a real instance (storage on PostgreSQL, S3 compute logs, queued runs, the declared launcher)
    from env vars alone; the files hold no literal secrets."""
    text = (DEPLOY / config_name).read_text()
    assert "password" not in text.lower().replace("user:password@", "")
    monkeypatch.setenv("DAGSTER_PG_URL", _psycopg2_url(pg_database_url))
    monkeypatch.setenv("DAGSTER_COMPUTE_LOGS_BUCKET", "dummy-bucket")
    monkeypatch.setenv("DAGSTER_COMPUTE_LOGS_PREFIX", "compute-logs")
    monkeypatch.setenv("DAGSTER_ECS_CONTAINER", "user-code")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    # DagsterInstance.from_config validates the yaml against the instance schema (the same path
    # `dagster-daemon` takes with DAGSTER_HOME) and then instantiates every configured class.
    instance = dg.DagsterInstance.from_config(str(DEPLOY), config_name)
    try:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
        assert type(instance.schedule_storage).__name__ == "PostgresScheduleStorage"
        assert type(instance.compute_log_manager).__name__ == "S3ComputeLogManager"
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
        assert instance.run_retries_enabled
        assert instance.run_monitoring_enabled
        expected_launcher = "EcsRunLauncher" if "ecs" in config_name else "DefaultRunLauncher"
        assert type(instance.run_launcher).__name__ == expected_launcher
    finally:
        instance.dispose()


@dg.asset
def tiny() -> int:
    return 1


def test_dagster_storage_on_postgres_records_a_real_run(pg_database_url: str) -> None:  # noqa: F811
    """Invariant: with run/event/schedule storage on PostgreSQL (postgresql+psycopg2 URL), a real
    run is recorded: its status, its materialization, and rows in PostgreSQL's own tables."""
    overrides = {"storage": {"postgres": {"postgres_url": _psycopg2_url(pg_database_url)}}}
    with dg.instance_for_test(overrides=overrides) as instance:
        result = dg.materialize([tiny], instance=instance)
        assert result.success
        record = instance.get_run_record_by_id(result.run_id)
        assert record is not None
        assert record.dagster_run.status == dg.DagsterRunStatus.SUCCESS
        materialization = instance.get_latest_materialization_event(dg.AssetKey("tiny"))
        assert materialization is not None
        assert materialization.run_id == result.run_id
    connection = psycopg2.connect(pg_database_url)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT status FROM runs WHERE run_id = %s", [result.run_id])
            assert cursor.fetchall() == [("SUCCESS",)]
    finally:
        connection.close()
