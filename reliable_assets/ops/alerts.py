"""The alert sensors: one alert per failed run, per failed check of a run, per missed SLA, per
run far slower than usual.

Where alerts go is the `alerts` resource (toolkit/alerts.py): the `ALERT_WEBHOOK_URL` webhook if
set, always the log and `ops.alerts`, each alert once. Failed freshness checks are the missed
SLAs (`alert_on_freshness`, one alert per asset and deadline, however often the check re-runs);
every other failed check, WARN included, goes through `alert_on_check_failure`. A successful run
whose assets took far longer than their usual p95 is one latency alert (`alert_on_slow_run`,
thresholds in toolkit/slow_runs.py).
"""

from collections.abc import Callable, Iterable

import dagster as dg

from reliable_assets.toolkit.alerts import Alert, AlertSink
from reliable_assets.toolkit.check_failures import FailedCheck, failed_checks_since
from reliable_assets.toolkit.slow_runs import slow_assets

FRESHNESS_CHECK = "freshness_check"
RETRYING_TAG = "dagster/will_retry"
MESSAGE_CHARS = 500


@dg.run_failure_sensor(
    name="alert_on_run_failure", default_status=dg.DefaultSensorStatus.RUNNING, minimum_interval_seconds=30
)
def alert_on_run_failure(context: dg.RunFailureSensorContext, alerts: AlertSink) -> None:
    """A failed run that the instance is not about to retry."""
    run = context.dagster_run
    if run.tags.get(RETRYING_TAG) == "true":
        return  # the retry will alert if it fails too
    partition = run.tags.get("dagster/partition") or "...".join(
        filter(
            None,
            [
                run.tags.get("dagster/asset_partition_range_start"),
                run.tags.get("dagster/asset_partition_range_end"),
            ],
        )
    )
    details = {
        "run": run.run_id,
        "job": run.job_name,
        "assets": ", ".join(sorted(key.to_user_string() for key in run.asset_selection or [])) or "-",
        "partition": partition or "-",
        "error": (_step_errors(context) or context.failure_event.message or "-")[:MESSAGE_CHARS],
    }
    alerts.send([Alert(f"run_failure:{run.run_id}", "run_failure", f"Run of {run.job_name} failed", details)])


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.SUCCESS,
    name="alert_on_slow_run",
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
)
def alert_on_slow_run(context: dg.RunStatusSensorContext, alerts: AlertSink) -> None:
    """One alert per successful run with an asset far slower than its usual p95 (failed runs
    alert as failures already)."""
    run = context.dagster_run
    slow = slow_assets(context.instance, run.run_id)
    if not slow:
        return
    details = {"run": run.run_id, "job": run.job_name}
    details.update({asset.asset_key.to_user_string(): asset.describe() for asset in slow})
    names = ", ".join(asset.asset_key.to_user_string() for asset in slow)
    alerts.send([Alert(f"latency:{run.run_id}", "latency", f"Slow run of {run.job_name}: {names}", details)])


def _step_errors(context: dg.RunFailureSensorContext) -> str:
    """`step: the underlying exception` for each failed step (Dagster wraps the user's error)."""
    errors = []
    for event in context.get_step_failure_events():
        error = event.step_failure_data.error
        while error is not None and error.cause is not None:
            error = error.cause
        if error is not None:
            errors.append(f"{event.step_key}: {error.message.strip()}")
    return "; ".join(errors)


def _check_sensor(
    name: str,
    selects: Callable[[dg.AssetCheckKey], bool],
    to_alerts: Callable[[list[FailedCheck]], list[Alert]],
) -> dg.SensorDefinition:
    @dg.sensor(name=name, minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.RUNNING)
    def watch(context: dg.SensorEvaluationContext, alerts: AlertSink) -> dg.SkipReason:
        repository = context.repository_def
        assert repository is not None, "a sensor of a code location always has its repository"
        keys = [key for key in repository.asset_graph.asset_check_keys if selects(key)]
        watermark = int(context.cursor) if context.cursor else None
        failed, next_watermark = failed_checks_since(context.instance, keys, watermark)
        sent = alerts.send(to_alerts(failed))
        context.update_cursor(str(next_watermark))  # only after every alert went out
        return dg.SkipReason(f"{len(sent)} alert(s) sent; watermark {next_watermark}")

    return watch


def _check_alerts(failed: Iterable[FailedCheck]) -> list[Alert]:
    """One alert per check and run, naming every partition that failed it."""
    grouped: dict[tuple[str, dg.AssetCheckKey], list[FailedCheck]] = {}
    for failure in failed:
        grouped.setdefault((failure.run_id, failure.key), []).append(failure)
    alerts = []
    for (run_id, key), failures in grouped.items():
        partitions = sorted({f.partition for f in failures if f.partition})
        evaluation = next((f.evaluation for f in failures if f.evaluation), None)
        asset = key.asset_key.to_user_string()
        details = {
            "run": run_id,
            "partitions": ", ".join(partitions) or "-",
            "severity": evaluation.severity.value if evaluation else "-",
            "description": (evaluation.description or "-") if evaluation else "-",
        }
        title = f"Check {key.name} failed on {asset}"
        alerts.append(Alert(f"check_failure:{run_id}:{asset}:{key.name}", "check_failure", title, details))
    return alerts


def _freshness_alerts(failed: Iterable[FailedCheck]) -> list[Alert]:
    """One alert per asset and missed deadline (the check fails again at every evaluation)."""
    alerts = []
    for failure in failed:
        metadata = failure.evaluation.metadata if failure.evaluation else {}
        deadline = metadata.get("dagster/latest_cron_tick_timestamp")
        deadline_text = (
            str(deadline.value) if isinstance(deadline, dg.TimestampMetadataValue) else failure.run_id
        )
        asset = failure.key.asset_key.to_user_string()
        description = failure.evaluation.description if failure.evaluation else None
        details = {"deadline (unix time)": deadline_text, "why": description or "-"}
        alerts.append(
            Alert(f"freshness:{asset}:{deadline_text}", "freshness", f"SLA missed: {asset}", details)
        )
    return alerts


alert_on_check_failure = _check_sensor(
    "alert_on_check_failure", lambda key: key.name != FRESHNESS_CHECK, _check_alerts
)
alert_on_freshness = _check_sensor(
    "alert_on_freshness", lambda key: key.name == FRESHNESS_CHECK, _freshness_alerts
)
