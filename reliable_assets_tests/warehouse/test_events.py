"""clean_events against its definition written row by row: UTC timestamps without offset, the hour,
pages cut at the first "?" and lower-cased, rows in (time, id) order."""

import numpy as np
import pandas as pd

from reliable_assets.warehouse.events import DAILY_EVENT_COLUMNS, clean_events


def _by_definition(raw: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for record in raw.to_dict("records"):
        ts = pd.Timestamp(record["event_ts"]).tz_convert("UTC").tz_localize(None)
        page = record["page"]
        rows.append(
            {
                "event_id": record["event_id"],
                "event_date": ts.normalize(),
                "event_ts": ts,
                "event_hour": ts.hour,
                "user_id": int(record["user_id"]),
                "session_id": record["session_id"],
                "event_type": record["event_type"],
                "page": page.split("?", 1)[0].lower() if isinstance(page, str) else page,
            }
        )
    rows.sort(key=lambda row: (row["event_ts"], row["event_id"]))
    expected = pd.DataFrame(rows, columns=DAILY_EVENT_COLUMNS)
    return expected.astype({"event_hour": "int64", "user_id": "int64"})


def test_clean_events_orders_rows_and_cleans_pages_as_defined() -> None:
    stamps = [
        "2024-03-01T10:00:00+02:00",
        "2024-03-01T07:59:59Z",
        "2024-03-01T08:00:00Z",
        "2024-03-01T23:30:00Z",
    ]
    raw = pd.DataFrame(
        {
            # Two events share an instant (10:00+02:00 = 08:00Z): the id decides, not landing order.
            "event_id": ["evt-b", "evt-c", "evt-a", "evt-d"],
            "user_id": [3, 1, 2, 4],
            "session_id": ["s1", "s2", "s1", "s3"],
            "event_type": ["search", "page_view", "checkout", "add_to_cart"],
            "event_ts": pd.to_datetime(stamps, utc=True, format="ISO8601"),
            "page": ["/Search?q=Shoes", "/product/7", np.nan, "/CART?step=1?again"],
        }
    )
    cleaned = clean_events(raw)
    expected = _by_definition(raw)
    pd.testing.assert_frame_equal(cleaned, expected)
    assert list(cleaned["event_id"]) == ["evt-c", "evt-a", "evt-b", "evt-d"]
    assert list(cleaned["page"][[0, 2, 3]]) == ["/product/7", "/search", "/cart"]
    assert pd.isna(cleaned["page"][1])
