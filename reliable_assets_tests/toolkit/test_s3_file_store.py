"""S3FileStore against moto's S3 server over HTTP: atomic publish, and kill -9 mid-write."""

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from reliable_assets.toolkit.files import InvalidRelativePathError
from reliable_assets.toolkit.s3_file_store import S3FileStore
from reliable_assets_tests.s3_server import S3Bucket, s3_bucket_fixture, s3_endpoint_fixture  # noqa: F401

LARGE = 50 * 1024 * 1024


def test_write_replaces_whole_and_leaves_no_staging_keys(s3: S3Bucket) -> None:
    """Invariant: write_bytes creates or replaces the object whole, records its SHA-256 on the
    object, and leaves no staging object behind."""
    store = S3FileStore(s3.client, s3.name, prefix="lake/")
    store.write_bytes("raw/orders/2026-01-01.parquet", b"old")
    store.write_bytes("raw/orders/2026-01-01.parquet", b"new")
    assert store.read_bytes("raw/orders/2026-01-01.parquet") == b"new"
    assert store.exists("raw/orders/2026-01-01.parquet")
    assert not store.exists("raw/orders/2026-01-02.parquet")
    assert s3.list_keys() == ["lake/raw/orders/2026-01-01.parquet"]
    head = s3.client.head_object(Bucket=s3.name, Key="lake/raw/orders/2026-01-01.parquet")
    assert head["Metadata"]["sha256"] == hashlib.sha256(b"new").hexdigest()
    assert store.uri("raw/orders/2026-01-01.parquet") == f"s3://{s3.name}/lake/raw/orders/2026-01-01.parquet"


def test_missing_object_and_bad_paths(s3: S3Bucket) -> None:
    """Invariant: a missing object reads as FileNotFoundError naming its URI; paths that would
    leave the store's prefix are refused before any request."""
    store = S3FileStore(s3.client, s3.name)
    with pytest.raises(FileNotFoundError, match=f"s3://{s3.name}/nope.json"):
        store.read_bytes("nope.json")
    for relpath in ("../escape", "/abs", "a//b"):
        with pytest.raises(InvalidRelativePathError):
            store.write_bytes(relpath, b"x")
    assert s3.list_keys() == []


def test_failed_publish_keeps_the_old_object_and_removes_staging(
    s3: S3Bucket, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Invariant: if the copy into place fails, readers keep the old object and the staging object
    is deleted."""
    store = S3FileStore(s3.client, s3.name)
    store.write_bytes("a/b.json", b"old")

    def refuse_copy(**kwargs: Any) -> None:
        raise ConnectionError("network down")

    monkeypatch.setattr(s3.client, "copy_object", refuse_copy)
    with pytest.raises(ConnectionError):
        store.write_bytes("a/b.json", b"new")
    assert store.read_bytes("a/b.json") == b"old"
    assert s3.list_keys() == ["a/b.json"]


@pytest.mark.parametrize("delay", [0.0, 0.2, 0.6])
def test_kill_9_during_a_large_write_leaves_the_old_object_whole(
    s3: S3Bucket, tmp_path: Path, delay: float
) -> None:
    """Invariant: a writer SIGKILLed while replacing an object with 50 MB (during the upload, or
    later: the timing is real) leaves the old object readable and whole, or, once the copy into
    place has started, the whole new one; never a partial object."""
    old = os.urandom(1024 * 1024)
    store = S3FileStore(s3.client, s3.name)
    store.write_bytes("raw/events/2026-01-01.parquet", old)
    child = subprocess.Popen(
        [sys.executable, "-m", "reliable_assets_tests.toolkit.s3_writer_child",
         s3.endpoint, s3.name, "raw/events/2026-01-01.parquet", str(LARGE), str(tmp_path)],
        env=os.environ.copy(),
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not (tmp_path / "uploading").exists():
            assert child.poll() is None, "the writer died before uploading"
            if time.monotonic() > deadline:  # a guard against hanging, not a speed claim
                pytest.fail("the writer never started uploading")
            time.sleep(0.005)
        time.sleep(delay)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait()
    published = store.read_bytes("raw/events/2026-01-01.parquet")
    if not (tmp_path / "copying").exists():
        assert published == old
    else:
        assert published in (old, b"n" * LARGE)
    assert [k for k in s3.list_keys() if not k.startswith(".staging/")] == ["raw/events/2026-01-01.parquet"]
