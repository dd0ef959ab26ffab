"""Cleaning raw events into `daily_events`."""

import pandas as pd

from reliable_assets.toolkit.time_order import positions_by_time_then_id

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
    """Timestamps in UTC without offset, the hour broken out, pages without query strings."""
    event_ts = pd.to_datetime(raw_events["event_ts"], utc=True).dt.tz_localize(None)
    cleaned = raw_events.assign(
        event_ts=event_ts,
        event_date=event_ts.dt.normalize(),
        event_hour=event_ts.dt.hour.astype("int64"),
        page=raw_events["page"].str.split("?", n=1).str[0].str.lower(),
        user_id=raw_events["user_id"].astype("int64"),
    )
    order = positions_by_time_then_id(cleaned["event_ts"], cleaned["event_id"].to_numpy())
    return cleaned[DAILY_EVENT_COLUMNS].iloc[order].reset_index(drop=True)
