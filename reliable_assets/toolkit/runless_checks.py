"""Asset checks evaluated outside a run, from Dagster's own records, and recorded back as
asset check evaluations so the UI's check rows show them.

Three parts, none of which knows any domain:

* the latest materialization of an asset partition, its recorded ``row_count`` and the trailing
  partitions' counts (what :func:`row_count_history.row_count_anomaly_checks` reads inside a run);
* time-partition freshness by a deadline after each day ends, judged like Dagster's
  ``build_time_partition_freshness_checks``: once the deadline of the last completed day has
  passed, that day's partition must have a materialization;
* :func:`record_evaluation`: one ``AssetCheckEvaluation`` per result, pointing at the partition's
  latest materialization, which is what makes Dagster count it as the check's *current* result.

Why not ``DagsterInstance.report_runless_asset_event``, the public way to report an evaluation
outside a run? In Dagster 1.13 it files every evaluation under the run id ``""``, and the
``asset_check_executions`` table is unique on (asset, check, run id, partition): the second
runless evaluation of the same check and partition fails with an IntegrityError (unpartitioned
checks escape only because their partition is NULL). So the evaluations of one invocation are
filed under an id of their own, through ``instance.report_dagster_event`` (the call
``report_runless_asset_event`` makes, with ``""``); every re-check then adds a row like a new run
of the check would. The id names no run in the run storage; the UI shows it in the check's
history and does not look it up (only planned evaluations are resolved against runs).
"""

import uuid
from datetime import UTC, datetime, timedelta

import dagster as dg

# Not exported by `dagster`: without it a runless evaluation targets no materialization, and
# Dagster then treats it as stale for every partition that has one (the UI's check row stays
# empty). It is the type Dagster itself fills in for checks run inside a step.
from dagster._core.definitions.asset_checks.asset_check_evaluation import (  # noqa: TID251 - no public API exports this type
    AssetCheckEvaluationTargetMaterializationData,
)

from reliable_assets.toolkit.row_count_anomaly import row_count_anomaly_check
from reliable_assets.toolkit.row_count_history import HISTORY_PARTITIONS, recorded_row_counts

RECORDING_JOB_NAME = "reliable_assets_check"  # the job name the recorded events carry
FRESHNESS_CHECK = "freshness_check"  # the name Dagster's freshness check factories declare


def latest_materialization(
    instance: dg.DagsterInstance, asset_key: dg.AssetKey, partition: str | None
) -> dg.EventLogRecord | None:
    """The newest materialization of ``partition`` (of any partition when None)."""
    records_filter = dg.AssetRecordsFilter(
        asset_key=asset_key, asset_partitions=[partition] if partition is not None else None
    )
    records = instance.fetch_materializations(records_filter, limit=1).records
    return records[0] if records else None


def trailing_keys(
    partitions_def: dg.PartitionsDefinition, key: str, window: int = HISTORY_PARTITIONS
) -> list[str]:
    """The ``window`` partition keys just before ``key`` (fewer near the first partition)."""
    all_keys = list(partitions_def.get_partition_keys())
    if key not in all_keys:
        return []
    position = all_keys.index(key)
    return all_keys[max(0, position - window) : position]


def recorded_row_count_anomaly(
    instance: dg.DagsterInstance,
    asset_key: dg.AssetKey,
    partitions_def: dg.PartitionsDefinition,
    key: str,
    rows: int,
    check_name: str = "row_count_anomaly",
) -> dg.AssetCheckResult:
    """``rows`` of the published partition against the counts Dagster recorded for the trailing
    partitions: the asset's own check, with every partition of the history already published."""
    before = trailing_keys(partitions_def, key)
    counts = recorded_row_counts(instance, asset_key, before)
    return row_count_anomaly_check(check_name, rows, [counts[k] for k in before if k in counts])


def expected_daily_partition(after_day_end: timedelta, now: datetime) -> str:
    """The last day whose deadline (end of day + ``after_day_end``, UTC) is at or before ``now``."""
    return ((now.astimezone(UTC) - after_day_end).date() - timedelta(days=1)).isoformat()


def daily_partition_freshness(
    instance: dg.DagsterInstance,
    asset_key: dg.AssetKey,
    after_day_end: timedelta,
    now: datetime,
    first_partition: str,
    check_name: str = FRESHNESS_CHECK,
    severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.WARN,
) -> tuple[str, dg.AssetCheckResult]:
    """(the partition expected by now, whether it has been materialized)."""
    expected = expected_daily_partition(after_day_end, now)
    deadline = datetime.fromisoformat(expected).replace(tzinfo=UTC) + timedelta(days=1) + after_day_end
    metadata: dict[str, dg.RawMetadataValue] = {
        "expected_partition": expected,
        "deadline": dg.MetadataValue.timestamp(deadline),
        "evaluated_at": dg.MetadataValue.timestamp(now),
    }
    if expected < first_partition:
        result = dg.AssetCheckResult(
            check_name=check_name,
            passed=True,
            severity=severity,
            description=f"no partition is due yet: {expected} is before the first one, {first_partition}",
            metadata=metadata,
        )
        return expected, result
    found = latest_materialization(instance, asset_key, expected)
    if found is None:
        latest = latest_materialization(instance, asset_key, None)
        if latest is not None:
            metadata["last_updated"] = dg.MetadataValue.timestamp(latest.timestamp)
        description = f"overdue: partition {expected} was due by {deadline:%Y-%m-%d %H:%M} UTC"
    else:
        metadata["materialized_at"] = dg.MetadataValue.timestamp(found.timestamp)
        description = f"fresh: partition {expected} has been materialized"
    result = dg.AssetCheckResult(
        check_name=check_name,
        passed=found is not None,
        severity=severity,
        description=description,
        metadata=metadata,
    )
    return expected, result


def new_evaluation_id() -> str:
    """The id one invocation's evaluations are filed under (see the module docstring)."""
    return f"check-{uuid.uuid4()}"


def record_evaluation(
    instance: dg.DagsterInstance,
    asset_key: dg.AssetKey,
    result: dg.AssetCheckResult,
    *,
    partition: str | None,
    blocking: bool,
    evaluation_id: str,
    metadata: "dict[str, dg.RawMetadataValue] | None" = None,
) -> None:
    """Store ``result`` as an evaluation of the check (of ``partition``, for a partitioned check)
    that targets the latest materialization of that partition, if there is one."""
    target = latest_materialization(instance, asset_key, partition)
    evaluation = dg.AssetCheckEvaluation(
        asset_key=asset_key,
        check_name=result.check_name or "",
        passed=result.passed,
        metadata={**(result.metadata or {}), **(metadata or {})},
        target_materialization_data=(
            AssetCheckEvaluationTargetMaterializationData(
                storage_id=target.storage_id, run_id=target.run_id, timestamp=target.timestamp
            )
            if target is not None
            else None
        ),
        severity=result.severity,
        description=result.description,
        blocking=blocking,
        partition=partition,
    )
    instance.report_dagster_event(
        dg.DagsterEvent(
            event_type_value=dg.DagsterEventType.ASSET_CHECK_EVALUATION.value,
            job_name=RECORDING_JOB_NAME,
            event_specific_data=evaluation,
        ),
        run_id=evaluation_id,
    )
