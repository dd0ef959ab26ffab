"""The FX rates the API serves and the simulator prices orders with."""

import itertools
from datetime import date, timedelta

from reliable_assets.simulator.rates import CURRENCIES, rates_for


def test_rates_are_deterministic_and_based_on_usd() -> None:
    """Same day, same rates, USD = 1.0, every simulated currency present and positive."""
    day = date(2024, 3, 1)
    assert rates_for(day) == rates_for(date(2024, 3, 1))
    rates = rates_for(day)
    assert set(rates) == set(CURRENCIES)
    assert rates["USD"] == 1.0
    assert all(value > 0 for value in rates.values())


def test_rates_drift_smoothly_from_day_to_day() -> None:
    """Rates change every day but by well under 2% a day (no jumps that would look like bad data)."""
    days = [date(2024, 1, 1) + timedelta(days=i) for i in range(60)]
    series = [rates_for(day) for day in days]
    for before, after in itertools.pairwise(series):
        assert before != after
        for currency in CURRENCIES:
            assert abs(after[currency] / before[currency] - 1) < 0.02
