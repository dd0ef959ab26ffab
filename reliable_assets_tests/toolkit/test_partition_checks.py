"""Check results per partition through publish_audited, for single-partition and range runs.

A small daily asset with one blocking check (``value >= 0``) and one WARN check, a real DuckDB
warehouse for the quarantine, and an IO manager that remembers what it was handed.
"""

from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
import pytest

from reliable_assets.toolkit.duckdb_warehouse import DuckDBWarehouse
from reliable_assets.toolkit.frame_checks import not_null_check
from reliable_assets.toolkit.partition_checks import check_spec
from reliable_assets.toolkit.quality_gate import publish_audited

DAILY = dg.DailyPartitionsDefinition(start_date="2026-01-01")
DAYS = ["2026-01-01", "2026-01-02", "2026-01-03"]
KEY = dg.AssetKey(["mart", "readings"])


class Remembering(dg.ConfigurableIOManager):
    """Keeps every frame it is handed, so a test sees what was (not) published."""

    def handle_output(self, context: dg.OutputContext, obj: pd.DataFrame) -> None:
        published_frames.append(obj)

    def load_input(self, context: dg.InputContext) -> Any:
        raise NotImplementedError("nothing downstream reads this asset in these tests")


published_frames: list[pd.DataFrame] = []
on_publish_calls: list[str] = []


def _readings(keys: list[str], bad_day: str | None) -> pd.DataFrame:
    rows = [
        {"day": pd.Timestamp(key), "value": -1.0 if key == bad_day and n == 0 else float(n), "note": "x"}
        for key in keys
        for n in range(3)
    ]
    return pd.DataFrame(rows)


def _asset(bad_day: str | None) -> dg.AssetsDefinition:
    @dg.asset(
        key=KEY,
        partitions_def=DAILY,
        backfill_policy=dg.BackfillPolicy.single_run(),
        metadata={"partition_expr": "day"},
        check_specs=[
            check_spec("value_not_negative", KEY.path, blocking=True, partitions_def=DAILY),
            check_spec("note_present", KEY.path, blocking=False, partitions_def=DAILY),
        ],
        output_required=False,
        io_manager_key="remembering",
    )
    def readings(context: dg.AssetExecutionContext, warehouse: DuckDBWarehouse) -> Any:
        frame = _readings(list(context.partition_keys), bad_day)

        def checks(key: str | None, rows: pd.DataFrame) -> list[dg.AssetCheckResult]:
            negative = rows.loc[rows["value"] < 0]
            return [
                dg.AssetCheckResult(
                    check_name="value_not_negative",
                    passed=negative.empty,
                    metadata={"failing_rows": len(negative), "partition_seen": str(key)},
                ),
                not_null_check(rows, ["note"], "note_present", severity=dg.AssetCheckSeverity.WARN),
            ]

        yield from publish_audited(
            context,
            warehouse,
            lambda: dg.Output(frame),
            frame,
            checks,
            on_publish=lambda: on_publish_calls.append(context.run.run_id),
        )

    return readings


def _run(
    tmp_path: Path, instance: dg.DagsterInstance, bad_day: str | None, keys: list[str]
) -> dg.ExecuteInProcessResult:
    published_frames.clear()
    on_publish_calls.clear()
    tags = (
        {"dagster/asset_partition_range_start": keys[0], "dagster/asset_partition_range_end": keys[-1]}
        if len(keys) > 1
        else None
    )
    return dg.materialize(
        [_asset(bad_day)],
        instance=instance,
        resources={
            "warehouse": DuckDBWarehouse(path=str(tmp_path / "w.duckdb")),
            "remembering": Remembering(),
        },
        partition_key=keys[0] if len(keys) == 1 else None,
        tags=tags,
        raise_on_error=False,
    )


@pytest.fixture
def instance(tmp_path: Path) -> Any:
    with dg.instance_for_test(temp_dir=str(tmp_path)) as test_instance:
        yield test_instance


def _every_day(passed: bool) -> dict[str | None, bool]:
    """Each day's result, and the range summary (partition None), all ``passed``."""
    expected: dict[str | None, bool] = dict.fromkeys(DAYS, passed)
    expected[None] = passed
    return expected


def _by_partition(result: dg.ExecuteInProcessResult, check: str) -> dict[str | None, bool]:
    return {e.partition: e.passed for e in result.get_asset_check_evaluations() if e.check_name == check}


def test_a_range_run_reports_each_check_per_partition(tmp_path: Path, instance: dg.DagsterInstance) -> None:
    """Invariant: a clean range run files one result per check and partition (plus one summary
    without a partition), runs on_publish once, then publishes."""
    result = _run(tmp_path, instance, None, DAYS)
    assert result.success
    for check in ("value_not_negative", "note_present"):
        assert _by_partition(result, check) == _every_day(passed=True)
    seen = {
        e.partition: e.metadata["partition_seen"].value
        for e in result.get_asset_check_evaluations()
        if e.check_name == "value_not_negative" and e.partition
    }
    assert seen == {day: day for day in DAYS}  # each partition was checked on its own rows
    assert len(published_frames) == 1
    assert len(published_frames[0]) == 9
    assert on_publish_calls == [result.run_id]


def test_one_bad_partition_refuses_the_range_and_is_named(
    tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    """Failure mode: day 2 fails the blocking check. Only day 2's result fails; nothing is
    published and on_publish never runs; every result says which partition refused the run and
    where its rows are; Dagster's per-partition check status shows day 2 FAILED."""
    assert _run(tmp_path, instance, None, DAYS).success
    result = _run(tmp_path, instance, DAYS[1], DAYS)
    assert not result.success
    assert _by_partition(result, "value_not_negative") == {
        DAYS[0]: True,
        DAYS[1]: False,
        DAYS[2]: True,
        None: False,
    }
    assert _by_partition(result, "note_present") == _every_day(passed=True)
    assert published_frames == []
    assert on_publish_calls == []

    evaluations = [e for e in result.get_asset_check_evaluations() if e.check_name == "value_not_negative"]
    for evaluation in evaluations:
        assert evaluation.metadata["published"].value is False
        assert evaluation.metadata["refused_by"].value == {DAYS[1]: ["value_not_negative"]}
        assert "ops.quarantine_mart_readings" in str(evaluation.metadata["quarantine"].value)
    summary = next(e for e in evaluations if e.partition is None)
    assert summary.metadata["failed_partitions"].value == [DAYS[1]]
    assert summary.metadata["failing_rows"].value == 1

    check_key = dg.AssetCheckKey(KEY, "value_not_negative")
    status = {
        info.partition_key: info.latest_execution_status.value
        for info in instance.event_log_storage.get_asset_check_partition_info([check_key])
        if info.partition_key
    }
    assert status == {DAYS[0]: "SUCCEEDED", DAYS[1]: "FAILED", DAYS[2]: "SUCCEEDED"}
    quarantined = DuckDBWarehouse(path=str(tmp_path / "w.duckdb")).read_table(
        "ops", "quarantine_mart_readings"
    )
    assert len(quarantined) == 9
    assert (quarantined["value"] < 0).sum() == 1


def test_a_single_partition_run_files_its_results_under_that_partition(
    tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    """Invariant: one partition, one result per check, filed under the run's partition."""
    result = _run(tmp_path, instance, DAYS[2], [DAYS[2]])
    assert not result.success
    assert _by_partition(result, "value_not_negative") == {DAYS[2]: False}
    assert _by_partition(result, "note_present") == {DAYS[2]: True}
    assert published_frames == []
    assert on_publish_calls == []
