"""Per-segment models (fan-out over date x segment) and the model registry (fan-in per date)."""

import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import dagster as dg
import pandas as pd
from pydantic import Field

from reliable_assets.ml.checks import SEGMENT_CHECKS, registry_checks, trained_checks
from reliable_assets.ml.segmentation import FAILED, assign_segment, failed_model, train_segment_model
from reliable_assets.partitions import SEGMENTS, daily, model_backfill
from reliable_assets.toolkit.automation import follow_upstream
from reliable_assets.toolkit.content_hash import frame_content_hash
from reliable_assets.toolkit.partition_checks import as_events, check_spec
from reliable_assets.toolkit.partition_days import partition_days
from reliable_assets.toolkit.partition_filter import PartitionFilter
from reliable_assets.toolkit.quality_gate import AuditedEvents, publish_audited
from reliable_assets.toolkit.retries import retried_if_transient
from reliable_assets.toolkit.versioned_output import combined_hash, versioned_output
from reliable_assets.toolkit.warehouse import Warehouse

# Models follow their day's features, however old the day (see toolkit/automation.py).
FOLLOW_UPSTREAM = follow_upstream()
METRIC_COLUMNS = ["model_date", "segment", "status", "n_samples", "r2", "mae"]
# Explicit, because a segment without enough data has no r2/mae and None alone types as text.
METRIC_TYPES = {
    "segment": "string",
    "status": "string",
    "n_samples": "int64",
    "r2": "float64",
    "mae": "float64",
}


@dg.asset(
    code_version="v1",
    key=["ml", "segment_models"],
    group_name="ml",
    io_manager_key="model_io_manager",
    ins={"features": dg.AssetIn(key=["warehouse", "user_features"])},
    partitions_def=daily,
    backfill_policy=model_backfill,
    automation_condition=FOLLOW_UPSTREAM,
    check_specs=[
        check_spec(name, ["ml", "segment_models"], blocking=False, partitions_def=daily)
        for name in SEGMENT_CHECKS.values()
    ],
    kinds={"numpy", "json"},
)
@retried_if_transient
def segment_models(
    context: dg.AssetExecutionContext, features: pd.DataFrame, warehouse: Warehouse
) -> Iterator[dg.Output[dict[str, Any]] | dg.AssetCheckResult | dg.AssetCheckEvaluation]:
    """The five segments' models of each day, trained in parallel: one JSON file per day holding
    every segment's model; metrics in `ml.segment_model_metrics`. A segment whose training fails
    is recorded as `failed`, its check fails, and the other segments are published as usual."""
    days = [day.isoformat() for day in partition_days(context)]
    models = train_all_segments(features, days, log=context.log)
    metrics = (
        pd.DataFrame([{column: model.get(column) for column in METRIC_COLUMNS} for model in models])
        .astype(METRIC_TYPES)
        .assign(model_date=lambda f: pd.to_datetime(f["model_date"]), _run_id=context.run.run_id)
    )
    window = context.partition_time_window
    warehouse.replace_partition(
        "ml",
        "segment_model_metrics",
        metrics,
        PartitionFilter.time_range("model_date", pd.Timestamp(window.start), pd.Timestamp(window.end)),
    )
    by_day: dict[str, dict[str, Any]] = {day: {} for day in days}
    for model in models:
        by_day[model["model_date"]][model["segment"]] = model
    yield from as_events(context, {day: trained_checks(by_day[day]) for day in days})
    hashes = {day: frame_content_hash(pd.json_normalize(list(by_day[day].values()))) for day in days}
    if len(days) > 1:
        for day, content_hash in hashes.items():
            context.add_asset_metadata({"content_hash": content_hash}, partition_key=day)
    version = hashes[days[0]] if len(days) == 1 else combined_hash(hashes)
    yield dg.Output(
        by_day[days[0]] if len(days) == 1 else by_day,
        data_version=dg.DataVersion(version),
        metadata={
            "models": len(models),
            "trained": sum(model["status"] == "trained" for model in models),
            "failed": sum(model["status"] == FAILED for model in models),
            "content_hash": version,
        },
    )


def train_all_segments(features: pd.DataFrame, days: list[str], log: Any) -> list[dict[str, Any]]:
    """Every (day, segment) model, trained on a thread pool (numpy's least squares releases the
    GIL); a failure becomes that model's `failed` record instead of stopping the others."""
    feature_day = pd.to_datetime(features["feature_date"]).dt.strftime("%Y-%m-%d")
    # Each (day, segment)'s rows, in frame order, found in one pass (not a mask per task).
    positions = features.groupby([feature_day, assign_segment(features)], sort=False).indices
    tasks = [(day, segment) for day in days for segment in SEGMENTS]

    def train(task: tuple[str, str]) -> dict[str, Any]:
        day, segment = task
        members = features.iloc[positions.get(task, [])]
        try:
            return train_segment_model(members, segment, day)
        except Exception as error:
            log.error(f"segment {segment} of {day} failed: {type(error).__name__}: {error}")
            return failed_model(segment, day, len(members), error)

    with ThreadPoolExecutor(max_workers=min(len(tasks), os.cpu_count() or 1)) as pool:
        return list(pool.map(train, tasks))


class PromotionConfig(dg.Config):
    min_r2: float = Field(default=0.2, description="A model must explain at least this share of variance.")
    min_samples: int = Field(default=20, description="...and be trained on at least this many users.")


@dg.asset(
    code_version="v1",
    key=["ml", "model_registry"],
    group_name="ml",
    io_manager_key="warehouse_io_manager",
    ins={"models": dg.AssetIn(key=["ml", "segment_models"])},
    partitions_def=daily,
    backfill_policy=model_backfill,
    metadata={
        "write_mode": "upsert",
        "primary_key": ["segment", "model_date"],
        "partition_expr": "model_date",
    },
    automation_condition=FOLLOW_UPSTREAM,
    check_specs=[
        check_spec("segment_day_unique", ["ml", "model_registry"], blocking=True, partitions_def=daily)
    ],
    output_required=False,
    kinds={"pandas", "sql"},
)
@retried_if_transient
def model_registry(
    context: dg.AssetExecutionContext,
    config: PromotionConfig,
    models: dict[str, dict[str, Any]],
    warehouse: Warehouse,
) -> AuditedEvents:
    """Fan-in: every segment's model of the day, and whether it is promoted."""
    days = [day.isoformat() for day in partition_days(context)]
    # One day's input is that day's {segment: model}; a range's is {day: {segment: model}}.
    by_day = {days[0]: models} if len(days) == 1 else models
    rows = []
    for model in sorted(
        (model for day in days for model in by_day.get(day, {}).values()),
        key=lambda m: (m["model_date"], m["segment"]),
    ):
        good_enough = (model["r2"] or 0.0) >= config.min_r2 and model["n_samples"] >= config.min_samples
        rows.append(
            {
                "model_date": pd.Timestamp(model["model_date"]),
                "segment": model["segment"],
                "status": model["status"],
                "n_samples": int(model["n_samples"]),
                "r2": model["r2"],
                "mae": model["mae"],
                "promoted": bool(model["status"] == "trained" and good_enough),
            }
        )
    registry = pd.DataFrame(rows).astype(METRIC_TYPES)
    missing = sorted(
        f"{day}|{segment}" for day in days for segment in SEGMENTS if segment not in by_day.get(day, {})
    )
    yield from publish_audited(
        context,
        warehouse,
        lambda: versioned_output(
            context, registry, promoted=int(registry["promoted"].sum()), missing_segments=", ".join(missing)
        ),
        registry,
        lambda _, rows: registry_checks(rows),
    )
