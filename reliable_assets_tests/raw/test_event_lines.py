"""Parsing landed event files: every line becomes an event or a dead letter."""

import json
from datetime import date

import pandas as pd
import pytest

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
    assert list(events["event_id"]) == ["a"]
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
    frame, dropped = events_frame(pd.concat([second, first], ignore_index=True))
    assert dropped == 1
    assert sorted(frame["event_id"]) == ["a", "b"]
    assert frame.set_index("event_id").loc["a", "page"] == "/p/1"
    assert str(frame["event_date"].iloc[0].date()) == "2024-01-02"


SOURCE = "events/2024-01-02/h05.jsonl"
EVENT_FIELDS = ["event_id", "user_id", "session_id", "event_type", "event_ts", "page"]
EVENT_TYPE_CHOICES = "['add_to_cart', 'checkout', 'page_view', 'search']"
# Every kind of bad line, with the dead letter it must become: all in one file between good lines,
# and each alone among good lines, where it must defeat the fast paths by itself.
BAD_LINES: list[tuple[str, str, str]] = [
    ('{"event_id": "b"', "malformed_json", "Expecting ',' delimiter at column 17"),
    ('{"a":}', "malformed_json", "Expecting value at column 6"),  # flat-looking, yet not JSON
    ("{},{}", "malformed_json", "Extra data at column 3"),
    ('{"a":[{}', "malformed_json", "Expecting ',' delimiter at column 9"),  # these two would form
    ("{}]}", "malformed_json", "Extra data at column 3"),  # one object if decoded as one text
    ("[1, 2]", "invalid_record", "a line must hold a JSON object"),
    ('"text"', "invalid_record", "a line must hold a JSON object"),
    ("null", "invalid_record", "a line must hold a JSON object"),
    ('{"user_id": 7}', "invalid_record", "event_id must be a non-empty string"),
    (_line(""), "invalid_record", "event_id must be a non-empty string"),
    (_line("x", session_id=5), "invalid_record", "session_id must be a non-empty string"),
    (_line("x", session_id=""), "invalid_record", "session_id must be a non-empty string"),
    (_line("x", page=""), "invalid_record", "page must be a non-empty string"),
    (_line("x", page=None), "invalid_record", "page must be a non-empty string"),
    (_line("x", user_id="7"), "invalid_record", "user_id must be an integer"),
    (_line("x", user_id=True), "invalid_record", "user_id must be an integer"),
    (_line("x", user_id=7.0), "invalid_record", "user_id must be an integer"),
    # Beyond int64 an id would wrap to another user's (2**63 became -2**63) or fail the whole load.
    (
        _line("x", user_id=2**63),
        "invalid_record",
        f"user_id {2**63} does not fit in 64 bits ({-(2**63)} to {2**63 - 1})",
    ),
    (
        _line("x", user_id=-(2**63) - 1),
        "invalid_record",
        f"user_id {-(2**63) - 1} does not fit in 64 bits ({-(2**63)} to {2**63 - 1})",
    ),
    (
        _line("x", event_type=["page_view"]),
        "invalid_record",
        f"event_type must be one of {EVENT_TYPE_CHOICES}, got ['page_view']",
    ),
    (
        _line("x", event_type={"kind": "page_view"}),
        "invalid_record",
        f"event_type must be one of {EVENT_TYPE_CHOICES}, got {{'kind': 'page_view'}}",
    ),
    (
        _line("x", event_type="teleport"),
        "invalid_record",
        f"event_type must be one of {EVENT_TYPE_CHOICES}, got 'teleport'",
    ),
    (
        _line("x", event_type=None),
        "invalid_record",
        f"event_type must be one of {EVENT_TYPE_CHOICES}, got None",
    ),
    (_line("x", event_ts="garbage"), "invalid_record", "event_ts 'garbage' is not an ISO-8601 timestamp"),
    (_line("x", event_ts=20240102), "invalid_record", "event_ts must carry a UTC offset"),
    (_line("x", event_ts="2024-01-02T10:00:00"), "invalid_record", "event_ts must carry a UTC offset"),
    (
        _line("x", event_ts="2024-01-05T00:00:00+00:00"),
        "invalid_record",
        "event_ts 2024-01-05T00:00:00+00:00 is not on 2024-01-02, the day of its file",
    ),
    (  # on the file's day in local time, the day before in UTC
        _line("x", event_ts="2024-01-02T03:00:00+05:00"),
        "invalid_record",
        "event_ts 2024-01-02T03:00:00+05:00 is not on 2024-01-02, the day of its file",
    ),
    (
        _line("x", event_ts="2024-01-02T24:00:00+00:00"),
        "invalid_record",
        "event_ts '2024-01-02T24:00:00+00:00' is not an ISO-8601 timestamp",
    ),
]


def test_every_bad_line_kind_is_dead_lettered_between_good_lines() -> None:
    """Good line, bad line, good line, ...: each bad line keeps its own message and line number."""
    lines = ["", _line("g0")]
    for n, (bad, _, _) in enumerate(BAD_LINES, start=1):
        lines += [bad, _line(f"g{n}"), "   "]
    events, rejected = parse_event_file("\n".join(lines).encode(), SOURCE, DAY)

    # Line 1 is blank, line 2 good; then each bad line, a good one and a blank one.
    expected = [
        (SOURCE, 3 + 3 * i, bad, kind, f"{SOURCE}:{3 + 3 * i}: {message}")
        for i, (bad, kind, message) in enumerate(BAD_LINES)
    ]
    assert [(r.source, r.line_number, r.line, r.error_type, r.error_message) for r in rejected] == expected
    assert list(zip(events["event_id"], events["_line"], strict=True)) == [("g0", 2)] + [
        (f"g{n}", 1 + 3 * n) for n in range(1, len(BAD_LINES) + 1)
    ]


def test_valid_events_carry_exactly_their_fields_in_order() -> None:
    """An event is the six contract fields as landed (event_ts as the UTC instant it names), then
    where it came from; extra fields are dropped."""
    content = (_line("a", extra={"nested": [1, 2]}, user_id=0) + "\n" + _line("b")).encode()
    events, rejected = parse_event_file(content, SOURCE, DAY)
    assert rejected == []
    assert events.to_dict("records") == [
        {
            "event_id": "a",
            "user_id": 0,
            "session_id": "s1",
            "event_type": "page_view",
            "event_ts": pd.Timestamp("2024-01-02T10:00:00", tz="UTC"),
            "page": "/p/1",
            "_source": SOURCE,
            "_line": 1,
        },
        {
            "event_id": "b",
            "user_id": 7,
            "session_id": "s1",
            "event_type": "page_view",
            "event_ts": pd.Timestamp("2024-01-02T10:00:00", tz="UTC"),
            "page": "/p/1",
            "_source": SOURCE,
            "_line": 2,
        },
    ]
    assert list(events.columns) == [*EVENT_FIELDS, "_source", "_line"]
    # user_id and _line as landed integers; the strings as Python strings; event_ts parsed
    assert [str(t) for t in events.dtypes] == [
        "object",
        "int64",
        "object",
        "object",
        "datetime64[ns, UTC]",
        "object",
        "object",
        "int64",
    ]


@pytest.mark.parametrize(
    "unusual",
    [
        pytest.param(_line("u", event_ts="2024-01-02T10:00:00+05:30"), id="non-UTC offset on the day"),
        pytest.param(
            _line("u", event_ts="2024-01-01T23:30:00-01:00"), id="local day before, UTC day of the file"
        ),
        pytest.param(_line("u", event_ts="2024-01-02T10:00:00Z"), id="Z suffix"),
        pytest.param(_line("u", event_ts="2024-01-02T10:00:00.5+00:00"), id="short fraction"),
        pytest.param(_line("u", meta={"k": [1]}), id="nested field"),
        pytest.param("  " + _line("u") + "\t", id="surrounding whitespace"),
        pytest.param(
            json.dumps(
                {
                    "page": "/p/1",
                    "event_id": "u",
                    "user_id": 7,
                    "session_id": "s1",
                    "event_type": "search",
                    "event_ts": "2024-01-02T23:59:59.999999+00:00",
                }
            ),
            id="other key order",
        ),
    ],
)
def test_a_valid_line_is_an_event_whichever_path_takes_it(unusual: str) -> None:
    """Valid lines the fast paths leave to the per-line checks still become events, in line order."""
    content = "\n".join([_line("a"), unusual, _line("b")]).encode()
    events, rejected = parse_event_file(content, SOURCE, DAY)
    assert rejected == []
    assert list(zip(events["event_id"], events["_line"], strict=True)) == [("a", 1), ("u", 2), ("b", 3)]
    unusual_event, landed = events.to_dict("records")[1], json.loads(unusual)
    landed["event_ts"] = pd.Timestamp(landed["event_ts"]).tz_convert("UTC")
    assert {k: unusual_event[k] for k in EVENT_FIELDS} == {k: landed[k] for k in EVENT_FIELDS}


@pytest.mark.parametrize(
    "spoiler",
    [
        pytest.param(_line("z", user_id=True), id="one invalid record: per-record checks for the file"),
        pytest.param('{"a":}', id="one flat line that is not JSON: per-line decoding for the file"),
    ],
)
def test_the_fallback_paths_give_what_the_fast_path_gives(spoiler: str) -> None:
    """A line that sends the whole file to a slower path changes nothing about the other lines."""
    good = [_line(f"e{i}", user_id=i, event_ts=f"2024-01-02T{i:02d}:00:00.000000+00:00") for i in range(24)]
    fast, fast_rejected = parse_event_file("\n".join(good).encode(), SOURCE, DAY)
    slow, slow_rejected = parse_event_file("\n".join([spoiler, *good]).encode(), SOURCE, DAY)
    assert fast_rejected == []
    assert len(slow_rejected) == 1
    pd.testing.assert_frame_equal(fast.assign(_line=fast["_line"] + 1), slow, check_exact=True)


def test_duplicates_across_and_within_files_keep_the_first_landed_copy() -> None:
    """By (_source, _line): an earlier file wins over a later one, an earlier line over a later one,
    whatever order the events are handed over in; ties in time are ordered by event_id."""
    ts = "2024-01-02T08:00:00+00:00"
    h01, _ = parse_event_file(
        "\n".join([_line("x", page="/h01-first", event_ts=ts), _line("x", page="/h01-second")]).encode(),
        "events/2024-01-02/h01.jsonl",
        DAY,
    )
    h00, _ = parse_event_file(
        "\n".join(["{broken", _line("y", page="/h00", event_ts=ts), _line("c", event_ts=ts)]).encode(),
        "events/2024-01-02/h00.jsonl",
        DAY,
    )
    h02, _ = parse_event_file(
        "\n".join([_line("y", page="/h02"), _line("x", page="/h02"), _line("a", event_ts=ts)]).encode(),
        "events/2024-01-02/h02.jsonl",
        DAY,
    )
    frame, dropped = events_frame(pd.concat([h02, h01, h00], ignore_index=True))
    assert dropped == 3
    assert list(frame["event_id"]) == ["a", "c", "x", "y"]  # all at 08:00: by event_id
    assert list(frame["page"]) == ["/p/1", "/p/1", "/h01-first", "/h00"]
    assert list(frame.index) == [0, 1, 2, 3]


def test_events_frame_types_and_orders_the_events() -> None:
    """Column order and dtypes, UTC instants of any offset, the UTC day, and order by time then id."""
    lines = [
        _line("late", event_ts="2024-01-02T23:59:59.999999+00:00", user_id=3),
        _line("offset", event_ts="2024-01-02T05:30:00.25+05:30", user_id=2),
        _line("zulu", event_ts="2024-01-02T00:00:00Z", user_id=1),
        _line("b", event_ts="2024-01-02T12:00:00+00:00"),
        _line("a", event_ts="2024-01-02T12:00:00+00:00"),
    ]
    events, _ = parse_event_file("\n".join(lines).encode(), SOURCE, DAY)
    frame, dropped = events_frame(events)
    assert dropped == 0
    assert list(frame.columns) == [
        "event_id",
        "user_id",
        "session_id",
        "event_type",
        "event_ts",
        "page",
        "event_date",
    ]
    assert [str(t) for t in frame.dtypes] == [
        "object",
        "int64",
        "object",
        "object",
        "datetime64[ns, UTC]",
        "object",
        "datetime64[ns]",
    ]
    assert list(frame["event_id"]) == ["zulu", "offset", "a", "b", "late"]
    assert list(frame["event_ts"]) == [
        pd.Timestamp("2024-01-02 00:00:00", tz="UTC"),
        pd.Timestamp("2024-01-02 00:00:00.25", tz="UTC"),
        pd.Timestamp("2024-01-02 12:00:00", tz="UTC"),
        pd.Timestamp("2024-01-02 12:00:00", tz="UTC"),
        pd.Timestamp("2024-01-02 23:59:59.999999", tz="UTC"),
    ]
    assert set(frame["event_date"]) == {pd.Timestamp("2024-01-02")}
    assert list(frame["user_id"]) == [1, 2, 7, 7, 3]


@pytest.mark.parametrize("other", ["2024-01-02T10:00:00+00:00", "2024-01-02 15:30:00+0530"])
def test_event_ts_is_the_same_instant_however_it_is_parsed(other: str) -> None:
    """Plain ISO timestamps take a faster parser unless another form is among them (here a space
    and a colon-less offset): the instants are the same either way."""
    lines = [
        _line("a", event_ts="2024-01-02T05:30:00.25+05:30"),
        _line("b", event_ts="2024-01-02T23:59:59.123456789Z"),
        _line("c", event_ts=other),
    ]
    events, rejected = parse_event_file("\n".join(lines).encode(), SOURCE, DAY)
    assert rejected == []
    frame, _ = events_frame(events)
    assert list(frame["event_ts"]) == [
        pd.Timestamp("2024-01-02 00:00:00.25", tz="UTC"),
        pd.Timestamp("2024-01-02 10:00:00", tz="UTC"),
        pd.Timestamp("2024-01-02 23:59:59.123456789", tz="UTC"),
    ]
    assert str(frame["event_ts"].dtype) == "datetime64[ns, UTC]"


def test_events_frame_of_no_events_keeps_the_columns_and_types() -> None:
    """A day whose lines were all bad still yields a typed, empty frame."""
    events, rejected = parse_event_file(b"{broken\n\n", SOURCE, DAY)
    assert events.empty
    assert len(rejected) == 1
    frame, dropped = events_frame(events)
    assert dropped == 0
    assert frame.empty
    assert list(frame.columns) == [
        "event_id",
        "user_id",
        "session_id",
        "event_type",
        "event_ts",
        "page",
        "event_date",
    ]
    assert str(frame["event_ts"].dtype) == "datetime64[ns, UTC]"
    assert str(frame["user_id"].dtype) == "int64"


@pytest.mark.parametrize(("bad", "kind", "message"), BAD_LINES, ids=[m for _, _, m in BAD_LINES])
def test_one_bad_line_in_a_file_of_good_ones(bad: str, kind: str, message: str) -> None:
    """Alone among good lines, a bad line must still fail: no fast path may wave it through."""
    good = [_line(f"g{i}", event_ts=f"2024-01-02T{i:02d}:30:00.123456+00:00") for i in range(4)]
    content = "\n".join([good[0], good[1], bad, good[2], good[3]]).encode()
    events, rejected = parse_event_file(content, SOURCE, DAY)
    assert [(r.line_number, r.line, r.error_type, r.error_message) for r in rejected] == [
        (3, bad, kind, f"{SOURCE}:3: {message}")
    ]
    assert list(zip(events["event_id"], events["_line"], strict=True)) == [
        ("g0", 1),
        ("g1", 2),
        ("g2", 4),
        ("g3", 5),
    ]


def test_lines_that_would_merge_in_one_text_are_decoded_one_by_one() -> None:
    """Joined by commas these three lines read as three values ({"a": [{}, {}]}, {}, {}), one per line:
    the batch decoder must not take them, or their dead letters would be wrong."""
    content = "\n".join([_line("g1"), '{"a":[{}', "{}]}", "{},{}", _line("g2")]).encode()
    events, rejected = parse_event_file(content, SOURCE, DAY)
    assert [(r.line_number, r.error_type, r.error_message) for r in rejected] == [
        (2, "malformed_json", f"{SOURCE}:2: Expecting ',' delimiter at column 9"),
        (3, "malformed_json", f"{SOURCE}:3: Extra data at column 3"),
        (4, "malformed_json", f"{SOURCE}:4: Extra data at column 3"),
    ]
    assert list(zip(events["event_id"], events["_line"], strict=True)) == [("g1", 1), ("g2", 5)]


def test_a_file_without_events_changes_nothing_in_the_frame() -> None:
    """Files' events are frames of the same columns and dtypes, empty or not, so an empty or
    all-bad file among the concatenated frames leaves the typed frame as it is."""
    good, _ = parse_event_file("\n".join([_line("a"), _line("b", user_id=0)]).encode(), SOURCE, DAY)
    empty, _ = parse_event_file(b"", "events/2024-01-02/h00.jsonl", DAY)
    bad, _ = parse_event_file(b'{"a":}\n', "events/2024-01-02/h09.jsonl", DAY)
    assert list(empty.columns) == list(bad.columns) == list(good.columns)
    assert list(empty.dtypes) == list(bad.dtypes) == list(good.dtypes)
    alone, _ = events_frame(good)
    among, _ = events_frame(pd.concat([empty, good, bad], ignore_index=True))
    pd.testing.assert_frame_equal(among, alone, check_exact=True)
