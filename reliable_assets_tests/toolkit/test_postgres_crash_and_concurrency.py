"""Real processes against one PostgreSQL: kill -9 at every step of a 1M-row write, and two writers
of the same partition at once. (``pg_database_url`` comes from toolkit/conftest.py.)"""

import multiprocessing
import os
import signal
from multiprocessing.context import ForkProcess
from pathlib import Path

import psycopg2
import pytest

from reliable_assets.toolkit.postgres_warehouse import PostgresWarehouse
from reliable_assets.toolkit.warehouse import WarehouseLockTimeoutError
from reliable_assets_tests.toolkit.forked_children import wait_for_marker
from reliable_assets_tests.toolkit.postgres_child import (
    DAY,
    FINGERPRINT_SQL,
    TABLE,
    day_filter,
    day_frame,
    expected_fingerprint,
    write_day,
)

OLD_ROWS = 1_000
NEW_ROWS = 1_000_000
MARKER_TIMEOUT = 60.0  # seconds a child may take to reach its marked step
OTHER_DAY = DAY.replace(day=2)

# fork: the child starts at once (no re-import of dagster/pandas) and is a real separate process
# with its own server connection. The parent holds no open connection when it forks.
_FORK = multiprocessing.get_context("fork")


def _start(url: str, marker: Path, moment: str, rows: int, value: int, pause: float) -> ForkProcess:
    child = _FORK.Process(target=write_day, args=(url, str(marker), moment, rows, value, pause))
    child.start()
    return child


def _fingerprint(url: str, day: object = DAY) -> tuple[int, str]:
    connection = psycopg2.connect(url)
    try:
        with connection.cursor() as cursor:
            cursor.execute(FINGERPRINT_SQL, [day])
            row = cursor.fetchone()
            assert row is not None  # an aggregate always returns one row
            return int(row[0]), str(row[1])
    finally:
        connection.close()


@pytest.fixture
def old_table(pg_database_url: str) -> PostgresWarehouse:
    """s.events with OLD_ROWS rows on DAY and 10 rows on the next day."""
    warehouse = PostgresWarehouse(url=pg_database_url, lock_timeout_seconds=20)
    warehouse.replace_partition(*TABLE, day_frame(OLD_ROWS, value=0), day_filter())
    warehouse.replace_partition(*TABLE, day_frame(10, day=OTHER_DAY, value=7), day_filter(OTHER_DAY))
    return warehouse


@pytest.mark.parametrize(
    ("moment", "survivor"),
    [
        ("locked", "old"),  # table lock taken, nothing changed yet
        ("deleted", "old"),  # the partition's rows deleted (inside the transaction)
        ("copy_started", "old"),  # first 50k-row slice of the COPY sent
        ("mid_copy", "old"),  # half of the 1M rows sent
        ("copied", "old"),  # COPY finished: every new row in the table, not committed
        ("committing", "old"),  # about to send COMMIT
        ("committed", "new"),  # COMMIT returned
    ],
)
def test_kill_9_at_each_step_of_a_1m_row_write_leaves_old_or_new(
    old_table: PostgresWarehouse, tmp_path: Path, moment: str, survivor: str
) -> None:
    """Invariant: a writer killed with SIGKILL at any step of a 1M-row partition overwrite leaves
    the partition with exactly its complete old content (count + content hash) before COMMIT, and
    exactly the complete new content after; the other partition is untouched; the table's lock is
    released and the table stays writable."""
    url = old_table.url
    old = _fingerprint(url)
    assert old == expected_fingerprint(day_frame(OLD_ROWS, value=0))
    old_hash = old_table.table_content_hash(*TABLE)
    other_day = _fingerprint(url, OTHER_DAY)
    marker = tmp_path / "marker"
    child = _start(url, marker, moment, NEW_ROWS, value=1, pause=60)
    wait_for_marker(marker, child, MARKER_TIMEOUT)
    os.kill(child.pid or 0, signal.SIGKILL)
    child.join(timeout=10)
    assert child.exitcode == -signal.SIGKILL

    after = _fingerprint(url)
    if survivor == "old":
        assert after == old
        assert old_table.table_content_hash(*TABLE) == old_hash
    else:
        assert after == expected_fingerprint(day_frame(NEW_ROWS, value=1))
    assert _fingerprint(url, OTHER_DAY) == other_day
    # The killed session's lock died with it: the next writer gets in at once.
    old_table.replace_partition(*TABLE, day_frame(5, value=2), day_filter())
    assert _fingerprint(url) == expected_fingerprint(day_frame(5, value=2))


def test_second_writer_waits_for_the_first_and_replaces_its_rows(
    old_table: PostgresWarehouse, tmp_path: Path
) -> None:
    """Invariant: two runs writing the same partition at once are serialized by the table lock: the
    second waits for the first to commit and then replaces its rows, so the partition ends with
    one copy (the last writer's), never both."""
    marker = tmp_path / "marker"
    first = _start(old_table.url, marker, "deleted", 200_000, value=1, pause=1.0)
    # first holds the lock, its delete done, nothing inserted yet
    wait_for_marker(marker, first, MARKER_TIMEOUT)
    second = _start(old_table.url, tmp_path / "unused", "never", 150_000, value=2, pause=0)
    first.join(timeout=60)
    second.join(timeout=60)
    assert (first.exitcode, second.exitcode) == (0, 0)
    assert _fingerprint(old_table.url) == expected_fingerprint(day_frame(150_000, value=2))


def test_writers_started_together_end_with_exactly_one_copy(
    old_table: PostgresWarehouse, tmp_path: Path
) -> None:
    """Invariant: however two simultaneous writers of one partition interleave, the partition holds
    exactly one writer's complete rows afterwards."""
    writers = [
        _start(old_table.url, tmp_path / f"m{value}", "never", 100_000, value=value, pause=0)
        for value in (1, 2)
    ]
    for writer in writers:
        writer.join(timeout=60)
        assert writer.exitcode == 0
    assert _fingerprint(old_table.url) in {
        expected_fingerprint(day_frame(100_000, value=1)),
        expected_fingerprint(day_frame(100_000, value=2)),
    }


def test_lock_held_too_long_gives_a_clear_timeout(old_table: PostgresWarehouse, tmp_path: Path) -> None:
    """Invariant: waiting for another writer is bounded: past lock_timeout_seconds the write fails
    with WarehouseLockTimeoutError naming the table, and writes nothing."""
    before = _fingerprint(old_table.url)
    marker = tmp_path / "marker"
    holder = _start(old_table.url, marker, "locked", 10, value=1, pause=2.0)
    wait_for_marker(marker, holder, MARKER_TIMEOUT)
    impatient = PostgresWarehouse(url=old_table.url, lock_timeout_seconds=0.3)
    with pytest.raises(WarehouseLockTimeoutError, match=r"s\.events"):
        impatient.replace_partition(*TABLE, day_frame(3, value=9), day_filter())
    holder.join(timeout=30)
    assert holder.exitcode == 0
    assert before != _fingerprint(old_table.url) == expected_fingerprint(day_frame(10, value=1))
