"""compare_versions (toolkit/frame_diff.py): a shadow version against the published rows on a key.

Pinned: equal content passes with zero differences whatever the row order or the value's
spelling (1 vs 1.0); a planted change is reported exactly (which rows, one side only, the rate,
the largest absolute difference and its column, samples naming the planted keys).
"""

import datetime as dt

import dagster as dg
import pandas as pd

from reliable_assets.toolkit.frame_diff import compare_versions

KEYS = ["day", "country"]


def _published() -> pd.DataFrame:
    days = [dt.date(2026, 1, 1), dt.date(2026, 1, 2)]
    countries = ["DE", "FR", "US", "JP", "BR"]
    rows = [
        {"day": day, "country": c, "orders": 10 + n, "revenue": 100.25 + n, "_run_id": "a"}
        for day in days
        for n, c in enumerate(countries)
    ]
    return pd.DataFrame(rows)


def _metadata(result: dg.AssetCheckResult) -> dict[str, object]:
    return {name: value.value for name, value in result.metadata.items()}


def test_identical_content_reports_no_difference() -> None:
    """Row order, audit columns and 10 vs 10.0 are not differences: the content is the same."""
    published = _published()
    shadow = published.iloc[::-1].assign(orders=published["orders"].astype(float)[::-1], _run_id="b")
    result = compare_versions(shadow, published, KEYS, "matches_published")
    metadata = _metadata(result)
    assert result.passed
    assert result.severity == dg.AssetCheckSeverity.WARN
    assert metadata["rows_compared"] == len(published)
    assert (metadata["rows_differing"], metadata["failing_rows"], metadata["difference_rate"]) == (0, 0, 0.0)
    assert metadata["largest_abs_difference"] == 0.0


def test_a_planted_change_reports_exactly_the_differing_rows() -> None:
    """Two rows changed (one by -3.5, one by +0.5), one row dropped, one added: the check names
    exactly those, counts the rate over the union of keys and finds the 3.5 (absolute) in `revenue`."""
    published = _published()
    shadow = published.copy()
    changed = [(dt.date(2026, 1, 1), "FR"), (dt.date(2026, 1, 2), "JP")]
    for (day, country), delta in zip(changed, [-3.5, 0.5], strict=True):
        shadow.loc[(shadow["day"] == day) & (shadow["country"] == country), "revenue"] += delta
    dropped = (dt.date(2026, 1, 2), "BR")
    shadow = shadow.loc[~((shadow["day"] == dropped[0]) & (shadow["country"] == dropped[1]))]
    added = pd.DataFrame([{"day": dt.date(2026, 1, 3), "country": "DE", "orders": 1, "revenue": 1.0}])
    shadow = pd.concat([shadow, added], ignore_index=True)

    result = compare_versions(shadow, published, KEYS, "matches_published", labels=("shadow", "published"))
    metadata = _metadata(result)
    assert not result.passed
    assert metadata["rows_differing"] == len(changed)
    assert (metadata["rows_only_in_shadow"], metadata["rows_only_in_published"]) == (1, 1)
    union = len(published) + 1
    assert metadata["rows_compared"] == union
    assert metadata["difference_rate"] == (len(changed) + 2) / union
    assert metadata["largest_abs_difference"] == 3.5
    assert metadata["largest_difference_column"] == "revenue"
    samples = metadata["differing_samples"]
    assert isinstance(samples, list)
    sampled = {(s["key"]["day"], s["key"]["country"]) for s in samples}
    expected = {(str(day), country) for day, country in [*changed, dropped, (dt.date(2026, 1, 3), "DE")]}
    assert sampled == expected
    fr = next(s for s in samples if s["key"]["country"] == "FR")
    assert (fr["shadow"]["revenue"], fr["published"]["revenue"]) == ("97.75", "101.25")


def test_a_repeated_key_cannot_be_paired_and_counts_as_differing() -> None:
    """A duplicated published row (the UI test plants one) is a difference, not a silent match."""
    published = _published()
    doubled = pd.concat([published, published.iloc[[0]]], ignore_index=True)
    result = compare_versions(published, doubled, KEYS, "matches_published")
    metadata = _metadata(result)
    assert not result.passed
    assert metadata["keys_repeated"] == 1
    assert metadata["failing_rows"] == 1


def test_a_column_only_one_side_has_fails_and_is_named() -> None:
    published = _published()
    result = compare_versions(
        published.assign(margin=0.1), published, KEYS, "m", labels=("shadow", "published")
    )
    metadata = _metadata(result)
    assert not result.passed
    assert metadata["columns_only_in_shadow"] == ["margin"]
    assert metadata["rows_differing"] == 0
