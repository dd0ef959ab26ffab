"""Ordering rows by (timestamp, id) without sorting every id: the ids are strings, times integers."""

from typing import Any

import numpy as np
import pandas as pd


def positions_by_time_then_id(times: Any, ids: "np.ndarray[Any, Any]") -> "np.ndarray[Any, Any]":
    """The positions that order the rows by timestamp, then id, as a stable sort by both would.

    A stable sort by time alone (as int64 nanoseconds: naive or tz-aware alike), then the rows that
    share a time (a handful, contiguous after that sort) reordered in place by the full key.
    """
    index = pd.DatetimeIndex(times)
    if index.tz is not None:
        index = index.tz_convert(None)  # naive UTC: same order as the instants
    nanoseconds = index.to_numpy("datetime64[ns]").view("int64")
    keys = pd.DataFrame({"time": nanoseconds, "id": ids}).sort_values("time", kind="stable")
    tied = keys["time"].duplicated(keep=False).to_numpy()
    order: np.ndarray[Any, Any] = keys.index.to_numpy().copy()
    if tied.any():
        order[tied] = keys[tied].sort_values(["time", "id"], kind="stable").index
    return order
