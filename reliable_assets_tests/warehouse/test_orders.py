"""Cleaning order versions: typed USD rows or dead letters with the right error type."""

import pandas as pd

from reliable_assets.warehouse.orders import clean_orders

DAY = pd.Timestamp("2024-01-02")
RATES = pd.DataFrame({"rate_date": [DAY, DAY], "currency": ["USD", "EUR"], "units_per_usd": [1.0, 0.8]})


def _order(
    order_id: str, customer_id: int = 1, currency: str = "EUR", total: float = 80.0, **extra: object
) -> dict:
    return {
        "order_id": order_id,
        "customer_id": customer_id,
        "order_ts": "2024-01-02 08:00:00",
        "updated_at": "2024-01-02 09:00:00",
        "status": "paid",
        "currency": currency,
        "total_amount": total,
        "is_deleted": 0,
        "extract_date": DAY,
        **extra,
    }


def test_valid_orders_are_typed_and_converted_to_usd() -> None:
    """amount_usd = total / units_per_usd of the extract day, rounded to cents."""
    fact, rejected, _ = clean_orders(pd.DataFrame([_order("o1")]), RATES, {1})
    assert rejected == []
    assert fact.loc[0, "amount_usd"] == 100.0
    assert fact.loc[0, "order_date"] == DAY
    assert fact["customer_id"].dtype == "int64"
    assert fact["is_deleted"].dtype == bool


def test_each_kind_of_bad_order_becomes_a_dead_letter_with_its_type() -> None:
    """Negative totals, unknown currencies and missing customers are refused, each with its own error type."""
    raw = pd.DataFrame(
        [
            _order("ok"),
            _order("neg", total=-5.0),
            _order("cur", currency="ZZZ"),
            _order("cust", customer_id=99),
        ]
    )
    fact, rejected, _ = clean_orders(raw, RATES, {1})
    assert list(fact["order_id"]) == ["ok"]
    assert {r.record["order_id"]: r.error_type for r in rejected} == {
        "neg": "negative_total",
        "cur": "unknown_currency",
        "cust": "missing_customer",
    }
    assert all(r.error_message for r in rejected)


def test_an_order_extracted_twice_in_a_range_keeps_its_latest_extraction() -> None:
    """The overlap window brings an order into two days of one range run; one row per order_id remains."""
    later = DAY + pd.Timedelta(days=1)
    rates = pd.concat([RATES, RATES.assign(rate_date=later)])
    fact, _, superseded = clean_orders(
        pd.DataFrame([_order("o1"), _order("o1", extract_date=later)]), rates, {1}
    )
    assert superseded == {DAY.date().isoformat(): 1}  # the earlier day's version gave way
    assert len(fact) == 1
    assert fact.loc[0, "extract_date"] == later
