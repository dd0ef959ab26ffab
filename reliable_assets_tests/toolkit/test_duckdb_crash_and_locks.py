"""Real processes against one DuckDB file: kill -9 inside the transaction, and lock contention."""

import multiprocessing
import os
import signal
import time
from multiprocessing.context import ForkProcess
from pathlib import Path

import pytest

from reliable_assets.toolkit.content_hash import frame_content_hash
from reliable_assets.toolkit.duckdb_warehouse import DuckDBWarehouse
from reliable_assets.toolkit.warehouse import WarehouseLockTimeoutError
from reliable_assets_tests.toolkit.forked_children import wait_for_marker
from reliable_assets_tests.toolkit.warehouse_child import TABLE, day_filter, day_frame, write_day

OLD_ROWS = 1_000
NEW_ROWS = 300_000  # large enough that the insert takes a noticeable while
MARKER_TIMEOUT = 30.0  # seconds a child may take to reach its marked statement

# fork: the child starts at once (no re-import of dagster/pandas) and is a real separate process
# with its own DuckDB file lock. The parent holds no open DuckDB connection when it forks.
_FORK = multiprocessing.get_context("fork")


def _start_child(database: str, marker: Path, moment: str, rows: int, pause: float) -> ForkProcess:
    child = _FORK.Process(target=write_day, args=(database, str(marker), moment, rows, pause))
    child.start()
    return child


def _pid(child: ForkProcess) -> int:
    assert child.pid is not None
    return child.pid


def _old_table(tmp_path: Path) -> tuple[DuckDBWarehouse, str]:
    warehouse = DuckDBWarehouse(path=str(tmp_path / "w.duckdb"))
    warehouse.replace_partition(*TABLE, day_frame(OLD_ROWS, value=0), day_filter())
    return warehouse, warehouse.table_content_hash(*TABLE)


@pytest.mark.parametrize(
    "moment",
    [
        "delete",  # the partition's rows are deleted, nothing inserted yet
        "commit",  # every new row inserted, COMMIT not yet issued
    ],
)
def test_kill_9_inside_the_transaction_leaves_the_old_partition(tmp_path: Path, moment: str) -> None:
    """Invariant: a writer killed with SIGKILL at a point inside its transaction leaves the old
    partition complete (no empty or partial partition), and the file stays usable."""
    warehouse, before = _old_table(tmp_path)
    marker = tmp_path / "marker"
    child = _start_child(warehouse.path, marker, moment, NEW_ROWS, pause=60)
    wait_for_marker(marker, child, MARKER_TIMEOUT)
    os.kill(_pid(child), signal.SIGKILL)
    child.join(timeout=10)
    assert child.exitcode == -signal.SIGKILL
    after = DuckDBWarehouse(path=warehouse.path)
    assert after.table_content_hash(*TABLE) == before
    assert len(after.read_table(*TABLE, partition=day_filter())) == OLD_ROWS
    after.replace_partition(*TABLE, day_frame(5, value=2), day_filter())  # still writable
    assert len(after.read_table(*TABLE)) == 5


@pytest.mark.parametrize("delay", [0.0, 0.03, 0.1])
def test_kill_9_during_the_insert_leaves_old_or_new_never_partial(tmp_path: Path, delay: float) -> None:
    """Invariant: a writer killed while its large INSERT runs (or just after, the timing is real)
    leaves exactly the old partition or exactly the new one, never a partial or empty one."""
    warehouse, before = _old_table(tmp_path)
    marker = tmp_path / "marker"
    child = _start_child(warehouse.path, marker, "insert", NEW_ROWS, pause=0)
    wait_for_marker(marker, child, MARKER_TIMEOUT)
    time.sleep(delay)
    os.kill(_pid(child), signal.SIGKILL)
    child.join(timeout=10)
    stored = DuckDBWarehouse(path=warehouse.path).read_table(*TABLE)
    assert len(stored) in {OLD_ROWS, NEW_ROWS}
    if len(stored) == OLD_ROWS:
        assert frame_content_hash(stored) == before
    else:
        assert set(stored["value"]) == {1}


def test_two_processes_writing_one_file_both_succeed(tmp_path: Path) -> None:
    """Invariant: while one process holds the DuckDB file lock, another writer retries with backoff
    and succeeds after it; two writes of the same partition end with one copy, not two."""
    warehouse, _ = _old_table(tmp_path)
    marker = tmp_path / "marker"
    child = _start_child(warehouse.path, marker, "commit", 100, pause=1.0)
    wait_for_marker(marker, child, MARKER_TIMEOUT)  # the child is in its transaction, holding the lock
    started = time.monotonic()
    result = warehouse.replace_partition(*TABLE, day_frame(7, value=3), day_filter())
    waited = time.monotonic() - started
    child.join(timeout=30)
    assert child.exitcode == 0
    assert waited > 0.5, "the second writer should have waited for the lock"
    assert result.rows_deleted == 100  # it replaced the child's committed rows
    stored = warehouse.read_table(*TABLE)
    assert len(stored) == 7
    assert set(stored["value"]) == {3}


def test_lock_held_too_long_gives_a_clear_timeout(tmp_path: Path) -> None:
    """Invariant: retrying is bounded: past lock_timeout_seconds the error names the file and the
    single-writer rule, and no connection is leaked (a later write succeeds)."""
    warehouse, before = _old_table(tmp_path)
    marker = tmp_path / "marker"
    child = _start_child(warehouse.path, marker, "commit", 10, pause=1.5)
    wait_for_marker(marker, child, MARKER_TIMEOUT)
    impatient = DuckDBWarehouse(path=warehouse.path, lock_timeout_seconds=0.3)
    with pytest.raises(WarehouseLockTimeoutError, match="one writing process per file"):
        impatient.table_content_hash(*TABLE)
    child.join(timeout=30)
    assert child.exitcode == 0
    assert len(warehouse.read_table(*TABLE)) == 10
    assert before != warehouse.table_content_hash(*TABLE)
