"""`retention` prunes old runs but never the run that holds a partition's latest materialization."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest

from reliable_assets.ops.retention import prune_runs, retention

DAILY = dg.DailyPartitionsDefinition(start_date="2026-01-01")


@dg.asset(partitions_def=DAILY)
def daily_thing() -> int:
    return 1


@dg.asset
def whole_thing() -> int:
    return 2


@dg.op
def broken() -> None:
    raise RuntimeError("boom")


@dg.job
def broken_job() -> None:
    broken()


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test(temp_dir=str(tmp_path)) as test_instance:
        yield test_instance


def _materialize(
    instance: dg.DagsterInstance, asset: dg.AssetsDefinition, partition: str | None = None
) -> str:
    return dg.materialize([asset], instance=instance, partition_key=partition).run_id


def _latest_run(instance: dg.DagsterInstance, key: str, partition: str | None = None) -> str:
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(
            asset_key=dg.AssetKey(key), asset_partitions=[partition] if partition else None
        ),
        limit=1,
    ).records
    return records[0].run_id


def test_superseded_and_failed_runs_go_latest_materializations_stay(instance: dg.DagsterInstance) -> None:
    """Invariant: after pruning everything old, every asset partition still has its latest
    materialization, and only runs that held none are gone."""
    superseded = _materialize(instance, daily_thing, "2026-01-01")
    latest_day1 = _materialize(instance, daily_thing, "2026-01-01")
    only_day2 = _materialize(instance, daily_thing, "2026-01-02")
    old_whole = _materialize(instance, whole_thing)
    latest_whole = _materialize(instance, whole_thing)
    failed = broken_job.execute_in_process(instance=instance, raise_on_error=False).run_id

    future = datetime.now(UTC) + timedelta(seconds=5)  # everything so far counts as old
    preview = prune_runs(instance, future, dry_run=True)
    assert sorted(preview.deleted) == sorted([superseded, old_whole, failed])
    assert instance.get_run_by_id(superseded) is not None  # a dry run deletes nothing

    pruned = prune_runs(instance, future, dry_run=False)
    assert sorted(pruned.deleted) == sorted([superseded, old_whole, failed])
    assert sorted(pruned.kept_for_history) == sorted([latest_day1, only_day2, latest_whole])
    for run_id in pruned.deleted:
        assert instance.get_run_by_id(run_id) is None
    assert _latest_run(instance, "daily_thing", "2026-01-01") == latest_day1
    assert _latest_run(instance, "daily_thing", "2026-01-02") == only_day2
    assert _latest_run(instance, "whole_thing") == latest_whole


def test_recent_runs_are_kept_and_the_window_cannot_undercut_the_sla_report(
    instance: dg.DagsterInstance,
) -> None:
    """Invariant: the job with its default 90 days prunes nothing recent; a keep_days inside the
    SLA report's 30-day window is refused before anything is deleted."""
    superseded = _materialize(instance, whole_thing)
    _materialize(instance, whole_thing)
    result = retention.execute_in_process(instance=instance)
    assert result.output_for_node("prune_old_runs") == 0
    assert instance.get_run_by_id(superseded) is not None

    refused = retention.execute_in_process(
        instance=instance,
        run_config={"ops": {"prune_old_runs": {"config": {"keep_days": 7}}}},
        raise_on_error=False,
    )
    assert not refused.success
    (failure,) = [e for e in refused.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    error = failure.step_failure_data.error
    assert error is not None
    assert "keep_days" in str(error.cause.message if error.cause else error.message)
    assert instance.get_run_by_id(superseded) is not None
