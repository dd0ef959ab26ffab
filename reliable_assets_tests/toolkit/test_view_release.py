"""Releases behind a consumer view (toolkit/view_release.py), on DuckDB and on real PostgreSQL.

Pinned: promote then rollback returns readers to byte-identical rows; promote and rollback are
idempotent and logged; a refused promotion changes nothing; and a reader on its own connection,
reading in a tight loop while the view is switched back and forth, always reads one version
whole, never a mix and never an error.
"""

import datetime as dt
import hashlib
import threading
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from typing import Any

import duckdb
import pandas as pd
import psycopg2
import pytest

from reliable_assets.toolkit.duckdb_warehouse import DuckDBWarehouse
from reliable_assets.toolkit.partition_filter import PartitionFilter
from reliable_assets.toolkit.postgres_warehouse import PostgresWarehouse
from reliable_assets.toolkit.view_release import (
    PROMOTE,
    ROLLBACK,
    ConsumerView,
    ReleaseError,
    ReleaseTarget,
)
from reliable_assets.toolkit.warehouse import Warehouse
from reliable_assets_tests.toolkit.warehouse_engines import WarehouseEngine

DAYS = [dt.datetime(2026, 1, 1) + dt.timedelta(days=n) for n in range(4)]
ROWS_PER_DAY = 500
V1 = ReleaseTarget("v1", "live", "metric")
V2 = ReleaseTarget("v2", "shadow", "metric_v2")
VIEW = ConsumerView("live", "metric_current", ("day", "id", "value"), baseline=V1, coverage_column="day")
SWITCHES = 6


def _version_rows(offset: int, days: list[dt.datetime] = DAYS) -> pd.DataFrame:
    """Every (day, id) pair; a version's values are ``id + offset``, so versions differ in every row."""
    return pd.DataFrame(
        [{"day": day, "id": i, "value": float(i + offset)} for day in days for i in range(ROWS_PER_DAY)]
    )


def _write(warehouse: Warehouse, target: ReleaseTarget, frame: pd.DataFrame) -> None:
    warehouse.replace_partition(
        target.schema,
        target.table,
        frame,
        PartitionFilter.time_range("day", DAYS[0], DAYS[-1] + dt.timedelta(1)),
    )


@pytest.fixture
def versions(engine: WarehouseEngine) -> WarehouseEngine:
    """v1 (the baseline) and v2 written, each into its own table, no view yet."""
    _write(engine.warehouse, V1, _version_rows(0))
    _write(engine.warehouse, V2, _version_rows(1000))
    return engine


def _view_rows(warehouse: Warehouse) -> list[tuple[Any, ...]]:
    frame = warehouse.query('SELECT * FROM "live"."metric_current" ORDER BY "day", "id"')
    return list(frame.itertuples(index=False, name=None))


def _table_rows(warehouse: Warehouse, target: ReleaseTarget) -> list[tuple[Any, ...]]:
    frame = warehouse.query(
        f'SELECT "day", "id", "value" FROM "{target.schema}"."{target.table}" ORDER BY "day", "id"'
    )
    return list(frame.itertuples(index=False, name=None))


def test_promote_then_rollback_returns_readers_to_byte_identical_rows(versions: WarehouseEngine) -> None:
    """Guarantee 9: promotion switches the view to the candidate's rows, rollback back to exactly the
    rows read before, and both are in ops.releases with who, when, from, to and the run."""
    warehouse = versions.warehouse
    assert VIEW.ensure(warehouse) is True
    assert VIEW.ensure(warehouse) is False  # exists now: nothing to do
    before = _view_rows(warehouse)
    assert before == _table_rows(warehouse, V1)

    promoted = VIEW.promote(warehouse, V2, "alice", "run-1")
    assert _view_rows(warehouse) == _table_rows(warehouse, V2) != before
    rolled_back = VIEW.rollback(warehouse, "bob", "run-2")
    after = _view_rows(warehouse)
    assert after == before
    assert repr(after).encode() == repr(before).encode()  # same values, same types, same order

    log = VIEW.history(warehouse)
    assert [(r.number, r.action, r.changed, r.source, r.target, r.released_by, r.run_id) for r in log] == [
        (1, PROMOTE, True, V1, V2, "alice", "run-1"),
        (2, ROLLBACK, True, V2, V1, "bob", "run-2"),
    ]
    assert (promoted.number, rolled_back.number) == (1, 2)
    assert log[0].released_at <= log[1].released_at
    assert VIEW.served(warehouse) == V1


def test_promote_and_rollback_are_idempotent_and_log_their_no_ops(versions: WarehouseEngine) -> None:
    """Promoting the served version, or rolling back twice, changes nothing the second time; the
    attempt is logged with changed = false. A second rollback never goes two promotions back."""
    warehouse = versions.warehouse
    v3 = ReleaseTarget("v3", "shadow", "metric_v3")
    _write(warehouse, v3, _version_rows(2000))
    VIEW.promote(warehouse, V2, "alice", "r1")
    VIEW.promote(warehouse, v3, "alice", "r2")
    assert VIEW.promote(warehouse, v3, "alice", "r3").changed is False
    assert _view_rows(warehouse) == _table_rows(warehouse, v3)

    first = VIEW.rollback(warehouse, "bob", "r4")
    again = VIEW.rollback(warehouse, "bob", "r5")
    assert (first.changed, first.target) == (True, V2)
    assert (again.changed, again.source, again.target) == (False, V2, V2)
    assert _view_rows(warehouse) == _table_rows(warehouse, V2)
    assert [(r.action, r.changed) for r in VIEW.history(warehouse)] == [
        (PROMOTE, True),
        (PROMOTE, True),
        (PROMOTE, False),
        (ROLLBACK, True),
        (ROLLBACK, False),
    ]


def test_rollback_before_any_promotion_creates_the_view_on_the_baseline(versions: WarehouseEngine) -> None:
    warehouse = versions.warehouse
    release = VIEW.rollback(warehouse, "carol", "r1")
    assert (release.changed, release.source, release.target) == (False, V1, V1)
    assert _view_rows(warehouse) == _table_rows(warehouse, V1)


def test_a_refused_promotion_changes_nothing_and_says_what_is_missing(versions: WarehouseEngine) -> None:
    """A candidate missing a day consumers read, a column they read, or its whole table is refused
    before anything changed: the view still serves the same rows, and nothing is logged."""
    warehouse = versions.warehouse
    VIEW.ensure(warehouse)
    before = _view_rows(warehouse)
    short = ReleaseTarget("v4", "shadow", "metric_v4")
    _write(warehouse, short, _version_rows(3000, days=DAYS[:2]))
    narrow = ReleaseTarget("v5", "shadow", "metric_v5")
    _write(warehouse, narrow, _version_rows(0).drop(columns=["value"]).assign(other=1))

    with pytest.raises(ReleaseError, match=r"lacks 2 day value\(s\) that consumers of live.metric_current"):
        VIEW.promote(warehouse, short, "alice", "r1")
    with pytest.raises(
        ReleaseError, match=r"lacks columns consumers of live.metric_current read: \['value'\]"
    ):
        VIEW.promote(warehouse, narrow, "alice", "r2")
    with pytest.raises(ReleaseError, match=r"has no table shadow.metric_v9: materialize it first"):
        VIEW.promote(warehouse, ReleaseTarget("v9", "shadow", "metric_v9"), "alice", "r3")
    assert _view_rows(warehouse) == before
    assert VIEW.history(warehouse) == []


@contextmanager
def _reader(engine: WarehouseEngine) -> Iterator[Callable[[], str]]:
    """A reader on a connection of its own: each call hashes one full read of the view."""
    sql = 'SELECT "day", "id", "value" FROM "live"."metric_current" ORDER BY "day", "id"'
    warehouse = engine.warehouse
    if isinstance(warehouse, DuckDBWarehouse):
        # A second connection of this process to the same file: DuckDB allows one process per file.
        with closing(duckdb.connect(warehouse.path)) as duck:
            yield lambda: _digest(duck.execute(sql).fetchall())
        return
    assert isinstance(warehouse, PostgresWarehouse)
    with closing(psycopg2.connect(warehouse.url)) as connection:
        connection.autocommit = True  # each read is its own statement, like a dashboard's query
        cursor = connection.cursor()

        def read() -> str:
            cursor.execute(sql)
            return _digest(cursor.fetchall())

        yield read


def _digest(rows: list[tuple[Any, ...]]) -> str:
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def test_a_reader_during_promote_and_rollback_always_sees_one_version_whole(
    versions: WarehouseEngine,
) -> None:
    """Guarantee 9: consumers never see a mix. A reader thread reads the whole view in a tight loop
    while the view is promoted and rolled back again and again; every read is the full result of
    v1 or of v2, and the reader sees each switch (it reads between switches)."""
    warehouse = versions.warehouse
    VIEW.ensure(warehouse)
    with _reader(versions) as read:
        expected = {read()}  # v1's full result, read by the reader itself
        VIEW.promote(warehouse, V2, "setup", "r0")
        expected.add(read())
        VIEW.rollback(warehouse, "setup", "r0")
        assert len(expected) == 2

        seen: list[str] = []
        errors: list[BaseException] = []
        stop = threading.Event()
        progress = threading.Condition()

        def loop() -> None:
            try:
                while not stop.is_set():
                    digest = read()
                    with progress:
                        seen.append(digest)
                        progress.notify_all()
            except BaseException as error:  # a failed read must fail the test, not vanish in the thread
                with progress:
                    errors.append(error)
                    progress.notify_all()

        def two_more_reads() -> None:
            """Two reads finish after this point, so at least one started after the last switch."""
            with progress:
                target = len(seen) + 2
                progress.wait_for(lambda: len(seen) >= target or bool(errors), timeout=120)

        thread = threading.Thread(target=loop, daemon=True)
        thread.start()
        try:
            for switch in range(SWITCHES):
                two_more_reads()
                if switch % 2 == 0:
                    VIEW.promote(warehouse, V2, "alice", f"p{switch}")
                else:
                    VIEW.rollback(warehouse, "bob", f"r{switch}")
            two_more_reads()
        finally:
            stop.set()
            thread.join(timeout=120)
    assert not errors, errors
    assert not thread.is_alive()
    assert set(seen) <= expected, "a read returned neither version's full result"
    assert set(seen) == expected  # reads landed on both sides of the switches
