"""Write-then-rename for local files: a reader sees the old file or the new one, never a part."""

import os
from collections.abc import Callable
from pathlib import Path


def temp_path_for(target: Path) -> Path:
    """A hidden sibling (same folder, so the rename stays on one file system); landing-zone
    readers only list `events-*.jsonl`, so they never pick it up."""
    return target.with_name(f".{target.name}.tmp-{os.getpid()}")


def replace_atomically(target: Path, write: Callable[[Path], object], mtime: int | None = None) -> None:
    """Run `write(temp)`, fsync, set the mtime if given, then rename over `target`.

    The mtime is set before the rename so the file never shows a wrong one under its real name.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = temp_path_for(target)
    try:
        write(temp)
        with temp.open("rb+") as handle:
            os.fsync(handle.fileno())
        if mtime is not None:
            os.utime(temp, (mtime, mtime))
        os.replace(temp, target)
    finally:
        temp.unlink(missing_ok=True)


def write_bytes_atomically(target: Path, content: bytes, mtime: int | None = None) -> None:
    replace_atomically(target, lambda temp: temp.write_bytes(content), mtime)
