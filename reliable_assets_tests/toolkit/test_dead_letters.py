"""The dead-letter queue on each warehouse engine: the pending letters of several partitions of an
asset are replaced in one call and one transaction, each partition by the rules of one."""

import json
from typing import cast

import pandas as pd
import pytest

from reliable_assets.toolkit.dead_letters import DeadLetter, DeadLetterQueue
from reliable_assets_tests.toolkit.warehouse_engines import WarehouseEngine

ASSET, OTHER_ASSET = "raw/events", "warehouse/fact_orders"
DAY1, DAY2, DAY3 = "2026-01-01", "2026-01-02", "2026-01-03"
# Longer than the CHECK constraint of the failure test allows.
TOO_LONG_MESSAGE = "x" * 200


def _letters(day: str, *lines: str) -> list[DeadLetter]:
    return [DeadLetter({"day": day, "line": line}, "ParseError", f"bad line {line}") for line in lines]


def _lines(queue: DeadLetterQueue, asset: str = ASSET) -> dict[tuple[str, str], list[str]]:
    """(partition, status) -> the sorted lines of those letters of ``asset``."""
    letters = queue.read(asset)
    lines = letters["record"].map(lambda record: json.loads(record)["line"])
    grouped = lines.groupby([letters["partition_key"], letters["status"]]).agg(sorted)
    by_key: dict[tuple[str, str], list[str]] = {}
    for key, found in grouped.items():
        day, status = cast(tuple[str, str], key)  # groupby on two columns keys by pairs
        by_key[(str(day), str(status))] = list(found)
    return by_key


def _seeded(engine: WarehouseEngine) -> DeadLetterQueue:
    """Pending letters a, b on DAY1, c on DAY2, d on DAY3 (run r1), x of another asset; b resolved."""
    queue = DeadLetterQueue(warehouse=engine.warehouse)
    seed = {DAY1: _letters(DAY1, "a", "b"), DAY2: _letters(DAY2, "c"), DAY3: _letters(DAY3, "d")}
    assert queue.replace_for_partitions(ASSET, seed, run_id="r1") == 4
    queue.replace_for_partitions(OTHER_ASSET, {DAY1: _letters(DAY1, "x")}, run_id="r1")
    letters = queue.read(ASSET)
    resolved = letters.loc[letters["record"].str.contains('"b"'), "dead_letter_id"].tolist()
    assert queue.mark(resolved, "resolved", run_id="fix") == 1
    return queue


def test_several_partitions_are_replaced_in_one_call(engine: WarehouseEngine) -> None:
    """Invariant: one call makes each given partition's pending letters exactly its letters: a
    settled letter stays as it is (not written again), a partition given none loses its pending
    ones, partitions and assets not given are untouched; re-running it changes nothing."""
    empty = DeadLetterQueue(warehouse=engine.warehouse)
    assert empty.read().empty
    assert empty.replace_for_partitions(ASSET, {}, run_id="r0") == 0
    assert not engine.warehouse.table_exists("ops", "dead_letters")
    queue = _seeded(engine)

    again = {DAY1: _letters(DAY1, "b", "e", "e"), DAY2: []}
    assert queue.replace_for_partitions(ASSET, again, run_id="r2") == 1
    assert _lines(queue) == {
        (DAY1, "pending"): ["e"],
        (DAY1, "resolved"): ["b"],
        (DAY3, "pending"): ["d"],
    }
    assert _lines(queue, OTHER_ASSET) == {(DAY1, "pending"): ["x"]}
    content = engine.warehouse.table_content_hash("ops", "dead_letters")
    assert queue.replace_for_partitions(ASSET, again, run_id="r3") == 1
    assert engine.warehouse.table_content_hash("ops", "dead_letters") == content
    runs = queue.read(ASSET).set_index("status")["_run_id"].groupby(level=0).agg(set).to_dict()
    assert runs == {"pending": {"r1", "r3"}, "resolved": {"fix"}}


def test_a_failure_midway_leaves_every_partition_as_it_was(engine: WarehouseEngine) -> None:
    """Invariant: when the database refuses a letter of the second partition (after the old pending
    letters of all of them were deleted), no partition changes: the first is not replaced alone."""
    engine.warehouse.execute("CREATE SCHEMA ops")
    engine.warehouse.execute(
        "CREATE TABLE ops.dead_letters (dead_letter_id TEXT, asset_key TEXT, partition_key TEXT,"
        " record TEXT, error_type TEXT, error_message TEXT, status TEXT, _run_id TEXT,"
        " _created_at TIMESTAMP, CHECK (length(error_message) < 100))"
    )
    queue = _seeded(engine)
    before = queue.read().sort_values("dead_letter_id", ignore_index=True)

    refused = DeadLetter({"day": DAY2, "line": "z"}, "ParseError", TOO_LONG_MESSAGE)
    failing = {DAY1: _letters(DAY1, "e"), DAY2: [refused], DAY3: []}
    with pytest.raises(Exception, match=r"(?i)check constraint"):
        queue.replace_for_partitions(ASSET, failing, run_id="r2")
    pd.testing.assert_frame_equal(queue.read().sort_values("dead_letter_id", ignore_index=True), before)
