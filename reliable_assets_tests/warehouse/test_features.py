"""User features and daily revenue on small frames."""

from datetime import date

import numpy as np
import pandas as pd

from reliable_assets.warehouse.features import daily_revenue, order_history, user_features

DAY = pd.Timestamp("2024-01-10")
CUSTOMERS = pd.DataFrame(
    {
        "customer_id": [1, 2, 3],
        "country": ["US", "DE", "US"],
        "signup_date": pd.to_datetime(["2024-01-01", "2024-01-05", "2024-02-01"]),
        "is_deleted": [False, False, False],
    }
)
ORDERS = pd.DataFrame(
    {
        "order_id": ["a", "b", "c", "d"],
        "customer_id": [1, 1, 2, 1],
        "order_date": pd.to_datetime(["2024-01-09", "2024-01-10", "2024-01-10", "2024-01-10"]),
        "status": ["paid", "cancelled", "paid", "delivered"],
        "is_deleted": [False, False, False, True],
        "amount_usd": [10.0, 99.0, 5.5, 77.0],
    }
)
EVENTS_NONE = pd.DataFrame(
    {"event_id": [], "user_id": [], "session_id": [], "event_type": [], "event_date": pd.to_datetime([])}
)


def test_revenue_counts_only_billable_orders_per_day_and_country() -> None:
    """Cancelled and deleted orders are not revenue; the rest sums per (day, country)."""
    revenue = daily_revenue(ORDERS, CUSTOMERS)
    assert revenue.to_dict("records") == [
        {
            "revenue_date": pd.Timestamp("2024-01-09"),
            "country": "US",
            "orders": 1,
            "revenue_usd": 10.0,
            "avg_order_value_usd": 10.0,
        },
        {
            "revenue_date": pd.Timestamp("2024-01-10"),
            "country": "DE",
            "orders": 1,
            "revenue_usd": 5.5,
            "avg_order_value_usd": 5.5,
        },
    ]


def test_features_cover_signed_up_users_with_activity_and_history() -> None:
    """One row per user signed up by the day; events of the day and paid orders up to it."""
    events = pd.DataFrame(
        {
            "event_id": ["e1", "e2", "e3"],
            "user_id": [1, 1, 2],
            "session_id": ["s1", "s1", "s9"],
            "event_type": ["page_view", "checkout", "search"],
            "event_date": [DAY, DAY, DAY - pd.Timedelta(days=1)],
        }
    )
    features = user_features(date(2024, 1, 10), events, CUSTOMERS, order_history(ORDERS)).set_index("user_id")
    assert list(features.index) == [1, 2]  # customer 3 signs up later
    assert features.loc[1, "events"] == 2
    assert features.loc[1, "checkouts"] == 1
    assert features.loc[1, "sessions"] == 1
    assert features.loc[2, "events"] == 0  # yesterday's event does not count today
    assert features.loc[1, "orders_to_date"] == 1
    assert features.loc[1, "revenue_to_date_usd"] == 10.0
    assert features.loc[1, "days_since_last_order"] == 1
    assert features.loc[2, "days_since_last_order"] == 0
    assert features.loc[2, "orders_to_date"] == 1
    assert features.loc[2, "days_since_signup"] == 5


def test_summarized_history_gives_the_same_features_as_every_order() -> None:
    """Invariant: collapsing the orders before a run's first day into a row per customer changes no
    feature of that day or later; it holds one row per customer instead of one per order."""
    rng = np.random.default_rng(7)
    n = 3_000
    customer_ids = rng.integers(1, 4, n)
    # Customer 1 ordered only before the first day: its last order comes from the summary row.
    day_offsets = np.where(customer_ids == 1, rng.integers(0, 40, n), rng.integers(0, 45, n))
    orders = pd.DataFrame(
        {
            "order_id": [f"o{i}" for i in range(n)],
            "customer_id": customer_ids,
            "order_date": pd.Timestamp("2023-12-01") + pd.to_timedelta(day_offsets, unit="D"),
            "status": rng.choice(["paid", "cancelled", "delivered", "placed"], n),
            "is_deleted": rng.random(n) < 0.1,
            "amount_usd": (rng.random(n) * 500).round(2),
        }
    )
    first_day = date(2024, 1, 10)  # 40 days after 2023-12-01
    summarized = order_history(orders, summarized_before=first_day)
    assert (summarized["order_date"] < pd.Timestamp(first_day)).sum() == 3  # a row per customer
    every_order = order_history(orders)
    for day in pd.date_range(first_day, "2024-01-14").date:
        pd.testing.assert_frame_equal(
            user_features(day, EVENTS_NONE, CUSTOMERS, summarized),
            user_features(day, EVENTS_NONE, CUSTOMERS, every_order),
        )
