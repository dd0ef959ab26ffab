"""Which downstream partitions an upstream change makes stale, and how they are grouped into runs."""

from reliable_assets.toolkit.stale_partitions_sensor import Build, Change, contiguous_ranges, stale_keys

DAYS = [f"2024-01-{day:02d}" for day in range(1, 11)]


def _built(**by_day: tuple[int, float]) -> dict[str, Build]:
    return {f"2024-01-{day[1:]}": Build(sid, started, "target-run") for day, (sid, started) in by_day.items()}


def test_named_partitions_built_before_the_change_are_stale() -> None:
    built = _built(d01=(5, 1.0), d02=(20, 200.0), d03=(7, 1.0))
    changes = [Change(10, 100.0, ["2024-01-01", "2024-01-02", "2024-01-04"])]
    # 01 is older than the change; 02 was rebuilt by a run started after it; 04 is missing.
    assert stale_keys(changes, built, DAYS, through_latest=False) == ["2024-01-01"]


def test_a_build_recorded_after_the_change_by_a_run_started_before_it_is_stale() -> None:
    """Two runs side by side: the target's run read the upstream before the change committed,
    and recorded its materialization after the change's event."""
    built = _built(d01=(20, 90.0))
    assert stale_keys([Change(10, 100.0, ["2024-01-01"])], built, DAYS, through_latest=False) == [
        "2024-01-01"
    ]


def test_through_latest_also_marks_every_later_materialized_partition() -> None:
    built = _built(d01=(1, 1.0), d02=(2, 1.0), d03=(3, 1.0), d05=(4, 1.0), d06=(30, 300.0))
    changes = [Change(10, 100.0, ["2024-01-02"])]
    assert stale_keys(changes, built, DAYS, through_latest=True) == ["2024-01-02", "2024-01-03", "2024-01-05"]


def test_each_change_is_judged_against_its_own_moment() -> None:
    built = _built(d01=(15, 150.0), d02=(15, 150.0))
    changes = [Change(10, 100.0, ["2024-01-01"]), Change(20, 200.0, ["2024-01-02"])]
    assert stale_keys(changes, built, DAYS, through_latest=False) == ["2024-01-02"]
    assert stale_keys([Change(10, 100.0, ["2024-02-30"])], built, DAYS, through_latest=True) == []


def test_ranges_are_contiguous_and_bounded() -> None:
    keys = ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-05", "2024-01-06", "2024-01-07", "2024-01-08"]
    assert list(contiguous_ranges(keys, DAYS, 3)) == [
        ("2024-01-01", "2024-01-03"),
        ("2024-01-05", "2024-01-07"),
        ("2024-01-08", "2024-01-08"),
    ]
    assert list(contiguous_ranges([], DAYS, 3)) == []


def test_a_build_by_the_changes_own_run_is_fresh() -> None:
    """A chunk writes the upstream, then its targets, in one run that started before both."""
    built = {"2024-01-01": Build(20, 90.0, "chunk"), "2024-01-02": Build(21, 90.0, "other")}
    changes = [Change(10, 100.0, ["2024-01-01", "2024-01-02"], "chunk")]
    assert stale_keys(changes, built, DAYS, through_latest=False) == ["2024-01-02"]
