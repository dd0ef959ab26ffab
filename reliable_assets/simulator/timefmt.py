"""Timestamp formats the simulated sources use (all UTC)."""

import re
from datetime import UTC, date, datetime

SQL_TS_FORMAT = "%Y-%m-%d %H:%M:%S"
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def sql_ts(moment: datetime) -> str:
    """'YYYY-MM-DD HH:MM:SS': the source database's format, sortable as text."""
    return moment.strftime(SQL_TS_FORMAT)


def iso_utc(moment: datetime) -> str:
    """'YYYY-MM-DDTHH:MM:SS.ffffff+00:00': the event format, always with microseconds."""
    return moment.replace(tzinfo=UTC).isoformat(timespec="microseconds")


def epoch_seconds(moment: datetime) -> int:
    """Seconds since the epoch of a naive UTC datetime (never the local time zone)."""
    return int(moment.replace(tzinfo=UTC).timestamp())


def parse_day(text: str) -> date:
    """A day written exactly as 'YYYY-MM-DD' (`date.fromisoformat` alone also takes '20240101'
    and week dates, which would slip past as a different spelling of the same partition)."""
    if not _DAY.fullmatch(text):
        raise ValueError(f"expected a date as YYYY-MM-DD, got {text!r}")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"expected a date as YYYY-MM-DD, got {text!r} (no such day)") from None
