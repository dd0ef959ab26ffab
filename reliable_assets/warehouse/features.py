"""Per-user features as of a day, and revenue per day and country."""

from collections.abc import Callable
from datetime import date

import pandas as pd

EVENT_COUNTS = {
    "page_views": "page_view",
    "searches": "search",
    "add_to_cart": "add_to_cart",
    "checkouts": "checkout",
}
FEATURE_COLUMNS = [
    "user_id",
    "feature_date",
    "country",
    "days_since_signup",
    "events",
    *EVENT_COUNTS,
    "sessions",
    "orders_to_date",
    "revenue_to_date_usd",
    "days_since_last_order",
]
REVENUE_COLUMNS = ["revenue_date", "country", "orders", "revenue_usd", "avg_order_value_usd"]
# What features count of `daily_events` (rows are counted, so not their event_id: the largest column,
# a distinct string per event).
EVENT_FEATURE_COLUMNS = ["user_id", "session_id", "event_type", "event_date"]
# What `order_history` reads of fact_orders: a features run late in a year reads every order
# before its days, so it reads these columns only.
ORDER_HISTORY_COLUMNS = ["customer_id", "order_date", "amount_usd", "status", "is_deleted"]


def billable(orders: pd.DataFrame) -> pd.DataFrame:
    """Orders that count as revenue: neither cancelled nor deleted."""
    return orders.loc[~orders["is_deleted"].astype(bool) & (orders["status"] != "cancelled")]


def order_history(orders: pd.DataFrame, summarized_before: date | None = None) -> pd.DataFrame:
    """The billable ``orders`` as history rows (customer_id, order_date, amount_usd, orders): one per
    order, except that those before ``summarized_before`` collapse into one row per customer (how
    many, their total, the last day), valid for features of that day on. A run late in a long history
    then holds a row per customer instead of every order since the start."""
    rows = billable(orders)[["customer_id", "order_date", "amount_usd"]].assign(orders=1)
    if summarized_before is None:
        return rows
    earlier = rows["order_date"] < pd.Timestamp(summarized_before)
    summary = (
        rows.loc[earlier]
        .groupby("customer_id", as_index=False)
        .agg(order_date=("order_date", "max"), amount_usd=("amount_usd", "sum"), orders=("orders", "sum"))
    )
    return pd.concat([summary, rows.loc[~earlier]], ignore_index=True)


def user_features(
    day: date, events: pd.DataFrame, customers: pd.DataFrame, history: pd.DataFrame
) -> pd.DataFrame:
    """One row per customer signed up by `day` (deleted ones left out), as of the end of `day`;
    ``history`` is `order_history` of the orders up to `day`."""
    as_of = pd.Timestamp(day)
    users = customers.loc[~customers["is_deleted"].astype(bool) & (customers["signup_date"] <= as_of)]
    frame = users[["customer_id", "country", "signup_date"]].rename(columns={"customer_id": "user_id"})
    todays = events.loc[events["event_date"] == as_of]
    activity = todays.groupby("user_id").agg(events=("user_id", "size"), sessions=("session_id", "nunique"))
    for column, event_type in EVENT_COUNTS.items():
        activity[column] = todays.loc[todays["event_type"] == event_type].groupby("user_id").size()
    to_date = (
        history.loc[history["order_date"] <= as_of]
        .groupby("customer_id")
        .agg(
            orders_to_date=("orders", "sum"),
            revenue_to_date_usd=("amount_usd", "sum"),
            last_order_date=("order_date", "max"),
        )
    )
    frame = frame.join(activity, on="user_id").join(to_date, on="user_id")
    counts = ["events", "sessions", *EVENT_COUNTS, "orders_to_date"]
    frame[counts] = frame[counts].fillna(0).astype("int64")
    frame["revenue_to_date_usd"] = frame["revenue_to_date_usd"].fillna(0.0).round(2)
    frame["days_since_signup"] = (as_of - frame["signup_date"]).dt.days.astype("int64")
    frame["days_since_last_order"] = (as_of - frame["last_order_date"]).dt.days.astype("Int64")
    frame["feature_date"] = as_of
    return frame[FEATURE_COLUMNS].sort_values("user_id").reset_index(drop=True)


def paid(orders: pd.DataFrame) -> pd.DataFrame:
    """Billable orders that were paid: one still `placed` has not brought any money in yet."""
    billed = billable(orders)
    return billed.loc[billed["status"] != "placed"]


def daily_revenue(
    orders: pd.DataFrame,
    customers: pd.DataFrame,
    counted: Callable[[pd.DataFrame], pd.DataFrame] = billable,
) -> pd.DataFrame:
    """Revenue per order day and customer country, in USD, of the orders ``counted`` keeps."""
    countries = customers.set_index("customer_id")["country"]
    paid = counted(orders).assign(country=lambda f: f["customer_id"].map(countries).fillna("unknown"))
    revenue = (
        paid.groupby(["order_date", "country"])
        .agg(orders=("order_id", "size"), revenue_usd=("amount_usd", "sum"))
        .reset_index()
        .rename(columns={"order_date": "revenue_date"})
    )
    revenue["revenue_usd"] = revenue["revenue_usd"].round(2)
    revenue["avg_order_value_usd"] = (revenue["revenue_usd"] / revenue["orders"]).round(2)
    revenue["orders"] = revenue["orders"].astype("int64")
    return revenue[REVENUE_COLUMNS].sort_values(["revenue_date", "country"]).reset_index(drop=True)
