"""Cleaning raw events into `daily_events`."""

import pandas as pd

from reliable_assets.toolkit.time_order import reordering_by_time_then_id

DAILY_EVENT_COLUMNS = [
    "event_id",
    "event_date",
    "event_ts",
    "event_hour",
    "user_id",
    "session_id",
    "event_type",
    "page",
]


def clean_events(raw_events: pd.DataFrame) -> pd.DataFrame:
    """Timestamps in UTC without offset, the hour broken out, pages without query strings, rows in
    (time, id) order. Each output column is built once, already in that order: a 14-day chunk holds
    700,000 events, and the frame-wide copies (assign, column selection, reordering) and per-row
    page strings raised this step's peak by about 120 MB (measured on a 14-day chunk)."""
    event_ts = pd.to_datetime(raw_events["event_ts"], utc=True).dt.tz_localize(None)
    order = reordering_by_time_then_id(event_ts, raw_events["event_id"].to_numpy())

    def ordered(column: pd.Series) -> pd.Series:
        # raw/events is written in this order, so usually nothing moves and nothing is copied.
        return column if order is None else column.iloc[order].reset_index(drop=True)

    ordered_ts = ordered(event_ts)
    columns = {
        "event_id": ordered(raw_events["event_id"]),
        "event_date": ordered_ts.dt.normalize(),
        "event_ts": ordered_ts,
        "event_hour": ordered_ts.dt.hour.astype("int64"),
        "user_id": ordered(raw_events["user_id"]).astype("int64"),
        "session_id": ordered(raw_events["session_id"]),
        "event_type": ordered(raw_events["event_type"]),
        "page": _pages_without_query(ordered(raw_events["page"])),
    }
    return pd.DataFrame({name: columns[name].to_numpy() for name in DAILY_EVENT_COLUMNS})


def _pages_without_query(pages: pd.Series) -> pd.Series:
    """Each page up to its first "?", lower-cased. Computed once per distinct page (about 500 in a
    chunk of 700,000 events), so the rows share those strings; per row, the split made a list and
    two strings each."""
    distinct = pd.Series(pages.unique(), dtype=object)
    cleaned = distinct.str.split("?", n=1).str[0].str.lower()
    return pages.map(pd.Series(cleaned.to_numpy(), index=distinct))
