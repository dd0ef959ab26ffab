"""Per-segment models (fan-out over date x segment) and the model registry (fan-in per date)."""

from typing import Any

import dagster as dg
import pandas as pd
from pydantic import Field

from reliable_assets.ml.segmentation import assign_segment, train_segment_model
from reliable_assets.partitions import SEGMENTS, chunked_backfill, daily, daily_by_segment
from reliable_assets.toolkit.content_hash import frame_content_hash
from reliable_assets.toolkit.frame_checks import unique_check
from reliable_assets.toolkit.partition_checks import check_spec
from reliable_assets.toolkit.partition_filter import PartitionFilter, TimeRange, ValueSet
from reliable_assets.toolkit.quality_gate import AuditedEvents, publish_audited
from reliable_assets.toolkit.versioned_output import versioned_output
from reliable_assets.toolkit.warehouse import Warehouse

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
    key=["ml", "segment_models"],
    group_name="ml",
    io_manager_key="model_io_manager",
    ins={"features": dg.AssetIn(key=["warehouse", "user_features"])},
    partitions_def=daily_by_segment,
    automation_condition=dg.AutomationCondition.eager(),
    kinds={"numpy", "json"},
)
def segment_models(
    context: dg.AssetExecutionContext, features: pd.DataFrame, warehouse: Warehouse
) -> dg.Output[dict[str, Any]]:
    """One small model per (day, segment): a JSON model file; metrics in `ml.segment_model_metrics`."""
    keys = daily_by_segment.get_partition_key_from_str(context.partition_key).keys_by_dimension
    model_date, segment = keys["date"], keys["segment"]
    members = features.loc[assign_segment(features) == segment]
    model = train_segment_model(members, segment, model_date)
    metrics = (
        pd.DataFrame([{column: model[column] for column in METRIC_COLUMNS}])
        .astype(METRIC_TYPES)
        .assign(model_date=pd.Timestamp(model_date), _run_id=context.run.run_id)
    )
    day = pd.Timestamp(model_date)
    warehouse.replace_partition(
        "ml",
        "segment_model_metrics",
        metrics,
        PartitionFilter(
            (TimeRange("model_date", day, day + pd.Timedelta(days=1)), ValueSet("segment", (segment,)))
        ),
    )
    content_hash = frame_content_hash(pd.json_normalize(model))
    return dg.Output(
        model,
        data_version=dg.DataVersion(content_hash),
        metadata={
            "status": model["status"],
            "n_samples": model["n_samples"],
            "r2": model["r2"] or 0.0,
            "content_hash": content_hash,
        },
    )


class PromotionConfig(dg.Config):
    min_r2: float = Field(default=0.2, description="A model must explain at least this share of variance.")
    min_samples: int = Field(default=20, description="...and be trained on at least this many users.")


@dg.asset(
    key=["ml", "model_registry"],
    group_name="ml",
    io_manager_key="warehouse_io_manager",
    ins={"models": dg.AssetIn(key=["ml", "segment_models"])},
    partitions_def=daily,
    backfill_policy=chunked_backfill,
    metadata={
        "write_mode": "upsert",
        "primary_key": ["segment", "model_date"],
        "partition_expr": "model_date",
    },
    automation_condition=dg.AutomationCondition.eager(),
    check_specs=[
        check_spec("segment_day_unique", ["ml", "model_registry"], blocking=True, partitions_def=daily)
    ],
    output_required=False,
    kinds={"pandas", "sql"},
)
def model_registry(
    context: dg.AssetExecutionContext,
    config: PromotionConfig,
    models: dict[str, dict[str, Any]],
    warehouse: Warehouse,
) -> AuditedEvents:
    """Fan-in: every segment's model of the day, and whether it is promoted."""
    rows = []
    for model in sorted(models.values(), key=lambda m: m["segment"]):
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
    missing = sorted(set(SEGMENTS) - set(registry["segment"]))
    yield from publish_audited(
        context,
        warehouse,
        lambda: versioned_output(
            context, registry, promoted=int(registry["promoted"].sum()), missing_segments=", ".join(missing)
        ),
        registry,
        lambda _, rows: [unique_check(rows, ["segment", "model_date"], "segment_day_unique")],
    )
