"""Seed derivation: every random stream in the simulator is named and derived with hashlib.

Python's `hash()` is salted per process and the wall clock differs per run, so neither may feed a
random stream; a SHA-256 of the seed and a label gives each stream (customers, orders of one day,
...) its own independent, reproducible `random.Random`.
"""

import hashlib
import random


def stable_digest(*parts: object) -> str:
    """Hex SHA-256 of the parts joined with ':' (stable across processes and platforms)."""
    return hashlib.sha256(":".join(str(part) for part in parts).encode()).hexdigest()


def derive_rng(seed: int, *labels: object) -> random.Random:
    """An independent random stream for `labels` under `seed`.

    Streams are independent of each other, so adding a stream (or changing how many draws one
    stream makes) never shifts the data another stream produces.
    """
    return random.Random(int(stable_digest(seed, *labels)[:16], 16))  # noqa: S311 (test data, not security)
