"""Segment assignment and the small per-segment model (least squares, numpy only)."""

from typing import Any

import numpy as np
import pandas as pd

HIGH_VALUE_USD = 500.0
NEW_USER_DAYS = 30
CHURNED_AFTER_DAYS = 7
FEATURES = ["events", "page_views", "searches", "add_to_cart"]
TARGET = "checkouts"
MIN_SAMPLES = 5
FAILED = "failed"


def assign_segment(features: pd.DataFrame) -> pd.Series:
    """One segment per user-day; the first rule that matches wins."""
    active = features["events"] > 0
    rules = [
        ("new_users", features["days_since_signup"] <= NEW_USER_DAYS),
        ("high_value", features["revenue_to_date_usd"] >= HIGH_VALUE_USD),
        ("dormant", ~active & (features["orders_to_date"] == 0)),
        ("churned", ~active & (features["days_since_last_order"].fillna(0) > CHURNED_AFTER_DAYS)),
    ]
    segment = pd.Series("mid_value", index=features.index, dtype="string")
    for name, matches in reversed(rules):
        segment = segment.mask(matches.fillna(False).astype(bool), name)
    return segment


def _model_header(segment: str, model_date: str, n_samples: int) -> dict[str, Any]:
    return {
        "segment": segment,
        "model_date": model_date,
        "features": FEATURES,
        "target": TARGET,
        "n_samples": n_samples,
    }


def failed_model(segment: str, model_date: str, n_samples: int, error: Exception) -> dict[str, Any]:
    """The record of a segment whose training raised: no model, and the error that says why."""
    return {
        **_model_header(segment, model_date, n_samples),
        "status": FAILED,
        "error": f"{type(error).__name__}: {error}",
        "coefficients": None,
        "intercept": None,
        "r2": None,
        "mae": None,
    }


def train_segment_model(rows: pd.DataFrame, segment: str, model_date: str) -> dict[str, Any]:
    """Fit checkouts ~ activity by least squares; report fit quality (r2, mae) on the training rows."""
    model = _model_header(segment, model_date, len(rows))
    if len(rows) < MIN_SAMPLES:
        return {
            **model,
            "status": "insufficient_data",
            "coefficients": None,
            "intercept": None,
            "r2": None,
            "mae": None,
        }
    design = np.column_stack([np.ones(len(rows)), rows[FEATURES].to_numpy(dtype=float)])
    target = rows[TARGET].to_numpy(dtype=float)
    solution, *_ = np.linalg.lstsq(design, target, rcond=None)
    predicted = design @ solution
    residual = float(((target - predicted) ** 2).sum())
    spread = float(((target - target.mean()) ** 2).sum())
    # Rounded so the same data always gives byte-identical model files and content hashes.
    return {
        **model,
        "status": "trained",
        "intercept": round(float(solution[0]), 8),
        "coefficients": {
            name: round(float(value), 8) for name, value in zip(FEATURES, solution[1:], strict=True)
        },
        "r2": round(1.0 - residual / spread, 6) if spread > 0 else 0.0,
        "mae": round(float(np.abs(target - predicted).mean()), 6),
    }
