"""Row-count anomaly: robust to one bad day in the history, quiet while history is short."""

import dagster as dg

from reliable_assets.toolkit.frame_checks import reconciliation_check
from reliable_assets.toolkit.row_count_anomaly import MIN_HISTORY, row_count_anomaly_check


def test_quiet_while_history_is_short() -> None:
    """With fewer than MIN_HISTORY partitions there is nothing to compare against: pass, and say so."""
    result = row_count_anomaly_check("rows", 1, [1000] * (MIN_HISTORY - 1))
    assert result.passed
    assert "judging needs" in (result.description or "")


def test_a_collapse_fails_even_with_an_outlier_in_the_history() -> None:
    """Median/MAD: a spike in the history does not widen the band enough to hide a collapse."""
    history = [1000, 1010, 990, 1005, 995, 1002, 50_000, 998, 1003]
    assert row_count_anomaly_check("rows", 1001, history).passed
    collapsed = row_count_anomaly_check("rows", 120, history)
    assert not collapsed.passed
    assert collapsed.severity == dg.AssetCheckSeverity.WARN


def test_reconciliation_names_the_unaccounted_rows() -> None:
    """Source rows must equal loaded + dead-lettered + superseded; the gap is reported."""
    assert reconciliation_check("r", 10, {"loaded": 7, "dead_lettered": 3}).passed
    broken = reconciliation_check("r", 10, {"loaded": 7, "dead_lettered": 2})
    assert not broken.passed
    assert broken.metadata["unaccounted"].value == 1
