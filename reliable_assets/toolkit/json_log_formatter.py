"""One JSON object per log line, for Dagster's run logs and plain Python loggers alike.

A record that Dagster's log manager produced carries its run context on the record itself, under
the attribute ``dagster_meta`` (the one Dagster's own ``json_console_logger`` reads); that turns
into flat keys a log pipeline can index: ``run_id``, ``job``, ``step``, ``asset``, ``partition``,
``event`` (the Dagster event type) and ``counts`` (the integer metadata of a materialization, such
as ``row_count``). A plain record gets ``timestamp``, ``level``, ``logger`` and ``message`` only.
"""

import json
import logging
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, TextIO

# No Dagster import here: light commands format their logs without loading Dagster. A record
# carries a Dagster event only in a process that already imported Dagster.
from reliable_assets.toolkit.run_tags import PARTITION_TAG, RANGE_END_TAG, RANGE_START_TAG

DAGSTER_META_ATTR = "dagster_meta"


class JsonLineFormatter(logging.Formatter):
    """Formats a record as one line of JSON (newlines inside values are escaped by JSON)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        meta = getattr(record, DAGSTER_META_ATTR, None)
        if isinstance(meta, Mapping):
            line.update(_run_context(meta))
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def _run_context(meta: Mapping[str, Any]) -> dict[str, Any]:
    # orig_message is what the code logged; Dagster's own message prefixes job, run and step.
    context: dict[str, Any] = {
        "message": meta.get("orig_message") or "",
        "run_id": meta.get("run_id"),
        "job": meta.get("job_name"),
    }
    if meta.get("step_key"):
        context["step"] = meta["step_key"]
    event = meta.get("dagster_event")
    partition = _run_partition(meta.get("job_tags") or {})
    if event is not None:  # a dagster.DagsterEvent
        context["event"] = (
            event.event_type.name
        )  # RUN_SUCCESS, as the UI says; its value is the legacy PIPELINE_SUCCESS
        if event.asset_key is not None:
            context["asset"] = event.asset_key.to_user_string()
        partition = event.partition or partition
        if event.is_step_materialization:
            counts = _counts(event.materialization.metadata)
            if counts:
                context["counts"] = counts
        if event.is_step_failure and event.step_failure_data.error is not None:
            context["error"] = event.step_failure_data.error.to_string()
    if partition:
        context["partition"] = partition
    return context


def _run_partition(tags: Mapping[str, str]) -> str | None:
    """The run's partition or partition range (`A...B`), from its tags."""
    if tags.get(PARTITION_TAG):
        return tags[PARTITION_TAG]
    if tags.get(RANGE_START_TAG) and tags.get(RANGE_END_TAG):
        return f"{tags[RANGE_START_TAG]}...{tags[RANGE_END_TAG]}"
    return None


def _counts(metadata: Mapping[str, Any]) -> dict[str, int]:
    """The integer metadata entries (dagster.IntMetadataValue: row counts, dead letters, retries)."""
    counts = {}
    for name, entry in metadata.items():
        value = getattr(entry, "value", None)
        if isinstance(value, int) and not isinstance(value, bool):
            counts[name] = value
    return counts


class StderrHandler(logging.StreamHandler):
    """Writes to whatever `sys.stderr` is at the time of each record, like Python's last-resort
    handler, so output redirected after set-up (pytest's capture, a supervisor) is still followed."""

    def __init__(self) -> None:
        super().__init__()

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        """The stream is always the current stderr."""


def json_stderr_handler() -> logging.Handler:
    handler = StderrHandler()
    handler.setFormatter(JsonLineFormatter())
    return handler
