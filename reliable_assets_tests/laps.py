"""Phase timings of the long end-to-end tests, printed so the note and the README can quote them."""

import time
from collections.abc import Callable


def laps(started: float) -> Callable[[str], None]:
    """A function that prints the seconds since its previous call (or `started`), with a label."""
    last = [started]

    def lap(label: str) -> None:
        now = time.monotonic()
        print(f"  {label}: {now - last[0]:.0f} s", flush=True)
        last[0] = now

    return lap
