from pathlib import Path

import pytest

from reliable_assets.toolkit.files import InvalidRelativePathError, LocalFileStore


def test_write_is_atomic_and_leaves_no_temp_files(tmp_path: Path) -> None:
    """Invariant: write_bytes creates or replaces the file whole and leaves nothing else behind."""
    store = LocalFileStore(tmp_path)
    store.write_bytes("raw/orders/2026-01-01.parquet", b"old")
    store.write_bytes("raw/orders/2026-01-01.parquet", b"new")
    assert store.read_bytes("raw/orders/2026-01-01.parquet") == b"new"
    assert store.exists("raw/orders/2026-01-01.parquet")
    assert not store.exists("raw/orders/2026-01-02.parquet")
    assert [p.name for p in (tmp_path / "raw" / "orders").iterdir()] == ["2026-01-01.parquet"]
    assert store.uri("raw/orders/2026-01-01.parquet").startswith("file:///")


def test_failed_write_keeps_the_old_file_and_removes_the_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Invariant: an error before the rename leaves the old content and no temp file."""
    store = LocalFileStore(tmp_path)
    store.write_bytes("a/b.json", b"old")

    def broken_replace(source: str, target: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("reliable_assets.toolkit.files.os.replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        store.write_bytes("a/b.json", b"new")
    assert store.read_bytes("a/b.json") == b"old"
    assert [p.name for p in (tmp_path / "a").iterdir()] == ["b.json"]


@pytest.mark.parametrize("relpath", ["../escape", "/etc/passwd", "a/../../b", "", "a//b", "./a", "a\\b"])
def test_paths_outside_the_store_are_refused(tmp_path: Path, relpath: str) -> None:
    """Invariant: no store path can point outside the store's root."""
    store = LocalFileStore(tmp_path / "root")
    with pytest.raises(InvalidRelativePathError):
        store.write_bytes(relpath, b"x")
    assert not (tmp_path / "escape").exists()
