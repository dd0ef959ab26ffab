"""Row-by-row comparison of two versions of a table, as an asset check result.

A candidate version of an asset's logic (run in shadow) is compared with the published rows on
the table's key: rows whose values differ, rows only one side has, the share of rows that differ
and the largest absolute difference of a numeric value, with a few differing rows as a sample.
Values compare by their canonical content (content_hash.py), so ``1`` and ``1.0`` are equal,
exactly as the data versions would call them.
"""

from collections.abc import Sequence
from typing import Any

import dagster as dg
import numpy as np
import pandas as pd

from reliable_assets.toolkit.content_hash import cell_texts, content_columns

SAMPLE_ROWS = 5
_KEY = "__frame_diff_key"


def compare_versions(
    candidate: pd.DataFrame,
    published: pd.DataFrame,
    keys: Sequence[str],
    check_name: str,
    severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.WARN,
    labels: tuple[str, str] = ("candidate", "published"),
) -> dg.AssetCheckResult:
    """Passes when both frames hold the same rows on ``keys`` with the same content values.

    A key repeated on either side cannot be paired, so its rows count as differing. The
    difference rate is (rows differing + rows on one side only) / rows compared (keys of either
    side); only content columns both sides have are compared, the others are listed.
    """
    ours, theirs = labels
    candidate_columns, published_columns = set(content_columns(candidate)), set(content_columns(published))
    missing_keys = [key for key in keys if key not in candidate_columns or key not in published_columns]
    if missing_keys:
        raise ValueError(f"{check_name}: key columns {missing_keys} are missing from one of the frames")
    values = [c for c in content_columns(candidate) if c in published_columns and c not in keys]
    left, right = _keyed(candidate, keys, values), _keyed(published, keys, values)
    repeated = set(left.loc[left[_KEY].duplicated(keep=False), _KEY]) | set(
        right.loc[right[_KEY].duplicated(keep=False), _KEY]
    )
    paired = left.loc[~left[_KEY].isin(repeated)].merge(
        right.loc[~right[_KEY].isin(repeated)], on=_KEY, how="outer", suffixes=("@a", "@b"), indicator=True
    )
    only_ours = int((paired["_merge"] == "left_only").sum())
    only_theirs = int((paired["_merge"] == "right_only").sum())
    both = paired.loc[paired["_merge"] == "both"]
    differs = pd.DataFrame({c: both[f"{c}@a"] != both[f"{c}@b"] for c in values}, index=both.index)
    differing_rows = both.loc[differs.any(axis=1)] if values else both.iloc[0:0]
    compared = len(set(left[_KEY]) | set(right[_KEY]))
    differing = len(differing_rows) + only_ours + only_theirs + len(repeated)
    largest, largest_column = _largest_difference(candidate, published, values, differing_rows)
    metadata: dict[str, Any] = {
        "rows_compared": dg.MetadataValue.int(compared),
        "rows_differing": dg.MetadataValue.int(len(differing_rows)),
        f"rows_only_in_{ours}": dg.MetadataValue.int(only_ours),
        f"rows_only_in_{theirs}": dg.MetadataValue.int(only_theirs),
        "keys_repeated": dg.MetadataValue.int(len(repeated)),
        "difference_rate": dg.MetadataValue.float(differing / compared if compared else 0.0),
        "largest_abs_difference": dg.MetadataValue.float(largest),
        "largest_difference_column": largest_column or "-",
        f"columns_only_in_{ours}": dg.MetadataValue.json(sorted(candidate_columns - published_columns)),
        f"columns_only_in_{theirs}": dg.MetadataValue.json(sorted(published_columns - candidate_columns)),
        "failing_rows": dg.MetadataValue.int(differing),
        "differing_samples": dg.MetadataValue.json(
            _samples(candidate, published, keys, values, differing_rows, paired, labels)
        ),
    }
    same_columns = candidate_columns == published_columns
    return dg.AssetCheckResult(
        check_name=check_name,
        passed=differing == 0 and same_columns,
        severity=severity,
        description=f"{ours} rows equal the {theirs} rows on {', '.join(keys)}",
        metadata=metadata,
    )


def _keyed(frame: pd.DataFrame, keys: Sequence[str], values: Sequence[str]) -> pd.DataFrame:
    """Canonical texts of the key (one string) and of each value column, plus the row position."""
    texts = {column: cell_texts(frame[column]) for column in [*keys, *values]}
    key = ["\x1f".join(parts) for parts in zip(*(texts[k] for k in keys), strict=True)]
    return pd.DataFrame({_KEY: key, "row": np.arange(len(frame)), **{c: texts[c] for c in values}})


def _largest_difference(
    candidate: pd.DataFrame,
    published: pd.DataFrame,
    values: Sequence[str],
    differing_rows: pd.DataFrame,
) -> tuple[float, str | None]:
    """The largest |candidate - published| over the numeric values of paired, differing rows."""
    largest, where = 0.0, None
    rows_a = differing_rows["row@a"].astype(int).to_numpy()
    rows_b = differing_rows["row@b"].astype(int).to_numpy()
    for column in values:
        if not all(_is_number(frame[column]) for frame in (candidate, published)):
            continue
        ours = pd.to_numeric(candidate[column].iloc[rows_a], errors="coerce").to_numpy(float)
        theirs = pd.to_numeric(published[column].iloc[rows_b], errors="coerce").to_numpy(float)
        gaps = np.abs(ours - theirs)
        gaps = gaps[~np.isnan(gaps)]
        if gaps.size and float(gaps.max()) > largest:
            largest, where = float(gaps.max()), column
    return largest, where


def _is_number(column: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)


def _samples(
    candidate: pd.DataFrame,
    published: pd.DataFrame,
    keys: Sequence[str],
    values: Sequence[str],
    differing_rows: pd.DataFrame,
    paired: pd.DataFrame,
    labels: tuple[str, str],
) -> list[dict[str, Any]]:
    """Up to SAMPLE_ROWS differing rows: their key, and each side's values (None: no such row)."""
    ours, theirs = labels
    one_sided = paired.loc[paired["_merge"] != "both"]
    samples = []
    for _, pair in pd.concat([differing_rows, one_sided]).head(SAMPLE_ROWS).iterrows():
        sides = {}
        for label, frame, position in ((ours, candidate, pair["row@a"]), (theirs, published, pair["row@b"])):
            row = None if pd.isna(position) else frame.iloc[int(position)]
            sides[label] = None if row is None else row[list(values)].astype(str).to_dict()
        source = candidate if not pd.isna(pair["row@a"]) else published
        position = pair["row@a"] if not pd.isna(pair["row@a"]) else pair["row@b"]
        key = source.iloc[int(position)][list(keys)].astype(str).to_dict()
        samples.append({"key": key, **sides})
    return samples
