"""Stream a pandas frame into PostgreSQL with ``COPY ... FROM STDIN (FORMAT csv)``, slice by slice.

Why CSV rendered by Arrow: Arrow's C++ writer renders a slice of a million rows in milliseconds,
quotes every string and leaves nulls unquoted and empty, which is exactly how PostgreSQL's CSV
format tells NULL from the empty string. Why slices: only one slice is ever converted and
rendered at a time, so a write holds the frame plus one slice (a few MB), never a second copy of
the frame or one giant string.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping, Sequence

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv

from reliable_assets.toolkit.postgres_types import Converter
from reliable_assets.toolkit.sql import column_list

DEFAULT_SLICE_ROWS = 65_536
# Called with (slices sent so far, total slices) before each slice is handed over; the data of
# every earlier slice has reached the server by then.
ProgressHook = Callable[[int, int], None]

_MICROSECONDS = pa.timestamp("us")
_WRITE_OPTIONS = pa_csv.WriteOptions(include_header=False, quoting_style="needed")


class FrameCsvReader:
    """A read-only file object over the CSV rendering of ``frame``, produced one slice per read."""

    def __init__(
        self,
        frame: pd.DataFrame,
        columns: Sequence[str],
        converters: Mapping[str, Converter],
        slice_rows: int = DEFAULT_SLICE_ROWS,
        on_progress: ProgressHook | None = None,
    ) -> None:
        self._frame = frame
        self._columns = list(columns)
        self._converters = dict(converters)
        self._slice_rows = max(1, slice_rows)
        self._on_progress = on_progress
        self._next_row = 0
        self.slices_total = max(1, -(-len(frame) // self._slice_rows))
        self.slices_sent = 0

    def read(self, size: int = -1) -> bytes:
        """The next slice's CSV bytes (``size`` is only a hint: COPY takes any chunk length)."""
        del size
        if self._on_progress is not None:
            self._on_progress(self.slices_sent, self.slices_total)
        if self._next_row >= len(self._frame):
            return b""
        start, self._next_row = self._next_row, self._next_row + self._slice_rows
        self.slices_sent += 1
        return render_csv(self._frame.iloc[start : self._next_row], self._columns, self._converters)


def render_csv(part: pd.DataFrame, columns: Sequence[str], converters: Mapping[str, Converter]) -> bytes:
    """CSV bytes of ``part``'s ``columns`` (converted as planned), no header."""
    arrays = {}
    for name in columns:
        values = part[name]
        convert = converters.get(name)
        if convert is not None:
            values = convert(values)
        arrays[name] = _to_arrow(values, name)
    sink = io.BytesIO()
    pa_csv.write_csv(pa.table(arrays), sink, _WRITE_OPTIONS)
    return sink.getvalue()


def _to_arrow(values: pd.Series, name: str) -> pa.Array:
    try:
        array = pa.Array.from_pandas(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as error:
        raise TypeError(f"column {name!r} cannot be rendered for COPY: {error}") from error
    if pa.types.is_timestamp(array.type):
        # Naive UTC microseconds: PostgreSQL keeps microseconds, the session runs in UTC (so a
        # timestamptz column reads them as UTC), and Arrow renders zoned timestamps ~20x slower.
        array = array.cast(_MICROSECONDS, safe=False)
    return array


def copy_sql(target: str, columns: Sequence[str]) -> str:
    """The COPY statement for ``target`` (already quoted) and its ``columns`` (quoted here)."""
    return f"COPY {target} ({column_list(columns)}) FROM STDIN WITH (FORMAT csv)"
