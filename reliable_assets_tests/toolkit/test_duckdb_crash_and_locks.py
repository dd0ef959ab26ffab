"""Real processes against one DuckDB file: kill -9 inside the transaction, and lock contention."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from reliable_assets.toolkit.duckdb_warehouse import DuckDBWarehouse
from reliable_assets.toolkit.warehouse import WarehouseLockTimeoutError
from reliable_assets_tests.toolkit.warehouse_child import TABLE, day_filter, day_frame

PROJECT_ROOT = Path(__file__).resolve().parents[2]
OLD_ROWS = 1_000
NEW_ROWS = 600_000  # large enough that the insert takes a noticeable while


def _start_child(database: Path, marker: Path, moment: str, rows: int, pause: float) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "reliable_assets_tests.toolkit.warehouse_child"]
        + [str(database), str(marker), moment, str(rows), str(pause)],
        cwd=PROJECT_ROOT,
        stderr=subprocess.PIPE,
    )


def _wait_for(marker: Path, child: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not marker.exists():
        if child.poll() is not None:
            raise AssertionError(f"child exited early: {child.stderr.read() if child.stderr else ''!r}")
        if time.monotonic() > deadline:
            child.kill()
            raise AssertionError("child never reached the marked statement")
        time.sleep(0.01)


def _old_table(tmp_path: Path) -> tuple[DuckDBWarehouse, str]:
    warehouse = DuckDBWarehouse(path=str(tmp_path / "w.duckdb"))
    warehouse.replace_partition(*TABLE, day_frame(OLD_ROWS, value=0), day_filter())
    return warehouse, warehouse.table_content_hash(*TABLE)


@pytest.mark.parametrize(
    ("moment", "delay"),
    [
        ("delete", 0.0),  # the partition's rows are deleted, nothing inserted yet
        ("insert", 0.15),  # killed while the large INSERT is running
        ("commit", 0.0),  # every new row inserted, COMMIT not yet issued
    ],
)
def test_kill_9_inside_the_transaction_leaves_the_old_partition(
    tmp_path: Path, moment: str, delay: float
) -> None:
    """Invariant: a writer killed with SIGKILL at any point inside its transaction leaves the old
    partition complete (no empty or partial partition), and the file stays usable."""
    warehouse, before = _old_table(tmp_path)
    marker = tmp_path / "marker"
    child = _start_child(Path(warehouse.path), marker, moment, NEW_ROWS, pause=60 if delay == 0 else 0)
    _wait_for(marker, child)
    time.sleep(delay)
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=10)
    assert child.returncode == -signal.SIGKILL
    after = DuckDBWarehouse(path=warehouse.path)
    assert after.table_content_hash(*TABLE) == before
    assert len(after.read_table(*TABLE, partition=day_filter())) == OLD_ROWS
    after.replace_partition(*TABLE, day_frame(5, value=2), day_filter())  # still writable
    assert len(after.read_table(*TABLE)) == 5


def test_two_processes_writing_one_file_both_succeed(tmp_path: Path) -> None:
    """Invariant: while one process holds the DuckDB file lock, another writer retries with backoff
    and succeeds after it; two writes of the same partition end with one copy, not two."""
    warehouse, _ = _old_table(tmp_path)
    marker = tmp_path / "marker"
    child = _start_child(Path(warehouse.path), marker, "commit", 100, pause=1.5)
    _wait_for(marker, child)  # the child is inside its transaction, holding the lock
    started = time.monotonic()
    result = warehouse.replace_partition(*TABLE, day_frame(7, value=3), day_filter())
    waited = time.monotonic() - started
    assert child.wait(timeout=30) == 0, child.stderr.read() if child.stderr else ""
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
    child = _start_child(Path(warehouse.path), marker, "commit", 10, pause=3)
    _wait_for(marker, child)
    impatient = DuckDBWarehouse(path=warehouse.path, lock_timeout_seconds=0.5)
    with pytest.raises(WarehouseLockTimeoutError, match="one writing process per file"):
        impatient.table_content_hash(*TABLE)
    child.wait(timeout=30)
    assert len(warehouse.read_table(*TABLE)) == 10
    assert before != warehouse.table_content_hash(*TABLE)
