"""File stores with atomic writes: a reader sees the old file or the new one, never a partial one.

``FileStore`` is the contract (an S3 store comes later); ``LocalFileStore`` writes a temp file in
the target's directory, fsyncs it, renames it over the target and fsyncs the directory, so a crash
at any instant (``kill -9`` included) leaves the old or the new file.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from abc import ABC, abstractmethod
from pathlib import Path, PurePosixPath


class InvalidRelativePathError(ValueError):
    """A store path that is absolute, empty, or climbs out of the store (``..``)."""


def validate_relpath(relpath: str) -> PurePosixPath:
    """A clean relative POSIX path inside the store, or InvalidRelativePathError."""
    problem = None
    if not isinstance(relpath, str) or not relpath:
        problem = "it is empty"
    elif "\\" in relpath or "\x00" in relpath:
        problem = "it contains a backslash or NUL"
    elif relpath.startswith("/"):
        problem = "it is absolute"
    elif any(part in {"", ".", ".."} for part in relpath.split("/")):
        problem = "it has an empty, '.' or '..' segment"
    if problem:
        raise InvalidRelativePathError(f"Invalid store path {relpath!r}: {problem}")
    return PurePosixPath(relpath)


class FileStore(ABC):
    """Bytes addressed by relative POSIX paths."""

    @abstractmethod
    def write_bytes(self, relpath: str, data: bytes) -> None:
        """Atomically create or replace ``relpath``."""

    @abstractmethod
    def read_bytes(self, relpath: str) -> bytes:
        """The content of ``relpath``; FileNotFoundError if absent."""

    @abstractmethod
    def exists(self, relpath: str) -> bool: ...

    @abstractmethod
    def uri(self, relpath: str) -> str:
        """Where ``relpath`` lives, for metadata and error messages."""


class LocalFileStore(FileStore):
    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def path(self, relpath: str) -> Path:
        return self.root.joinpath(*validate_relpath(relpath).parts)

    def write_bytes(self, relpath: str, data: bytes) -> None:
        target = self.path(relpath)
        target.parent.mkdir(parents=True, exist_ok=True)
        # Same directory, so os.replace is a rename within one file system (atomic).
        descriptor, temp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        try:
            with os.fdopen(descriptor, "wb") as temp_file:
                temp_file.write(data)
                temp_file.flush()
                os.fsync(temp_file.fileno())
            os.replace(temp_name, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp_name)
            raise
        _fsync_directory(target.parent)  # makes the rename itself survive a power loss

    def read_bytes(self, relpath: str) -> bytes:
        return self.path(relpath).read_bytes()

    def exists(self, relpath: str) -> bool:
        return self.path(relpath).is_file()

    def uri(self, relpath: str) -> str:
        return self.path(relpath).absolute().as_uri()


def _fsync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
