"""Row-count anomaly against the trailing partitions, with robust statistics.

Median and MAD instead of mean and standard deviation: one bad day in the history must not hide
the next one. Quiet (passes, says why) while the history is too short to judge.
"""

from collections.abc import Sequence

import dagster as dg
import numpy as np

MIN_HISTORY = 7
MAX_ROBUST_Z = 5.0
MAD_TO_SIGMA = 1.4826  # MAD of a normal distribution times this estimates its sigma


def row_count_anomaly_check(
    check_name: str,
    rows: int,
    history: Sequence[int],
    severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.WARN,
) -> dg.AssetCheckResult:
    """Fails when `rows` lies more than MAX_ROBUST_Z robust sigmas from the trailing partitions' median."""
    if len(history) < MIN_HISTORY:
        return dg.AssetCheckResult(
            check_name=check_name,
            passed=True,
            severity=severity,
            description=f"history of {len(history)} partitions; judging needs {MIN_HISTORY}",
            metadata={"rows": rows, "history_partitions": len(history), "history": list(history)},
        )
    counts = np.asarray(history, dtype=float)
    median = float(np.median(counts))
    sigma = max(MAD_TO_SIGMA * float(np.median(np.abs(counts - median))), 1.0, 0.05 * median)
    robust_z = abs(rows - median) / sigma
    return dg.AssetCheckResult(
        check_name=check_name,
        passed=robust_z <= MAX_ROBUST_Z,
        severity=severity,
        description=f"row count within {MAX_ROBUST_Z} robust sigmas of the trailing median",
        metadata={
            "rows": rows,
            "median": median,
            "robust_sigma": round(sigma, 3),
            "robust_z": round(robust_z, 3),
            "history_partitions": len(history),
            "history": list(history),
        },
    )
