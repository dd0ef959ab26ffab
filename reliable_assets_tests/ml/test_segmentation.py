"""Segment rules and the per-segment model."""

import numpy as np
import pandas as pd

from reliable_assets.ml.segmentation import assign_segment, train_segment_model


def test_segments_follow_their_rules_in_priority_order() -> None:
    """new_users beats high_value; inactive users split into dormant (never ordered) and churned."""
    features = pd.DataFrame(
        {
            "days_since_signup": [3, 100, 100, 100, 100],
            "revenue_to_date_usd": [900.0, 900.0, 0.0, 50.0, 50.0],
            "events": [1, 1, 0, 0, 3],
            "orders_to_date": [2, 5, 0, 1, 1],
            "days_since_last_order": pd.array([1, 2, pd.NA, 30, 30], dtype="Int64"),
        }
    )
    assert list(assign_segment(features)) == ["new_users", "high_value", "dormant", "churned", "mid_value"]


def test_model_fits_a_linear_relation_and_is_deterministic() -> None:
    """Least squares recovers checkouts = 0.5 * add_to_cart; same rows, same model dict."""
    generator = np.random.default_rng(3)
    rows = pd.DataFrame(
        generator.integers(0, 20, size=(30, 4)), columns=["events", "page_views", "searches", "add_to_cart"]
    )
    rows["checkouts"] = rows["add_to_cart"] * 0.5
    model = train_segment_model(rows, "mid_value", "2024-01-01")
    assert model["status"] == "trained"
    assert model["r2"] == 1.0
    assert abs(model["coefficients"]["add_to_cart"] - 0.5) < 1e-6
    assert train_segment_model(rows, "mid_value", "2024-01-01") == model


def test_too_few_samples_is_reported_not_fitted() -> None:
    """A segment with fewer than 5 users gets no model, and says why."""
    rows = pd.DataFrame(
        {"events": [1], "page_views": [1], "searches": [0], "add_to_cart": [1], "checkouts": [1]}
    )
    model = train_segment_model(rows, "churned", "2024-01-01")
    assert model["status"] == "insufficient_data"
    assert model["coefficients"] is None
