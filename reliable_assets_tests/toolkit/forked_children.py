"""Waiting for a forked writer (warehouse_child.py, postgres_child.py) to reach a marked moment."""

import time
from multiprocessing.context import ForkProcess
from pathlib import Path


def wait_for_marker(marker: Path, child: ForkProcess, timeout: float) -> None:
    """Return once ``child`` has written ``marker``; fail if it exits or times out first."""
    deadline = time.monotonic() + timeout
    while not marker.exists():
        if not child.is_alive():
            raise AssertionError(f"child exited early with code {child.exitcode}")
        if time.monotonic() > deadline:
            child.kill()
            raise AssertionError("child never reached the marked moment")
        time.sleep(0.005)
