"""Parsing landed JSON-lines event files: every line becomes an event or a dead letter."""

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import pandas as pd

EVENT_TYPES = frozenset({"page_view", "search", "add_to_cart", "checkout"})
EVENT_COLUMNS = ["event_id", "user_id", "session_id", "event_type", "event_ts", "page", "event_date"]


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
    if not isinstance(record.get("user_id"), int) or isinstance(record.get("user_id"), bool):
        return "user_id must be an integer"
    if record.get("event_type") not in EVENT_TYPES:
        return f"event_type must be one of {sorted(EVENT_TYPES)}, got {record.get('event_type')!r}"
    return None


def parse_event_file(content: bytes, source: str, day: date) -> tuple[list[dict[str, Any]], list[Rejected]]:
    """Split one landed file into valid event records of `day` and rejected lines."""
    events: list[dict[str, Any]] = []
    rejected: list[Rejected] = []
    for number, raw_line in enumerate(content.decode("utf-8", errors="replace").splitlines(), start=1):
        line = raw_line.strip()
        if not line:
            continue

        def reject(error_type: str, message: str, line: str = line, number: int = number) -> None:
            rejected.append(Rejected(source, number, line, error_type, message))

        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            reject("malformed_json", f"{source}:{number}: {error.msg} at column {error.colno}")
            continue
        if not isinstance(record, dict):
            reject("invalid_record", f"{source}:{number}: a line must hold a JSON object")
            continue
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
        if problem is not None:
            reject("invalid_record", f"{source}:{number}: {problem}")
            continue
        events.append({**{k: record[k] for k in EVENT_COLUMNS[:-1]}, "_source": source, "_line": number})
    return events, rejected


def events_frame(events: list[dict[str, Any]]) -> tuple[pd.DataFrame, int]:
    """Typed, deduplicated events (first landed copy of each event_id wins) and the duplicates dropped."""
    frame = pd.DataFrame(events, columns=[*EVENT_COLUMNS[:-1], "_source", "_line"])
    frame["event_ts"] = pd.to_datetime(frame["event_ts"], utc=True, format="ISO8601")
    frame = frame.sort_values(["event_id", "_source", "_line"], kind="stable")
    deduplicated = frame.drop_duplicates("event_id", keep="first")
    typed = deduplicated.assign(
        user_id=deduplicated["user_id"].astype("int64"),
        event_date=deduplicated["event_ts"].dt.tz_convert("UTC").dt.tz_localize(None).dt.normalize(),
    )
    return typed[EVENT_COLUMNS].sort_values(["event_ts", "event_id"]).reset_index(drop=True), len(
        frame
    ) - len(deduplicated)
