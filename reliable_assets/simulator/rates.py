"""Deterministic FX rates (base USD) that drift smoothly from day to day.

Each currency follows slow sine waves around a realistic level, with phases taken from hashlib,
plus a small daily wobble also from hashlib: the same date always gives the same rates, in every
process, and neighbouring days differ by a fraction of a percent as real rates do.
"""

import math
from datetime import date

from reliable_assets.simulator.seeding import stable_digest

BASE_CURRENCY = "USD"

# Units of the currency per US dollar, roughly where they traded in the mid-2020s.
_LEVELS: dict[str, float] = {
    "EUR": 0.92,
    "GBP": 0.79,
    "JPY": 150.0,
    "CAD": 1.36,
    "BRL": 5.0,
}
CURRENCIES: tuple[str, ...] = (BASE_CURRENCY, *_LEVELS)


def _unit(*parts: object) -> float:
    """A number in [0, 1) derived from the parts."""
    return int(stable_digest(*parts)[:13], 16) / float(16**13)


def rates_for(day: date) -> dict[str, float]:
    """Units of each currency per USD on `day`; USD is 1.0."""
    t = day.toordinal()
    rates = {BASE_CURRENCY: 1.0}
    for currency, level in _LEVELS.items():
        yearly = 0.06 * math.sin(2 * math.pi * (t / 365.25 + _unit("fx-phase-year", currency)))
        monthly = 0.015 * math.sin(2 * math.pi * (t / 29.5 + _unit("fx-phase-month", currency)))
        daily = 0.002 * (_unit("fx-day", currency, day.isoformat()) - 0.5)
        # Rounding to 6 significant digits hides last-ulp libm differences between platforms.
        rates[currency] = float(f"{level * math.exp(yearly + monthly + daily):.6g}")
    return rates
