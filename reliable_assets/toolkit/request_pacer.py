"""A client-side request rate: requests spaced at least 1/rate seconds apart, so a caller stays
under a provider's limit instead of learning it from 429s.

Per process. That is enough here because the `rates_api` pool lets one step at a time call the
API (dagster.yaml `pools: default_limit: 1`), and a step asks for its days one after another.
"""

import threading
import time
from collections.abc import Callable


class RequestPacer:
    def __init__(
        self,
        per_second: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if per_second <= 0:
            raise ValueError(f"requests per second must be above 0, got {per_second}")
        self.interval_s = 1.0 / per_second
        self._clock, self._sleep = clock, sleep
        self._next_slot: float | None = None
        self._lock = threading.Lock()

    def wait(self) -> float:
        """Block until the next request may go; returns the seconds waited."""
        with self._lock:
            now = self._clock()
            slot = now if self._next_slot is None else max(now, self._next_slot)
            self._next_slot = slot + self.interval_s
        waited = slot - now
        if waited > 0:
            self._sleep(waited)
        return waited
