"""The FX rates API, as the raw group sees it."""

from collections.abc import Callable
from datetime import date

import dagster as dg
from pydantic import Field, PrivateAttr

from reliable_assets.toolkit.http_client import RetriedFault, get_json
from reliable_assets.toolkit.request_pacer import RequestPacer


class RatesApiPayloadError(ValueError):
    """The rates API answered 200 with a body this project cannot use."""


class RatesApi(dg.ConfigurableResource):
    """Daily FX rates (units of each currency per US dollar) over HTTP, retried on transient faults."""

    base_url: str = Field(description="Base URL of the rates API, e.g. http://127.0.0.1:8765")
    token: str | None = Field(default=None, description="Bearer token, when the API asks for one.")
    timeout_seconds: float = 10.0
    max_attempts: int = 5
    max_requests_per_second: float = Field(
        default=10.0,
        gt=0,
        description="Client-side limit, kept below the API's own (the simulator's: --rate-limit).",
    )
    _pacer: RequestPacer | None = PrivateAttr(default=None)

    def rates_for(
        self, day: date, on_retry: Callable[[RetriedFault], None] | None = None
    ) -> dict[str, float]:
        """The day's rates as {currency: units per USD}; USD itself is 1.0. `on_retry` hears of
        each transient fault waited out."""
        if self._pacer is None:
            self._pacer = RequestPacer(self.max_requests_per_second)
        payload = get_json(
            f"{self.base_url.rstrip('/')}/v1/rates",
            params={"date": day.isoformat()},
            token=self.token,
            timeout=self.timeout_seconds,
            max_attempts=self.max_attempts,
            before_attempt=self._pacer.wait,
            on_retry=on_retry,
            hints={
                401: "set RATES_API_TOKEN to the token the rates API expects",
                403: "the token in RATES_API_TOKEN is not allowed to read rates",
            },
        )
        rates = payload.get("rates") if isinstance(payload, dict) else None
        if not isinstance(rates, dict) or payload.get("date") != day.isoformat():
            raise RatesApiPayloadError(
                f"Rates API answered for {day} without a 'rates' object for that date: {str(payload)[:200]}"
            )
        invalid = {k: v for k, v in rates.items() if not isinstance(v, int | float) or v <= 0}
        if invalid:
            raise RatesApiPayloadError(
                f"Rates API gave non-positive or non-numeric rates for {day}: {invalid}"
            )
        return {str(currency): float(rate) for currency, rate in rates.items()}
