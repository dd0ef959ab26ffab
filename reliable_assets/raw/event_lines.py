"""Parsing landed JSON-lines event files: every line becomes an event or a dead letter.

A backfill parses millions of lines, so the common case takes fast paths that provably give what the
exact per-line checks give: lines shaped like one flat JSON object are decoded in one `json.loads`
call, and a file whose decoded records all plainly meet the contract is accepted a column at a time.
Everything else, and every rejection, goes through the exact per-line checks, so dead-letter
messages never depend on which path a line took.
"""

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from operator import itemgetter
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from reliable_assets.toolkit.time_order import positions_by_time_then_id

EVENT_TYPES = frozenset({"page_view", "search", "add_to_cart", "checkout"})
# user_id is stored as int64: an id outside it would wrap to another user's id, or fail the load.
USER_ID_MIN, USER_ID_MAX = -(2**63), 2**63 - 1
EVENT_COLUMNS = ["event_id", "user_id", "session_id", "event_type", "event_ts", "page", "event_date"]
_FIELDS = EVENT_COLUMNS[:-1]
_VALUES = itemgetter(*_FIELDS)

# Timestamps Arrow parses to the same instants as pd.to_datetime(format="ISO8601") and rejects when
# pandas does (then pandas parses them, to raise its own error); the years keep them inside pandas'
# nanosecond range, where neither wraps.
_PLAIN_ISO_TIMESTAMP = (
    r"^(19|20)[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?(Z|[+-][0-9]{2}:[0-9]{2})$"
)

# Marks a line the batch decoder left to a per-line `json.loads` (which also words its error).
_UNDECODED = object()


@dataclass(frozen=True)
class Rejected:
    """A line that could not become an event, with where it came from and why."""

    source: str
    line_number: int
    line: str
    error_type: str
    error_message: str


def _invalid_field(record: dict[str, Any]) -> str | None:
    """Name the first field that breaks the event contract, or None when the record is valid."""
    for field in ("event_id", "session_id", "page"):
        if not isinstance(record.get(field), str) or not record[field]:
            return f"{field} must be a non-empty string"
    user_id, event_type = record.get("user_id"), record.get("event_type")
    if not isinstance(user_id, int) or isinstance(user_id, bool):
        return "user_id must be an integer"
    if not USER_ID_MIN <= user_id <= USER_ID_MAX:
        return f"user_id {user_id} does not fit in 64 bits ({USER_ID_MIN} to {USER_ID_MAX})"
    if not isinstance(event_type, str) or event_type not in EVENT_TYPES:
        return f"event_type must be one of {sorted(EVENT_TYPES)}, got {event_type!r}"
    return None


def _problem(record: dict[str, Any], day: date) -> str | None:
    """The exact contract check of a record of `day`'s file: what is wrong with it, or None."""
    problem = _invalid_field(record)
    if problem is None:
        try:
            timestamp = datetime.fromisoformat(str(record.get("event_ts")))
        except ValueError:
            problem = f"event_ts {record.get('event_ts')!r} is not an ISO-8601 timestamp"
        else:
            if timestamp.tzinfo is None:
                problem = "event_ts must carry a UTC offset"
            elif pd.Timestamp(timestamp).tz_convert("UTC").date() != day:
                problem = f"event_ts {record['event_ts']} is not on {day}, the day of its file"
    return problem


def _plainly_valid(record: dict[str, Any], day: date) -> bool:
    """A cheap test that implies `_problem` finds nothing; False only means "ask `_problem`".

    Exact types suffice because JSON decodes to exact str/int/bool, and the year bounds keep
    `astimezone` as exact as `pd.Timestamp` (no overflow at the ends of the datetime range).
    """
    try:
        event_id, user_id, session_id, event_type, event_ts, page = _VALUES(record)
    except KeyError:
        return False
    if not (
        type(event_id) is str
        and event_id
        and type(session_id) is str
        and session_id
        and type(page) is str
        and page
        and type(user_id) is int
        and USER_ID_MIN <= user_id <= USER_ID_MAX
        and type(event_type) is str
        and event_type in EVENT_TYPES
        and type(event_ts) is str
    ):
        return False
    try:
        timestamp = datetime.fromisoformat(event_ts)
    except ValueError:
        return False
    return (
        timestamp.tzinfo is not None and 1 < timestamp.year < 9999 and timestamp.astimezone(UTC).date() == day
    )


def _decode_flat(lines: list[str]) -> tuple[list[int], list[Any]]:
    """The indexes of the lines decoded together and their values, equal to `json.loads` of each.

    A line that starts with its only "{" and ends with its only "}" is one flat object; joined by
    ",\\n" (no JSON string spans a newline) each such line can only decode as itself, so one
    `json.loads` of the array gives the same values at a fraction of the per-call cost.
    """
    flat = [i for i, line in enumerate(lines) if line[-1:] == "}" and line[0] == "{"]
    text = ",\n".join([lines[i] for i in flat])
    if text.count("{") != len(flat) or text.count("}") != len(flat):
        # Nested braces somewhere: keep the lines that are flat on their own.
        flat = [i for i in flat if lines[i].count("{") == 1 and lines[i].count("}") == 1]
        text = ",\n".join([lines[i] for i in flat])
    try:
        return flat, json.loads(f"[{text}]")
    except ValueError:
        return [], []  # a flat but invalid line: every line is decoded (and worded) alone


def _plain_events(records: list[dict[str, Any]], flat: list[int], day: date) -> list[list[Any]] | None:
    """The columns of `records` (of lines `flat`), the six fields then the line numbers, when every
    record plainly meets the contract, else None.

    Checked a column at a time. A timestamp of `day` with a valid time and a zero offset passes
    `datetime.fromisoformat` and is on `day` in UTC, so the exact checks would accept each record.
    """
    try:
        columns = [list(map(itemgetter(field), records)) for field in _FIELDS]
    except KeyError:
        return None
    event_id, user_id, session_id, event_type, event_ts, page = columns
    if not (
        all(set(map(type, column)) <= {str} for column in (event_id, session_id, event_type, event_ts, page))
        and set(map(type, user_id)) <= {int}
        and (not user_id or (min(user_id) >= USER_ID_MIN and max(user_id) <= USER_ID_MAX))
        and "" not in event_id
        and "" not in session_id
        and "" not in page
        and EVENT_TYPES.issuperset(event_type)
    ):
        return None
    on_day = f"^{day.isoformat()}T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]{{1,9}})?(Z|[+-]00:00)$"
    try:
        timestamps = pa.array(event_ts, type=pa.string())
    except (UnicodeEncodeError, pa.ArrowException):  # e.g. a lone surrogate from a JSON escape
        return None
    if records and not pc.all(pc.match_substring_regex(timestamps, on_day)).as_py():
        return None
    return [*columns, [i + 1 for i in flat]]


def parse_event_file(content: bytes, source: str, day: date) -> tuple[pd.DataFrame, list[Rejected]]:
    """Split one landed file into its valid events of `day` and its rejected lines.

    The events are a frame in line order: the six fields as landed (but `event_ts`, already the
    UTC instant it names), then `_source` and `_line` (where each event came from).
    """
    lines = [raw_line.strip() for raw_line in content.decode("utf-8", errors="replace").splitlines()]
    flat, records = _decode_flat(lines)
    columns = _plain_events(records, flat, day)
    if columns is None:  # some decoded record needs the per-line checks: every line takes them
        columns = [[] for _ in [*_FIELDS, "_line"]]
        decoded, todo = dict(zip(flat, records, strict=True)), list(range(len(lines)))
    else:  # the flat lines are events already; the rest (blank, malformed, nested) take them
        decoded, todo = {}, sorted(set(range(len(lines))).difference(flat))
    plain = len(columns[-1])
    rejected: list[Rejected] = []
    for i in todo:
        number, line = i + 1, lines[i]
        if not line:
            continue
        record = decoded.get(i, _UNDECODED)
        if record is _UNDECODED:
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                message = f"{source}:{number}: {error.msg} at column {error.colno}"
                rejected.append(Rejected(source, number, line, "malformed_json", message))
                continue
        if not isinstance(record, dict):
            message = f"{source}:{number}: a line must hold a JSON object"
            rejected.append(Rejected(source, number, line, "invalid_record", message))
            continue
        if not _plainly_valid(record, day) and (problem := _problem(record, day)) is not None:
            rejected.append(Rejected(source, number, line, "invalid_record", f"{source}:{number}: {problem}"))
            continue
        for column, value in zip(columns, (*_VALUES(record), number), strict=True):
            column.append(value)
    events = _events_piece(columns, source)
    if plain and len(events) > plain:  # events of both paths: back to line order
        events = events.sort_values("_line", ignore_index=True)
    return events, rejected


def _events_piece(columns: list[list[Any]], source: str) -> pd.DataFrame:
    """One file's events as a frame, from the columns of the six fields and of the line numbers.

    The fields are strings (the contract checks make them so) but for user_id: int64, and
    event_ts: parsed here, a file at a time, so a chunk's 700,000 timestamp strings never live
    together (held to the end, they raised the raw layer's peak by about 100 MiB, measured).
    """
    event_id, user_id, session_id, event_type, event_ts, page, numbers = columns
    return pd.DataFrame(
        {
            "event_id": np.array(event_id, dtype=object),
            "user_id": _user_ids(user_id),
            "session_id": _shared(session_id),
            "event_type": _shared(event_type),
            "event_ts": _utc_timestamps(pd.Series(event_ts, dtype=object)).array,
            "page": _shared(page),
            "_source": source,
            "_line": np.array(numbers, dtype=np.int64),
        }
    )


def _shared(values: list[str]) -> "np.ndarray[Any, Any]":
    """`values` with one string object per distinct value: equal strings in a fraction of the memory
    where they repeat (4 event types, some hundred pages among a file's thousands of events)."""
    codes, uniques = pd.factorize(np.array(values, dtype=object), use_na_sentinel=False)
    return uniques.take(codes)


def _user_ids(values: list[int]) -> "np.ndarray[Any, Any]":
    """int64 ids (the contract checks refused any that does not fit)."""
    return np.array(values, dtype=np.int64)


def events_frame(events: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Typed, deduplicated events (first landed copy of each event_id wins) and the duplicates dropped.

    `events` is the frames of `parse_event_file`, concatenated. The rows to keep are found as
    positions and taken once, so no other frame of all the events is held beside `events`.
    """
    event_ts = pd.DatetimeIndex(_utc_timestamps(events["event_ts"]))
    user_id = events["user_id"]
    event_id = events["event_id"].to_numpy()
    first = _first_landed_copies(events["_source"], events["_line"], event_id)
    rows = first[positions_by_time_then_id(event_ts[first], event_id[first])]
    timestamps = event_ts[rows]
    frame = pd.DataFrame(
        {
            "event_id": event_id[rows],
            "user_id": user_id.iloc[rows].astype("int64").to_numpy(),
            "session_id": events["session_id"].to_numpy()[rows],
            "event_type": events["event_type"].to_numpy()[rows],
            "event_ts": timestamps,
            "page": events["page"].to_numpy()[rows],
            "event_date": timestamps.tz_convert("UTC").tz_localize(None).normalize(),
        }
    )
    return frame, len(events) - len(first)


def _first_landed_copies(
    source: "pd.Series[Any]", line: "pd.Series[Any]", event_id: "np.ndarray[Any, Any]"
) -> "np.ndarray[Any, Any]":
    """The positions of the first landed copy of each event_id, in landing order.

    Landing order first, then the first row of each event_id is its first landed copy: sorting
    by (_source, _line), files by their sorted codes, is far cheaper than by the string event_id.
    """
    landing_order = np.lexsort((line.to_numpy(), pd.factorize(source, sort=True)[0]))
    repeated = pd.Series(event_id[landing_order]).duplicated(keep="first").to_numpy()
    return landing_order[~repeated]


def _utc_timestamps(values: "pd.Series[Any]") -> "pd.Series[Any]":
    """`pd.to_datetime(values, utc=True, format="ISO8601")`, parsed by Arrow (~7x faster) when
    every value is a plain ISO timestamp string; pandas parses (and words the errors of) the rest."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        parsed: pd.Series[Any] = values.dt.tz_convert("UTC")  # parsed already (`parse_event_file`)
        return parsed
    if len(values) and pd.api.types.infer_dtype(values, skipna=False) == "string":
        try:
            strings = pa.array(values, type=pa.string())
            if pc.all(pc.match_substring_regex(strings, _PLAIN_ISO_TIMESTAMP)).as_py():
                nanoseconds = strings.cast(pa.timestamp("ns", tz="UTC")).cast(pa.int64()).to_numpy()
                return pd.Series(pd.to_datetime(nanoseconds, unit="ns", utc=True), index=values.index)
        except (pa.ArrowInvalid, UnicodeEncodeError):
            pass  # e.g. 2024-02-30 or a lone surrogate: pandas decides
    return pd.to_datetime(values, utc=True, format="ISO8601")
