"""Operational assets: the SLA report."""

from datetime import UTC, datetime, timedelta

import dagster as dg
import pandas as pd

from reliable_assets.ops.sla import (
    REPORT_COLUMNS,
    REPORT_DAYS,
    SLA_AFTER_DAY_END,
    materializations,
    p95_run_seconds,
    sla_rows,
)
from reliable_assets.toolkit.retries import retried_if_transient
from reliable_assets.toolkit.versioned_output import versioned_output


@dg.asset(
    code_version="v1",
    key=["ops", "sla_report"],
    group_name="ops",
    io_manager_key="warehouse_io_manager",
    deps=[dg.AssetDep(["warehouse", "daily_revenue"]), dg.AssetDep(["ml", "model_registry"])],
    metadata={"write_mode": "replace", "allow_empty": True},
    automation_condition=dg.AutomationCondition.on_cron("0 10 * * *", cron_timezone="UTC"),
    kinds={"pandas", "sql"},
)
@retried_if_transient
def sla_report(context: dg.AssetExecutionContext) -> dg.Output[pd.DataFrame]:
    """SLA compliance of the last 30 days, read from the instance's own materialization records."""
    now = datetime.now(UTC)
    since = now - timedelta(days=REPORT_DAYS + 2)
    frames, summary = [], {}
    for asset_key, sla in SLA_AFTER_DAY_END.items():
        records = materializations(context.instance, asset_key, since)
        rows = sla_rows(asset_key, records, sla, now)
        frames.append(rows)
        on_time = float(rows["on_time"].mean()) if len(rows) else None
        summary[asset_key] = {
            "sla_hours_after_day_end": sla.total_seconds() / 3600,
            "partitions": len(rows),
            "on_time_rate": round(on_time, 4) if on_time is not None else None,
            "p95_run_seconds": p95_run_seconds(context.instance, {r.run_id for r in records}),
        }
    report = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=REPORT_COLUMNS)
    return versioned_output(context, report, sla_summary=dg.MetadataValue.json(summary))
