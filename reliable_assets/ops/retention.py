"""`retention`: prune finished run records older than `keep_days`, but never asset history.

Dagster keeps an asset's materializations as events of the runs that made them: deleting the run
that holds the latest materialization of a partition would make Dagster forget that partition
(automation would materialize it again, freshness would fail, the row-count history would lose a
day). So a run is pruned only when it is finished, older than the cutoff, and every
materialization it made has a newer one for the same asset partition. `keep_days` must cover
the SLA report's window, which reads the instance's run records.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import dagster as dg
from pydantic import Field

from reliable_assets.ops.sla import REPORT_DAYS

FINISHED = [dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED]


class RetentionConfig(dg.Config):
    keep_days: int = Field(
        default=90,
        gt=REPORT_DAYS,
        description=f"Keep every run newer than this; more than the SLA report's {REPORT_DAYS} days.",
    )
    dry_run: bool = Field(default=False, description="Report what would be pruned, delete nothing.")


@dataclass(frozen=True)
class Pruned:
    deleted: list[str]
    kept_for_history: list[str]


def holds_latest_materialization(instance: dg.DagsterInstance, run_id: str) -> bool:
    """True if some materialization of the run is still the newest of its asset partition."""
    records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION).records
    for record in records:
        materialization = record.asset_materialization
        if materialization is None:
            continue
        # Compared by run id, not storage id: SQLite storage numbers a run's own events apart
        # from the asset index.
        latest = instance.fetch_materializations(
            dg.AssetRecordsFilter(
                asset_key=materialization.asset_key,
                asset_partitions=[materialization.partition] if materialization.partition else None,
            ),
            limit=1,
        )
        if latest.records and latest.records[0].run_id == run_id:
            return True
    return False


def prune_runs(
    instance: dg.DagsterInstance, cutoff: datetime, dry_run: bool, spare: str | None = None
) -> Pruned:
    """Delete (unless ``dry_run``) the finished runs last updated before ``cutoff`` that hold no
    latest materialization; ``spare`` is never touched (the pruning run itself)."""
    old = instance.get_run_records(filters=dg.RunsFilter(statuses=FINISHED, updated_before=cutoff))
    deleted, kept = [], []
    for record in old:
        run_id = record.dagster_run.run_id
        if run_id == spare:
            continue
        if holds_latest_materialization(instance, run_id):
            kept.append(run_id)
            continue
        if not dry_run:
            instance.delete_run(run_id)
        deleted.append(run_id)
    return Pruned(deleted, kept)


@dg.op(description="Delete old finished runs whose materializations all have newer ones.")
def prune_old_runs(context: dg.OpExecutionContext, config: RetentionConfig) -> dg.Output[int]:
    cutoff = datetime.now(UTC) - timedelta(days=config.keep_days)
    pruned = prune_runs(context.instance, cutoff, config.dry_run, spare=context.run.run_id)
    return dg.Output(
        len(pruned.deleted),
        metadata={
            "cutoff": cutoff.isoformat(),
            "dry_run": config.dry_run,
            "runs_deleted" if not config.dry_run else "runs_that_would_be_deleted": len(pruned.deleted),
            "runs_kept_for_asset_history": len(pruned.kept_for_history),
        },
    )


@dg.job(description="Prune old run records without losing any asset's latest materialization.")
def retention() -> None:
    prune_old_runs()


retention_schedule = dg.ScheduleDefinition(
    name="retention_schedule",
    job=retention,
    cron_schedule="0 4 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
