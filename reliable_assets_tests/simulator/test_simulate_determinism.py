"""Same arguments, same bytes: the simulator's output depends on its arguments alone."""

import os
import sqlite3
from pathlib import Path

from reliable_assets_tests.simulator.conftest import run_in


def _tree(root: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under `root` (manifest, database, landing files) with its bytes and mtime."""
    return {
        path.relative_to(root).as_posix(): (path.read_bytes(), path.stat().st_mtime_ns)
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def test_same_arguments_give_identical_files_and_mtimes(tmp_path: Path) -> None:
    """Two runs with equal arguments in two folders write byte-identical files with equal mtimes
    (the determinism every idempotency test downstream relies on)."""
    run_in(tmp_path / "a", bad_rate=0.1)
    run_in(tmp_path / "b", bad_rate=0.1)
    first, second = _tree(tmp_path / "a"), _tree(tmp_path / "b")
    assert "source.sqlite" in first
    assert any(name.startswith("landing/events/2024-01-03/") for name in first)
    assert first == second


def test_different_seed_gives_different_data(tmp_path: Path) -> None:
    """The seed really drives the data: another seed changes the database and the landing files."""
    run_in(tmp_path / "a", seed=1)
    run_in(tmp_path / "b", seed=2)
    first, second = _tree(tmp_path / "a"), _tree(tmp_path / "b")
    assert first["source.sqlite"][0] != second["source.sqlite"][0]
    shared = {name for name in first if name.startswith("landing/")} & set(second)
    assert any(first[name][0] != second[name][0] for name in shared)


def test_rerun_replaces_the_database_and_the_days_files(tmp_path: Path) -> None:
    """A re-run replaces the source db whole and leaves each simulated day holding exactly the
    files of the new run (no stale hour files from an earlier, busier run)."""
    run_in(tmp_path, events_per_day=150)
    summary = run_in(tmp_path, events_per_day=5, orders_per_day=3)
    files = sorted(
        p.relative_to(tmp_path / "landing").as_posix() for p in (tmp_path / "landing").rglob("*.jsonl")
    )
    assert len(files) == summary.event_files <= 3 * 5
    assert not [p for p in tmp_path.rglob("*") if ".tmp-" in p.name]
    with sqlite3.connect(tmp_path / "source.sqlite") as conn:
        assert conn.execute("SELECT count(*) FROM orders").fetchone() == (9,)
    os.stat(tmp_path / "simulation_manifest.json")
