"""Writers of the landing zone.

`LandingWriter` is the seam for deployments: the local one below writes under the landing folder;
an S3 writer for `prod` implements the same `write_day` beside it.
"""

from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Protocol

from reliable_assets.simulator.atomic import write_bytes_atomically
from reliable_assets.simulator.events import LandingFile


class LandingWriter(Protocol):
    def write_day(self, day: date, files: Sequence[LandingFile]) -> None:
        """Make the day's event files exactly `files` (content and arrival time)."""
        ...

    def describe(self) -> str:
        """Where the files go, for the summary."""
        ...


class LocalLandingWriter:
    def __init__(self, root: Path) -> None:
        self.root = root

    def write_day(self, day: date, files: Sequence[LandingFile]) -> None:
        for landing_file in files:
            write_bytes_atomically(
                self.root / landing_file.relative_path, landing_file.content, landing_file.mtime
            )
        # A re-run with other arguments may produce fewer hours: drop files it did not write, so
        # the day holds what this run describes and nothing else.
        folder = self.root / "events" / day.isoformat()
        written = {Path(f.relative_path).name for f in files}
        for stale in folder.glob("events-*.jsonl"):
            if stale.name not in written:
                stale.unlink()

    def describe(self) -> str:
        return str(self.root)
