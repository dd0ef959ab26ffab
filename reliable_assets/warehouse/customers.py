"""`dim_customers` as a snapshot diff: inserts, updates and deletes detected by row hash."""

import hashlib

import pandas as pd

TRACKED_COLUMNS = ["name", "email", "country", "signup_date"]
DIM_COLUMNS = ["customer_id", *TRACKED_COLUMNS, "row_hash", "valid_from", "is_deleted"]


def row_hashes(frame: pd.DataFrame) -> pd.Series:
    """sha256 of the tracked columns of each row (a change in any of them is an update)."""
    joined = frame[TRACKED_COLUMNS].astype("string").fillna("\x00").agg("\x1f".join, axis=1)
    return joined.map(lambda text: hashlib.sha256(text.encode()).hexdigest()[:32]).astype("string")


def diff_customer_snapshot(
    previous: pd.DataFrame | None, snapshot: pd.DataFrame
) -> tuple[pd.DataFrame, dict[str, int]]:
    """The new dimension and how many customers were inserted, updated, deleted and left unchanged.

    Rows keep `valid_from` while their hash is unchanged, so diffing the same snapshot twice gives
    the same table; customers missing from the snapshot stay, flagged `is_deleted`.
    """
    current = snapshot.assign(
        signup_date=pd.to_datetime(snapshot["signup_date"]),
        row_hash=row_hashes(snapshot.assign(signup_date=pd.to_datetime(snapshot["signup_date"]).dt.date)),
        valid_from=pd.to_datetime(snapshot["updated_at"]),
        is_deleted=False,
    )[DIM_COLUMNS]
    if previous is None or previous.empty:
        return current.sort_values("customer_id").reset_index(drop=True), {
            "inserted": len(current),
            "updated": 0,
            "deleted": 0,
            "unchanged": 0,
        }
    before = previous.set_index("customer_id")
    now = current.set_index("customer_id")
    common = now.index.intersection(before.index)
    unchanged = common[
        (now.loc[common, "row_hash"].to_numpy() == before.loc[common, "row_hash"].to_numpy())
        & ~before.loc[common, "is_deleted"].astype(bool).to_numpy()
    ]
    # An unchanged customer keeps the row it had, valid_from included.
    now.loc[unchanged, "valid_from"] = pd.to_datetime(before.loc[unchanged, "valid_from"])
    gone = before.index.difference(now.index)
    newly_deleted = gone[~before.loc[gone, "is_deleted"].astype(bool).to_numpy()]
    deleted_rows = before.loc[gone].assign(is_deleted=True)
    merged = (pd.concat([now, deleted_rows[now.columns]]) if len(deleted_rows) else now).reset_index()
    merged = merged.astype({"customer_id": "int64", "is_deleted": bool})
    counts = {
        "inserted": len(now.index.difference(before.index)),
        "updated": len(common) - len(unchanged),
        "deleted": len(newly_deleted),
        "unchanged": len(unchanged),
    }
    return merged[DIM_COLUMNS].sort_values("customer_id").reset_index(drop=True), counts
