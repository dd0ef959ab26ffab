"""Ordering rows by (timestamp, id) without sorting every id: the ids are strings, times integers."""

from typing import Any

import numpy as np
import pandas as pd


def positions_by_time_then_id(times: Any, ids: "np.ndarray[Any, Any]") -> "np.ndarray[Any, Any]":
    """The positions that order the rows by timestamp, then id, as a stable sort by both would."""
    order = reordering_by_time_then_id(times, ids)
    return np.arange(len(ids)) if order is None else order


def reordering_by_time_then_id(times: Any, ids: "np.ndarray[Any, Any]") -> "np.ndarray[Any, Any] | None":
    """The positions of `positions_by_time_then_id`, or None when the rows are in that order already.

    Rows already in order (a layer reading what the layer before it wrote in order) are recognised
    in one pass: a stable sort leaves them where they are, and the sort's work and copies are
    skipped. Otherwise a stable sort by time alone (as int64 nanoseconds: naive or tz-aware alike),
    then the rows that share a time (a handful, contiguous after that sort) reordered by the full key.
    """
    index = pd.DatetimeIndex(times)
    if index.tz is not None:
        index = index.tz_convert(None)  # naive UTC: same order as the instants
    nanoseconds = index.to_numpy("datetime64[ns]").view("int64")
    if _in_order(nanoseconds, ids):
        return None
    keys = pd.DataFrame({"time": nanoseconds, "id": ids}).sort_values("time", kind="stable")
    tied = keys["time"].duplicated(keep=False).to_numpy()
    order: np.ndarray[Any, Any] = keys.index.to_numpy().copy()
    if tied.any():
        order[tied] = keys[tied].sort_values(["time", "id"], kind="stable").index
    return order


def _in_order(nanoseconds: "np.ndarray[Any, Any]", ids: "np.ndarray[Any, Any]") -> bool:
    """Whether every row's (time, id) is at least the previous row's."""
    later = nanoseconds[1:] > nanoseconds[:-1]
    if not (later | (nanoseconds[1:] == nanoseconds[:-1])).all():
        return False
    tied = np.flatnonzero(~later)
    try:
        return bool((ids[tied + 1] >= ids[tied]).all())
    except TypeError:  # ids that do not compare (None beside a string): the sort decides
        return False
