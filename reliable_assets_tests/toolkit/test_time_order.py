"""Ordering rows by (time, id): the shortcut for rows already in order gives what the sort gives."""

import numpy as np
import pandas as pd
import pytest

from reliable_assets.toolkit.time_order import positions_by_time_then_id, reordering_by_time_then_id


def _stable_sort_by_time_then_id(times: pd.DatetimeIndex, ids: np.ndarray) -> np.ndarray:
    keys = pd.DataFrame({"time": times, "id": ids})
    return keys.sort_values(["time", "id"], kind="stable").index.to_numpy()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_positions_equal_a_stable_sort_by_time_then_id(seed: int) -> None:
    """Many ties in time (whole seconds) and repeated ids: the same positions as sorting both keys."""
    rng = np.random.default_rng(seed)
    times = pd.DatetimeIndex(pd.to_datetime(rng.integers(0, 50, 2_000), unit="s", utc=True))
    ids = np.array([f"e{n}" for n in rng.integers(0, 300, 2_000)], dtype=object)
    expected = _stable_sort_by_time_then_id(times, ids)
    np.testing.assert_array_equal(positions_by_time_then_id(times, ids), expected)
    # Rows taken in that order are recognised as ordered: nothing to move.
    assert reordering_by_time_then_id(times[expected], ids[expected]) is None
    np.testing.assert_array_equal(positions_by_time_then_id(times[expected], ids[expected]), np.arange(2_000))


def test_a_tie_in_time_out_of_id_order_is_reordered() -> None:
    """Times in order are not enough: two rows of the same time must be in id order too."""
    times = pd.DatetimeIndex(pd.to_datetime(["2024-01-02 10:00", "2024-01-02 10:00", "2024-01-02 11:00"]))
    ids = np.array(["b", "a", "c"], dtype=object)
    order = reordering_by_time_then_id(times, ids)
    assert order is not None
    assert order.tolist() == [1, 0, 2]


def test_ids_that_do_not_compare_fall_back_to_the_sort() -> None:
    """A missing id beside a string cannot be compared by the shortcut; the sort still orders the rows."""
    times = pd.DatetimeIndex(pd.to_datetime(["2024-01-02 10:00"] * 3))
    ids = np.array(["b", None, "a"], dtype=object)
    assert positions_by_time_then_id(times, ids).tolist() == _stable_sort_by_time_then_id(times, ids).tolist()
