"""The ml group's checks, as functions of published data: a day's model file and registry rows.

ml/segment_models declares one `<segment>_trained` check per segment and ml/model_registry
declares `segment_day_unique`; `reliable-assets check` evaluates them here on the model file and
the registry table. The assets compute the same results inside their runs.
"""

from collections.abc import Mapping
from typing import Any

import dagster as dg
import pandas as pd

from reliable_assets.ml.segmentation import FAILED
from reliable_assets.partitions import SEGMENTS
from reliable_assets.toolkit.frame_checks import unique_check

SEGMENT_CHECKS = {segment: f"{segment}_trained" for segment in SEGMENTS}
MISSING = "missing"


def trained_checks(models: Mapping[str, Mapping[str, Any]]) -> list[dg.AssetCheckResult]:
    """One result per segment of a day's ``{segment: model}``: failed when its training failed
    (or, in a published file, when the segment is not there at all)."""
    results = []
    for segment, check_name in SEGMENT_CHECKS.items():
        model = models.get(segment)
        status = str(model["status"]) if model is not None else MISSING
        metadata: dict[str, dg.RawMetadataValue] = {
            "status": status,
            "n_samples": int(model["n_samples"]) if model is not None else 0,
        }
        if model is not None and model.get("error"):
            metadata["error"] = str(model["error"])
        results.append(
            dg.AssetCheckResult(
                check_name=check_name,
                passed=status not in (FAILED, MISSING),
                severity=dg.AssetCheckSeverity.ERROR,
                metadata=metadata,
            )
        )
    return results


def registry_checks(rows: pd.DataFrame) -> list[dg.AssetCheckResult]:
    """ml/model_registry: one row per (segment, model_date)."""
    return [unique_check(rows, ["segment", "model_date"], "segment_day_unique")]
