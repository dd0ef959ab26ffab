"""Where upstream systems drop files: a local folder (`local`) or an S3 prefix (`prod`).

Assets and sensors see only `LandingFile` records and bytes, so they do not care which one it is.
"""

import abc
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

import dagster as dg
from pydantic import Field


@dataclass(frozen=True)
class LandingFile:
    """One landed file: its key relative to the zone's root, and what identifies its content."""

    key: str
    size: int
    modified: datetime
    version: str  # changes whenever the content is replaced (S3 ETag; size+mtime on disk)


class LandingZone(dg.ConfigurableResource, abc.ABC):
    """A read-only view of a landing zone."""

    @abc.abstractmethod
    def list_files(self, prefix: str) -> list[LandingFile]:
        """Every file under `prefix`, sorted by key."""

    @abc.abstractmethod
    def read_bytes(self, key: str) -> bytes:
        """The whole content of one file."""


def checked_key(key: str) -> PurePosixPath:
    """`key` as a relative path, refusing absolute keys and `..` (a key must stay inside the zone)."""
    path = PurePosixPath(key)
    if path.is_absolute() or ".." in path.parts:
        raise ValueError(f"Landing key {key!r} must be relative and must not contain '..'.")
    return path


class LocalLandingZone(LandingZone):
    """A landing zone in a local folder (the embedded deployment)."""

    root: str = Field(description="Folder that holds the landed files.")

    def list_files(self, prefix: str) -> list[LandingFile]:
        base = Path(self.root) / checked_key(prefix)
        if not base.exists():
            return []
        files = []
        for path in sorted(p for p in base.rglob("*") if p.is_file() and not p.name.startswith(".")):
            stat = path.stat()
            files.append(
                LandingFile(
                    key=path.relative_to(self.root).as_posix(),
                    size=stat.st_size,
                    modified=datetime.fromtimestamp(stat.st_mtime, tz=UTC),
                    version=f"{stat.st_size}-{stat.st_mtime_ns}",
                )
            )
        return files

    def read_bytes(self, key: str) -> bytes:
        return (Path(self.root) / checked_key(key)).read_bytes()
