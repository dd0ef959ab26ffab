"""dim_customers snapshot diff on small frames."""

import pandas as pd

from reliable_assets.warehouse.customers import diff_customer_snapshot


def _snapshot(rows: list[tuple[int, str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "customer_id": cid,
                "name": name,
                "email": f"{name}@x.test",
                "country": country,
                "signup_date": "2024-01-01",
                "updated_at": updated,
            }
            for cid, name, country, updated in rows
        ]
    )


def test_first_snapshot_inserts_everyone() -> None:
    """With no previous dimension every customer is an insert, valid from its source update time."""
    dim, counts = diff_customer_snapshot(None, _snapshot([(1, "ann", "US", "2024-01-02 10:00:00")]))
    assert counts == {"inserted": 1, "updated": 0, "deleted": 0, "unchanged": 0}
    assert dim.loc[0, "valid_from"] == pd.Timestamp("2024-01-02 10:00:00")
    assert not dim.loc[0, "is_deleted"]


def test_insert_update_delete_and_unchanged_are_told_apart() -> None:
    """Row hashes find changes; a vanished customer stays, flagged deleted; unchanged rows keep valid_from."""
    before, _ = diff_customer_snapshot(
        None,
        _snapshot(
            [
                (1, "ann", "US", "2024-01-02 10:00:00"),
                (2, "bob", "DE", "2024-01-02 11:00:00"),
                (3, "cy", "FR", "2024-01-02 12:00:00"),
            ]
        ),
    )
    after, counts = diff_customer_snapshot(
        before,
        _snapshot(
            [
                (1, "ann", "US", "2024-01-05 09:00:00"),
                (2, "bob", "GB", "2024-01-05 09:30:00"),
                (4, "di", "JP", "2024-01-05 10:00:00"),
            ]
        ),
    )
    assert counts == {"inserted": 1, "updated": 1, "deleted": 1, "unchanged": 1}
    rows = after.set_index("customer_id")
    assert rows.loc[1, "valid_from"] == pd.Timestamp("2024-01-02 10:00:00")  # unchanged: old valid_from
    assert rows.loc[2, "country"] == "GB"
    assert rows.loc[2, "valid_from"] == pd.Timestamp("2024-01-05 09:30:00")
    assert bool(rows.loc[3, "is_deleted"])
    assert not bool(rows.loc[4, "is_deleted"])


def test_diffing_the_same_snapshot_again_changes_nothing() -> None:
    """Idempotency of the snapshot diff: the second pass reports only unchanged rows and the same table."""
    snapshot = _snapshot([(1, "ann", "US", "2024-01-02 10:00:00"), (2, "bob", "DE", "2024-01-02 11:00:00")])
    once, _ = diff_customer_snapshot(None, snapshot)
    twice, counts = diff_customer_snapshot(once, snapshot)
    assert counts == {"inserted": 0, "updated": 0, "deleted": 0, "unchanged": 2}
    pd.testing.assert_frame_equal(once, twice)
