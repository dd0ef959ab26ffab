"""pandera models become one asset check per column contract, with samples, never an exception."""

import pandas as pd

from reliable_assets.raw.schemas import RawOrders
from reliable_assets.toolkit.pandera_checks import check_names, pandera_check_results, pandera_check_specs


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


def test_one_spec_and_one_result_per_column_contract() -> None:
    """Specs and results line up one to one, and a clean frame passes them all."""
    specs = pandera_check_specs(RawOrders, ["raw", "orders"])
    results = pandera_check_results(RawOrders, _orders())
    assert [s.name for s in specs] == check_names(RawOrders) == [r.check_name for r in results]
    assert all(r.passed for r in results)


def test_a_source_that_changed_shape_fails_the_right_contracts_with_samples() -> None:
    """A timestamp in a new format fails updated_at's contract; a dropped column fails the table contract."""
    results = {
        r.check_name: r for r in pandera_check_results(RawOrders, _orders(updated_at="01/01/2024 11:00"))
    }
    failed = {name for name, r in results.items() if not r.passed}
    assert failed == {"updated_at_contract"}
    assert results["updated_at_contract"].metadata["failing_rows"].value == 1
    assert results["updated_at_contract"].metadata["failing_samples"].value == ["01/01/2024 11:00"]

    dropped = {r.check_name: r for r in pandera_check_results(RawOrders, _orders().drop(columns="currency"))}
    assert not dropped["columns_present"].passed
