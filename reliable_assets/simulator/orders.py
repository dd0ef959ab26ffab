"""Simulated orders: the state of every order at the end of the window.

Each order lives through placed -> paid -> shipped -> delivered (or is cancelled) over the days
after it is placed; the row shows the last step before the window's end, with `updated_at` at
that step, so many rows change on a later day than they were placed. A few are soft-deleted.
With a bad rate, a fraction of orders is made invalid in one of three ways the pipeline must
dead-letter.
"""

import math
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from random import Random

from reliable_assets.simulator.config import SimulationConfig
from reliable_assets.simulator.customers import CustomerBase
from reliable_assets.simulator.rates import rates_for
from reliable_assets.simulator.seeding import derive_rng

STATUSES: tuple[str, ...] = ("placed", "paid", "shipped", "delivered", "cancelled")
HOME_CURRENCY: dict[str, str] = {
    "US": "USD",
    "DE": "EUR",
    "FR": "EUR",
    "GB": "GBP",
    "JP": "JPY",
    "CA": "CAD",
    "BR": "BRL",
}
ZERO_DECIMAL_CURRENCIES = frozenset({"JPY"})
BAD_ORDER_KINDS: tuple[str, ...] = ("negative_total", "unknown_currency", "missing_customer")
UNKNOWN_CURRENCY = "ZZZ"
DELETE_RATE = 0.03
# Gap between the last real customer id and the ids of missing customers.
MISSING_CUSTOMER_GAP = 1_000_000
_BASKET_USD = {"high_value": 180.0, "mid_value": 70.0}
_DEFAULT_BASKET_USD = 45.0


@dataclass(frozen=True)
class Order:
    order_id: str
    customer_id: int
    order_ts: datetime
    updated_at: datetime
    status: str
    currency: str
    total_amount: float
    is_deleted: bool


def generate_orders(config: SimulationConfig, customers: CustomerBase) -> tuple[list[Order], dict[str, str]]:
    """All orders of the window, and the invalid ones as {order_id: kind}."""
    orders: list[Order] = []
    bad: dict[str, str] = {}
    for index, day in enumerate(config.day_list):
        day_orders, day_bad = _orders_of_day(config, customers, day, index)
        orders.extend(day_orders)
        bad.update(day_bad)
    return orders, bad


def _orders_of_day(
    config: SimulationConfig, customers: CustomerBase, day: date, day_index: int
) -> tuple[list[Order], dict[str, str]]:
    rng = derive_rng(config.seed, "orders", day.isoformat())
    day_start = datetime.combine(day, datetime.min.time())
    placed_times = sorted(
        day_start + timedelta(seconds=rng.randrange(86_400)) for _ in range(config.orders_per_day)
    )
    rates = rates_for(day)
    orders = []
    for seq, placed_at in enumerate(placed_times, start=1):
        customer = customers.pick_active(placed_at, rng.random())
        currency = HOME_CURRENCY[customer.country] if rng.random() < 0.85 else "USD"
        basket_usd = _BASKET_USD.get(customer.segment_hint, _DEFAULT_BASKET_USD)
        amount = _round_amount(math.exp(rng.gauss(math.log(basket_usd), 0.6)) * rates[currency], currency)
        status, updated_at = _lifecycle(rng, placed_at, config.window_end)
        order = Order(
            order_id=f"o-{day:%Y%m%d}-{seq:06d}",
            customer_id=customer.customer_id,
            order_ts=placed_at,
            updated_at=updated_at,
            status=status,
            currency=currency,
            total_amount=amount,
            is_deleted=False,
        )
        orders.append(order)

    bad = _pick_bad(rng, orders, config.bad_rate, day_index)
    # Unique per order and above every real customer id.
    first_missing_id = len(customers.customers) + MISSING_CUSTOMER_GAP + day_index * len(orders)
    result = []
    for position, placed in enumerate(orders):
        final = placed
        if placed.order_id in bad:
            final = _make_bad(placed, bad[placed.order_id], first_missing_id + position)
        elif rng.random() < DELETE_RATE:
            # Bad orders are never deleted too: each must reach the dead letters as it is.
            final = _soft_delete(rng, placed, config.window_end)
        result.append(final)
    return result, bad


def _round_amount(amount: float, currency: str) -> float:
    if currency in ZERO_DECIMAL_CURRENCIES:
        return float(max(1, round(amount)))
    return max(0.01, round(amount, 2))


def _lifecycle(rng: Random, placed_at: datetime, window_end: datetime) -> tuple[str, datetime]:
    """The last status reached before `window_end`, and when it was reached."""
    steps: list[tuple[str, datetime]] = []
    moment = placed_at
    if rng.random() < 0.07:
        steps.append(("cancelled", moment + timedelta(seconds=rng.randrange(600, 2 * 86_400))))
    elif rng.random() < 0.95:
        for status, low, high in (
            ("paid", 60, 2 * 3600),
            ("shipped", 12 * 3600, 2 * 86_400),
            ("delivered", 86_400, 4 * 86_400),
        ):
            moment += timedelta(seconds=rng.randrange(low, high))
            steps.append((status, moment))
    status, updated_at = "placed", placed_at
    for step_status, step_at in steps:
        if step_at >= window_end:
            break
        status, updated_at = step_status, step_at
    return status, updated_at


def _soft_delete(rng: Random, order: Order, window_end: datetime) -> Order:
    deleted_at = order.updated_at + timedelta(seconds=rng.randrange(600, 86_400))
    if deleted_at >= window_end:
        return order
    return replace(order, is_deleted=True, updated_at=deleted_at)


def _pick_bad(rng: Random, orders: list[Order], bad_rate: float, day_index: int) -> dict[str, str]:
    """round(bad_rate * n) orders, the kinds taken in turn so each kind gets its share."""
    chosen = sorted(rng.sample(range(len(orders)), round(bad_rate * len(orders))))
    return {
        orders[i].order_id: BAD_ORDER_KINDS[(n + day_index) % len(BAD_ORDER_KINDS)]
        for n, i in enumerate(chosen)
    }


def _make_bad(order: Order, kind: str, missing_customer_id: int) -> Order:
    if kind == "negative_total":
        return replace(order, total_amount=-order.total_amount)
    if kind == "unknown_currency":
        return replace(order, currency=UNKNOWN_CURRENCY)
    return replace(order, customer_id=missing_customer_id)
