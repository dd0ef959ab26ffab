"""SLA rows from materialization records."""

from datetime import UTC, datetime, timedelta

from reliable_assets.ops.sla import Materialization, sla_rows


def test_first_materialization_decides_on_time_and_late_reruns_do_not_change_it() -> None:
    """A partition is on time if its first success beat the deadline; a later re-run changes nothing."""
    now = datetime(2024, 1, 20, tzinfo=UTC)
    deadline_day1 = datetime(2024, 1, 11, 6, tzinfo=UTC)
    records = [
        Materialization("2024-01-10", (deadline_day1 - timedelta(hours=1)).timestamp(), "r1"),
        Materialization("2024-01-10", (deadline_day1 + timedelta(days=3)).timestamp(), "r2"),
        Materialization("2024-01-11", (deadline_day1 + timedelta(days=2)).timestamp(), "r3"),
        Materialization("2023-11-01", now.timestamp(), "r4"),  # older than the report window
    ]
    rows = sla_rows("warehouse/x", records, timedelta(hours=6), now)
    assert list(rows["partition_key"]) == ["2024-01-10", "2024-01-11"]
    assert list(rows["on_time"]) == [True, False]
    assert rows.loc[0, "deadline"] == datetime(2024, 1, 11, 6)
