"""Asset check results computed on a frame before it is written.

Each returns a result (never raises because the data was bad) with the failing-row count and a
few failing samples in its metadata, so the UI shows what was wrong, not just that it was.
"""

from collections.abc import Sequence
from typing import Any

import dagster as dg
import pandas as pd

SAMPLE_ROWS = 5


def _result(
    check_name: str, failing: pd.DataFrame, total: int, severity: dg.AssetCheckSeverity, description: str
) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        check_name=check_name,
        passed=failing.empty,
        severity=severity,
        description=description,
        metadata={
            "failing_rows": dg.MetadataValue.int(len(failing)),
            "rows_checked": dg.MetadataValue.int(total),
            "failing_samples": dg.MetadataValue.json(
                failing.head(SAMPLE_ROWS).astype(str).to_dict(orient="records")
            ),
        },
    )


def unique_check(
    frame: pd.DataFrame,
    columns: Sequence[str],
    check_name: str,
    severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.ERROR,
) -> dg.AssetCheckResult:
    """Rows whose key (`columns`) appears more than once fail."""
    failing = frame.loc[frame.duplicated(list(columns), keep=False), list(columns)]
    return _result(check_name, failing, len(frame), severity, f"{', '.join(columns)} unique")


def not_null_check(
    frame: pd.DataFrame,
    columns: Sequence[str],
    check_name: str,
    severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.ERROR,
) -> dg.AssetCheckResult:
    """Rows with a null in any of `columns` fail."""
    failing = frame.loc[frame[list(columns)].isna().any(axis=1)]
    return _result(check_name, failing, len(frame), severity, f"{', '.join(columns)} not null")


def referential_check(
    frame: pd.DataFrame,
    column: str,
    known: set[Any],
    check_name: str,
    severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.ERROR,
) -> dg.AssetCheckResult:
    """Rows whose `column` value is not among the `known` keys of the referenced table fail."""
    failing = frame.loc[~frame[column].isin(known)]
    return _result(check_name, failing, len(frame), severity, f"{column} references a known key")


def reconciliation_check(
    check_name: str,
    source_rows: int,
    accounted: dict[str, int],
    severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.ERROR,
) -> dg.AssetCheckResult:
    """Every source row is accounted for: loaded, dead-lettered or knowingly superseded."""
    total = sum(accounted.values())
    return dg.AssetCheckResult(
        check_name=check_name,
        passed=total == source_rows,
        severity=severity,
        description="source rows = " + " + ".join(accounted),
        metadata={"source_rows": source_rows, **accounted, "unaccounted": source_rows - total},
    )
