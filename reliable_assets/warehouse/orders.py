"""Cleaning extracted order versions into `fact_orders` rows (typed, in USD) or dead letters."""

from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

FACT_COLUMNS = [
    "order_id",
    "customer_id",
    "order_ts",
    "order_date",
    "updated_at",
    "status",
    "currency",
    "total_amount",
    "units_per_usd",
    "amount_usd",
    "is_deleted",
    "extract_date",
]
ORDER_STATUSES = frozenset({"placed", "paid", "shipped", "delivered", "cancelled"})


class CleanedOrders(NamedTuple):
    fact: pd.DataFrame
    rejected: list["RejectedOrder"]
    # Per extract day (ISO date): versions dropped because a later extraction in the same range
    # carries the order.
    superseded: dict[str, int]


@dataclass(frozen=True)
class RejectedOrder:
    record: dict[str, Any]
    error_type: str
    error_message: str


def _rejection(row: pd.Series, known_customers: set[int]) -> tuple[str, str] | None:
    """The first rule the order version breaks, as (error type, message), or None."""
    if pd.isna(row["order_id"]) or pd.isna(row["customer_id"]) or pd.isna(row["total_amount"]):
        return "missing_field", "order_id, customer_id and total_amount are required"
    if int(row["customer_id"]) not in known_customers:
        return "missing_customer", f"customer_id {int(row['customer_id'])} is not in dim_customers"
    if float(row["total_amount"]) < 0:
        return "negative_total", f"total_amount {row['total_amount']} is negative"
    if pd.isna(row["units_per_usd"]):
        return (
            "unknown_currency",
            f"no FX rate for currency {row['currency']!r} on {row['extract_date']:%Y-%m-%d}",
        )
    if row["status"] not in ORDER_STATUSES:
        return "invalid_status", f"status {row['status']!r} is not one of {sorted(ORDER_STATUSES)}"
    return None


def _may_be_rejected(joined: pd.DataFrame, known_customers: set[int]) -> "np.ndarray[Any, Any]":
    """True for every row `_rejection` refuses, and perhaps a few it accepts (a superset: each
    rule's vectorised form flags at least what the rule refuses)."""
    missing = joined["order_id"].isna() | joined["customer_id"].isna() | joined["total_amount"].isna()
    unknown_customer = ~joined["customer_id"].isin(known_customers)
    negative = ~(joined["total_amount"] >= 0)  # NaN compares False: flagged
    no_rate = joined["units_per_usd"].isna()
    bad_status = ~joined["status"].isin(ORDER_STATUSES)
    flagged: np.ndarray[Any, Any] = (missing | unknown_customer | negative | no_rate | bad_status).to_numpy()
    return flagged


def clean_orders(
    raw_orders: pd.DataFrame, fx_rates: pd.DataFrame, known_customers: set[int]
) -> CleanedOrders:
    """Typed fact rows in USD, and every order version that was refused with its reason.

    Amounts are converted at the rate of the extract day: a row re-extracted by the next day's
    overlap window is then re-converted at that day's rate, and `extract_date` (the upsert's
    version column) makes the later extraction win, whatever order the partitions ran in.
    """
    rates = fx_rates.rename(columns={"rate_date": "extract_date"})[
        ["extract_date", "currency", "units_per_usd"]
    ]
    joined = raw_orders.merge(rates, on=["extract_date", "currency"], how="left", validate="many_to_one")
    bad = np.zeros(len(joined), dtype=bool)
    rejected = []
    # The exact rules run only on the rows a vectorised test flags: it flags every row they refuse.
    for position in np.flatnonzero(_may_be_rejected(joined, known_customers)):
        reason = _rejection(joined.iloc[position], known_customers)
        if reason is not None:
            bad[position] = True
            record = {str(k): v for k, v in raw_orders.iloc[position].items()}
            rejected.append(RejectedOrder(record=record, error_type=reason[0], error_message=reason[1]))
    good = joined.loc[~bad]
    order_ts = pd.to_datetime(good["order_ts"])
    fact = good.assign(
        customer_id=good["customer_id"].astype("int64"),
        order_ts=order_ts,
        order_date=order_ts.dt.normalize(),
        updated_at=pd.to_datetime(good["updated_at"]),
        amount_usd=(good["total_amount"] / good["units_per_usd"]).round(2),
        is_deleted=good["is_deleted"].astype(bool),
        extract_date=pd.to_datetime(good["extract_date"]),
    )
    # The overlap window can bring the same order twice into one range run: keep its newest extraction.
    latest = fact.sort_values(["order_id", "extract_date"]).drop_duplicates("order_id", keep="last")
    dropped = fact.loc[fact.index.difference(latest.index), "extract_date"]
    superseded = {day.date().isoformat(): int(n) for day, n in dropped.value_counts().items()}
    return CleanedOrders(latest[FACT_COLUMNS].reset_index(drop=True), rejected, superseded)
