"""Materialize the whole asset graph for a span of days through Dagster's own run machinery.

Assets with different partitions cannot share a run, so the graph runs as three in-process jobs,
in dependency order — the same implicit asset jobs `dagster asset materialize` executes:
unpartitioned raw and dimension tables, one range run of every daily asset (raw, warehouse,
segment models and registry), then the SLA report.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import dagster as dg

from reliable_assets.toolkit.partition_days import RANGE_END_TAG, RANGE_START_TAG

SNAPSHOT_ASSETS = ["raw/customers", "warehouse/dim_customers"]
DAILY_ASSETS = [
    "raw/orders",
    "raw/events",
    "raw/fx_rates",
    "warehouse/fact_orders",
    "warehouse/daily_events",
    "warehouse/user_features",
    "warehouse/daily_revenue",
    "warehouse/revenue_shadow",
    "ml/segment_models",
    "ml/model_registry",
]


@dataclass(frozen=True)
class RunOutcome:
    label: str
    run_id: str
    success: bool
    checks: list[dg.AssetCheckEvaluation]


def execute_assets(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    keys: Sequence[str],
    label: str,
    tags: dict[str, str] | None = None,
    partition_key: str | None = None,
    log_level: str = "DEBUG",
) -> RunOutcome:
    asset_keys = [dg.AssetKey.from_user_string(key) for key in keys]
    job = defs.get_repository_def().get_implicit_job_def_for_assets(asset_keys)
    if job is None:
        raise ValueError(f"{keys} do not share a partitions definition, so they cannot run together")
    result = job.execute_in_process(
        instance=instance,
        asset_selection=asset_keys,
        tags=tags,
        partition_key=partition_key,
        raise_on_error=False,
        run_config={"loggers": {"console": {"config": {"log_level": log_level}}}},
    )
    return RunOutcome(label, result.run_id, result.success, list(result.get_asset_check_evaluations()))


def materialize_graph(
    defs: dg.Definitions, instance: dg.DagsterInstance, days: Sequence[date], log_level: str = "DEBUG"
) -> list[RunOutcome]:
    """Run every asset for `days` (consecutive); stops at the first failed run and returns what ran."""
    first, last = days[0].isoformat(), days[-1].isoformat()
    day_range = {RANGE_START_TAG: first, RANGE_END_TAG: last}
    plan: list[tuple[list[str], str, dict[str, str] | None, str | None]] = [
        (SNAPSHOT_ASSETS, "customers snapshot", None, None),
        (DAILY_ASSETS, f"daily assets {first}...{last}", day_range, None),
    ]
    plan.append((["ops/sla_report"], "SLA report", None, None))
    outcomes = []
    for keys, label, tags, partition_key in plan:
        outcome = execute_assets(defs, instance, keys, label, tags, partition_key, log_level)
        outcomes.append(outcome)
        if not outcome.success:
            break
    return outcomes
