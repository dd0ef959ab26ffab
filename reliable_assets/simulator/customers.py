"""Simulated customers: sign-ups over the past year and during the window, some later updates."""

import bisect
import itertools
from dataclasses import dataclass
from datetime import datetime, timedelta

from reliable_assets.simulator.config import SimulationConfig
from reliable_assets.simulator.seeding import derive_rng

COUNTRIES: tuple[str, ...] = ("US", "DE", "GB", "FR", "JP", "BR", "CA")
_COUNTRY_WEIGHTS = (40, 12, 12, 10, 10, 8, 8)
SEGMENT_HINTS: tuple[str, ...] = ("high_value", "mid_value", "new_users", "churned", "dormant")
# How often a customer of each kind orders or browses, relative to the others.
ACTIVITY: dict[str, float] = {
    "high_value": 6.0,
    "mid_value": 2.0,
    "new_users": 1.5,
    "churned": 0.3,
    "dormant": 0.1,
}
_FIRST = ("ada", "ben", "chloe", "dan", "emma", "felix", "gina", "hugo", "iris", "jon", "kim", "lea")
_LAST = ("smith", "muller", "dubois", "tanaka", "silva", "brown", "martin", "sato", "costa", "lee")
_PRE_WINDOW_SHARE = 0.85  # the rest sign up during the simulated days
_UPDATED_SHARE = 0.2
_NEW_USER_DAYS = 30


@dataclass(frozen=True)
class Customer:
    customer_id: int
    name: str
    email: str
    country: str
    segment_hint: str
    signed_up_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class CustomerBase:
    """Customers sorted by sign-up, with an index to pick active customers fast."""

    customers: tuple[Customer, ...]
    _signups: tuple[datetime, ...]
    _cum_activity: tuple[float, ...]

    @classmethod
    def of(cls, customers: list[Customer]) -> "CustomerBase":
        ordered = tuple(sorted(customers, key=lambda c: c.signed_up_at))
        cum = tuple(itertools.accumulate(ACTIVITY[c.segment_hint] for c in ordered))
        return cls(ordered, tuple(c.signed_up_at for c in ordered), cum)

    def pick_active(self, at: datetime, draw: float) -> Customer:
        """A customer signed up before `at`, weighted by activity; `draw` is uniform in [0, 1)."""
        # The first customer always signs up before the window, so `eligible` is at least 1.
        eligible = max(1, bisect.bisect_right(self._signups, at))
        target = draw * self._cum_activity[eligible - 1]
        return self.customers[min(bisect.bisect_right(self._cum_activity, target), eligible - 1)]


def customer_count(config: SimulationConfig) -> int:
    return max(50, config.orders_per_day)


def generate_customers(config: SimulationConfig) -> CustomerBase:
    rng = derive_rng(config.seed, "customers")
    total = customer_count(config)
    pre_window = max(1, int(total * _PRE_WINDOW_SHARE))
    window_seconds = config.days * 86_400
    signups = sorted(
        config.window_start - timedelta(seconds=rng.randrange(1, 365 * 86_400))
        if i < pre_window
        else config.window_start + timedelta(seconds=rng.randrange(window_seconds))
        for i in range(total)
    )
    customers = []
    for customer_id, signed_up_at in enumerate(signups, start=1):
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        country = rng.choices(COUNTRIES, weights=_COUNTRY_WEIGHTS)[0]
        email = f"{first}.{last}{customer_id}@example.com"
        updated_at = signed_up_at
        if rng.random() < _UPDATED_SHARE:
            # A later change of email or country, inside the window and after the sign-up.
            earliest = max(signed_up_at, config.window_start) + timedelta(seconds=1)
            span = int((config.window_end - earliest).total_seconds())
            if span > 0:
                updated_at = earliest + timedelta(seconds=rng.randrange(span))
                if rng.random() < 0.5:
                    email = f"{first}.{last}{customer_id}@mail.example.org"
                else:
                    country = rng.choice([c for c in COUNTRIES if c != country])
        customers.append(
            Customer(
                customer_id=customer_id,
                name=f"{first.title()} {last.title()}",
                email=email,
                country=country,
                segment_hint=_segment(rng.random(), signed_up_at, config),
                signed_up_at=signed_up_at,
                updated_at=updated_at,
            )
        )
    return CustomerBase.of(customers)


def _segment(draw: float, signed_up_at: datetime, config: SimulationConfig) -> str:
    if signed_up_at >= config.window_start - timedelta(days=_NEW_USER_DAYS):
        return "new_users"
    for segment, upper in (("high_value", 0.15), ("mid_value", 0.6), ("churned", 0.8)):
        if draw < upper:
            return segment
    return "dormant"
