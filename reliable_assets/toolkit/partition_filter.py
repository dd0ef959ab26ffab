"""Which rows form the target partition(s) of a table: a conjunction of per-column conditions.

A time dimension is a half-open range ``[start, end)``; a static/dynamic dimension is a set of
values. The same filter renders to SQL (values bound as parameters) and to a pandas mask, so the
rows an IO manager checks in Python are exactly the rows the database deletes.

Naive timestamps are taken as UTC (the warehouse sessions run in UTC); aware ones are converted.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pandas as pd

from reliable_assets.toolkit.sql import quote_identifier, validate_identifier


@dataclass(frozen=True)
class TimeRange:
    """Rows whose ``column`` lies in ``[start, end)``."""

    column: str
    start: dt.datetime
    end: dt.datetime

    def __post_init__(self) -> None:
        validate_identifier(self.column)
        if _to_naive_utc(self.end) <= _to_naive_utc(self.start):
            raise ValueError(f"Empty time range for {self.column}: [{self.start}, {self.end})")

    def to_sql(self, placeholder: str) -> tuple[str, list[Any]]:
        column = quote_identifier(self.column)
        return (
            f"({column} >= {placeholder} AND {column} < {placeholder})",
            [_to_naive_utc(self.start), _to_naive_utc(self.end)],
        )

    def mask(self, values: pd.Series) -> pd.Series:
        start = pd.Timestamp(_to_naive_utc(self.start))
        end = pd.Timestamp(_to_naive_utc(self.end))
        if isinstance(values.dtype, pd.DatetimeTZDtype):
            start, end = start.tz_localize("UTC"), end.tz_localize("UTC")
            return (values >= start) & (values < end)
        if pd.api.types.is_datetime64_dtype(values.dtype):
            # Already naive timestamps (read as UTC): compare as they are. A range run's frame is
            # masked once per partition and check, and converting it each time cost seconds.
            return (values >= start) & (values < end)
        timestamps = pd.to_datetime(values, errors="coerce", utc=True)
        return (timestamps >= start.tz_localize("UTC")) & (timestamps < end.tz_localize("UTC"))

    def describe(self) -> str:
        return f"{self.column} in [{self.start.isoformat()}, {self.end.isoformat()})"


@dataclass(frozen=True)
class ValueSet:
    """Rows whose ``column`` equals one of ``values`` (compared as text)."""

    column: str
    values: tuple[str, ...]

    def __post_init__(self) -> None:
        validate_identifier(self.column)
        if not self.values:
            raise ValueError(f"Empty value set for {self.column}")

    def to_sql(self, placeholder: str) -> tuple[str, list[Any]]:
        placeholders = ", ".join([placeholder] * len(self.values))
        return f"({quote_identifier(self.column)} IN ({placeholders}))", list(self.values)

    def mask(self, values: pd.Series) -> pd.Series:
        return values.astype("string").isin(self.values).fillna(False).astype(bool)

    def describe(self) -> str:
        return f"{self.column} in {{{', '.join(self.values)}}}"


Condition = TimeRange | ValueSet


@dataclass(frozen=True)
class PartitionFilter:
    """All ``conditions`` must hold (one per partition dimension)."""

    conditions: tuple[Condition, ...]

    def __post_init__(self) -> None:
        if not self.conditions:
            raise ValueError("A PartitionFilter needs at least one condition")

    @classmethod
    def time_range(cls, column: str, start: dt.datetime, end: dt.datetime) -> PartitionFilter:
        return cls((TimeRange(column, start, end),))

    @classmethod
    def value_set(cls, column: str, values: tuple[str, ...] | list[str]) -> PartitionFilter:
        return cls((ValueSet(column, tuple(values)),))

    @property
    def columns(self) -> list[str]:
        return [condition.column for condition in self.conditions]

    def to_sql(self, placeholder: str = "?") -> tuple[str, list[Any]]:
        """A WHERE-clause body and its parameters; ``placeholder`` is the driver's (``?``, ``%s``)."""
        clauses: list[str] = []
        params: list[Any] = []
        for condition in self.conditions:
            clause, condition_params = condition.to_sql(placeholder)
            clauses.append(clause)
            params.extend(condition_params)
        return " AND ".join(clauses), params

    def mask(self, frame: pd.DataFrame) -> pd.Series:
        """True for the rows of ``frame`` inside the partition(s); a missing column is an error."""
        missing = [column for column in self.columns if column not in frame.columns]
        if missing:
            raise KeyError(
                f"Partition column(s) {missing} are not in the frame (columns: {list(frame.columns)})"
            )
        inside = pd.Series(True, index=frame.index)
        for condition in self.conditions:
            inside &= condition.mask(frame[condition.column])
        return inside

    def describe(self) -> str:
        return " and ".join(condition.describe() for condition in self.conditions)


def _to_naive_utc(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        return value
    return value.astimezone(dt.UTC).replace(tzinfo=None)
