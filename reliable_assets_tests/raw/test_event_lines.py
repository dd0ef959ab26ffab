"""Parsing landed event files: every line becomes an event or a dead letter."""

import json
from datetime import date

from reliable_assets.raw.event_lines import events_frame, parse_event_file

DAY = date(2024, 1, 2)


def _line(event_id: str, **overrides: object) -> str:
    record = {
        "event_id": event_id,
        "user_id": 7,
        "session_id": "s1",
        "event_type": "page_view",
        "event_ts": "2024-01-02T10:00:00.000000+00:00",
        "page": "/p/1",
        **overrides,
    }
    return json.dumps(record)


def test_malformed_and_invalid_lines_are_rejected_not_dropped() -> None:
    """A truncated JSON line and a record that breaks the contract each become a rejection with its kind."""
    content = "\n".join(
        [
            _line("a"),
            _line("b")[:25],
            _line("c", event_type="teleport"),
            _line("d", event_ts="2024-01-05T00:00:00+00:00"),
            "",
        ]
    ).encode()
    events, rejected = parse_event_file(content, "events/2024-01-02/x.jsonl", DAY)
    assert [e["event_id"] for e in events] == ["a"]
    assert [(r.line_number, r.error_type) for r in rejected] == [
        (2, "malformed_json"),
        (3, "invalid_record"),
        (4, "invalid_record"),
    ]
    assert "x.jsonl:2" in rejected[0].error_message
    assert rejected[0].line == _line("b")[:25]


def test_duplicates_are_dropped_keeping_the_first_landed_copy() -> None:
    """Deterministic dedup by event_id: the copy from the earliest file and line wins."""
    first, _ = parse_event_file((_line("a") + "\n" + _line("b")).encode(), "events/2024-01-02/h01.jsonl", DAY)
    second, _ = parse_event_file(
        (_line("a", page="/dup") + "\n").encode(), "events/2024-01-02/h02.jsonl", DAY
    )
    frame, dropped = events_frame(second + first)
    assert dropped == 1
    assert sorted(frame["event_id"]) == ["a", "b"]
    assert frame.set_index("event_id").loc["a", "page"] == "/p/1"
    assert str(frame["event_date"].iloc[0].date()) == "2024-01-02"
