"""A pandera model becomes one asset check that says, per column, what failed: never an exception."""

from typing import Any

import dagster as dg
import pandas as pd

from reliable_assets.raw.schemas import RawOrders
from reliable_assets.toolkit.pandera_checks import (
    CONTRACT_CHECK,
    TABLE_LEVEL,
    pandera_check_results,
    pandera_check_specs,
)


def _orders(**overrides: object) -> pd.DataFrame:
    row = {
        "order_id": "o-1",
        "customer_id": 1,
        "order_ts": "2024-01-01 10:00:00",
        "updated_at": "2024-01-01 11:00:00",
        "status": "paid",
        "currency": "EUR",
        "total_amount": 10.0,
        "is_deleted": 0,
    }
    return pd.DataFrame([{**row, **overrides}])


def _json(result: dg.AssetCheckResult, name: str) -> Any:
    return result.metadata[name].value


def test_one_spec_and_one_result_that_a_clean_frame_passes() -> None:
    """Spec and result share the name; the spec's description lists every column's contract."""
    (spec,) = pandera_check_specs(RawOrders, ["raw", "orders"])
    (result,) = pandera_check_results(RawOrders, _orders())
    assert spec.name == result.check_name == CONTRACT_CHECK
    assert spec.blocking
    for column in RawOrders.to_schema().columns:
        assert f"{column}: " in str(spec.description)
    assert result.passed
    assert result.metadata["failing_rows"].value == 0
    assert result.metadata["failing_columns"].value == []


def test_a_source_that_changed_shape_names_the_failing_columns_with_samples() -> None:
    """A timestamp in a new format fails updated_at's contract; a dropped column fails the table."""
    frame = pd.concat([_orders(), _orders(order_id="o-2", updated_at="01/01/2024 11:00")], ignore_index=True)
    (result,) = pandera_check_results(RawOrders, frame)
    assert not result.passed
    assert result.metadata["failing_rows"].value == 1
    assert result.metadata["rows_checked"].value == 2
    assert result.metadata["failing_columns"].value == ["updated_at"]
    assert result.metadata["failing_rows_by_column"].value == {"updated_at": 1}
    assert result.metadata["failing_samples"].value == {"updated_at": ["01/01/2024 11:00"]}
    assert _json(result, "failed_checks")["updated_at"]

    (dropped,) = pandera_check_results(RawOrders, _orders().drop(columns="currency"))
    assert not dropped.passed
    assert TABLE_LEVEL in _json(dropped, "failing_columns")
    assert "currency" in str(_json(dropped, "failing_samples")[TABLE_LEVEL])


def test_failures_in_several_columns_are_each_reported() -> None:
    """Two broken columns in two rows: both named, each with its own count and sample."""
    frame = pd.concat(
        [_orders(updated_at="yesterday"), _orders(order_id="o-2", order_ts="soon")], ignore_index=True
    )
    (result,) = pandera_check_results(RawOrders, frame)
    assert not result.passed
    assert result.metadata["failing_rows"].value == 2
    assert result.metadata["failing_columns"].value == ["order_ts", "updated_at"]
    assert result.metadata["failing_samples"].value == {"order_ts": ["soon"], "updated_at": ["yesterday"]}
