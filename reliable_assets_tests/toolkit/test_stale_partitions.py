"""Which downstream partitions an upstream change makes stale, and how they are grouped into runs."""

from reliable_assets.toolkit.stale_partitions_sensor import contiguous_ranges, stale_keys

DAYS = [f"2024-01-{day:02d}" for day in range(1, 11)]


def test_named_partitions_materialized_before_the_change_are_stale() -> None:
    latest = {"2024-01-01": 5, "2024-01-02": 20, "2024-01-03": 7}
    changes = [(10, ["2024-01-01", "2024-01-02", "2024-01-04"])]
    # 01 is older than the change; 02 was re-materialized after it; 04 was never built (missing).
    assert stale_keys(changes, latest, DAYS, through_latest=False) == ["2024-01-01"]


def test_through_latest_also_marks_every_later_materialized_partition() -> None:
    latest = {"2024-01-01": 1, "2024-01-02": 2, "2024-01-03": 3, "2024-01-05": 4, "2024-01-06": 30}
    changes = [(10, ["2024-01-02"])]
    assert stale_keys(changes, latest, DAYS, through_latest=True) == [
        "2024-01-02",
        "2024-01-03",
        "2024-01-05",
    ]


def test_each_change_is_judged_against_its_own_position_in_the_log() -> None:
    latest = {"2024-01-01": 15, "2024-01-02": 15}
    changes = [(10, ["2024-01-01"]), (20, ["2024-01-02"])]
    assert stale_keys(changes, latest, DAYS, through_latest=False) == ["2024-01-02"]
    assert stale_keys([(10, ["2024-02-30"])], latest, DAYS, through_latest=True) == []


def test_ranges_are_contiguous_and_bounded() -> None:
    keys = ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-05", "2024-01-06", "2024-01-07", "2024-01-08"]
    assert list(contiguous_ranges(keys, DAYS, 3)) == [
        ("2024-01-01", "2024-01-03"),
        ("2024-01-05", "2024-01-07"),
        ("2024-01-08", "2024-01-08"),
    ]
    assert list(contiguous_ranges([], DAYS, 3)) == []
