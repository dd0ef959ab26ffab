"""`simulate`: generate the world for a config and write it where the deployment keeps it."""

from dataclasses import dataclass
from pathlib import Path

from reliable_assets import paths
from reliable_assets.simulator.atomic import write_bytes_atomically
from reliable_assets.simulator.config import SimulationConfig
from reliable_assets.simulator.generate import generate
from reliable_assets.simulator.landing import LandingWriter, LocalLandingWriter
from reliable_assets.simulator.manifest import MANIFEST_NAME, build_manifest, encode_manifest
from reliable_assets.simulator.source_db import SourceWriter, SqliteSourceWriter
from reliable_assets.simulator.timefmt import epoch_seconds


@dataclass(frozen=True)
class SimulationSummary:
    source: str
    landing: str
    manifest_path: Path
    manifest: dict[str, object]
    customers: int
    orders: int
    bad_orders: int
    deleted_orders: int
    event_files: int
    late_files: int
    event_lines: int
    duplicate_lines: int
    malformed_lines: int

    def lines(self) -> list[str]:
        return [
            f"source database: {self.source}",
            f"  customers: {self.customers}",
            f"  orders: {self.orders} ({self.bad_orders} bad, {self.deleted_orders} soft-deleted)",
            f"landing zone: {self.landing}",
            f"  event files: {self.event_files} ({self.late_files} late)",
            f"  event lines: {self.event_lines} ({self.duplicate_lines} duplicates,"
            f" {self.malformed_lines} malformed)",
            f"manifest: {self.manifest_path}",
        ]


def manifest_path() -> Path:
    return paths.data_dir() / MANIFEST_NAME


def simulate(
    config: SimulationConfig,
    source_writer: SourceWriter | None = None,
    landing_writer: LandingWriter | None = None,
) -> SimulationSummary:
    """Write the source database, the landing files of the simulated days and the manifest.

    Without writers, writes the local deployment's files under `RELIABLE_ASSETS_DATA_DIR`.
    """
    source_writer = source_writer or SqliteSourceWriter(paths.source_db_path())
    landing_writer = landing_writer or LocalLandingWriter(paths.landing_dir())
    sim = generate(config)
    # Files that carry no arrival time of their own get the simulated 'now': the window's end.
    as_of = epoch_seconds(config.window_end)
    source = source_writer.write(sim.customers.customers, sim.orders, as_of=as_of)
    for day in sim.events:
        landing_writer.write_day(day.day, day.files)
    manifest = build_manifest(sim)
    target = manifest_path()
    write_bytes_atomically(target, encode_manifest(manifest), mtime=as_of)
    files = sim.landing_files
    return SimulationSummary(
        source=source,
        landing=landing_writer.describe(),
        manifest_path=target,
        manifest=manifest,
        customers=len(sim.customers.customers),
        orders=len(sim.orders),
        bad_orders=len(sim.bad_orders),
        deleted_orders=sum(o.is_deleted for o in sim.orders),
        event_files=len(files),
        late_files=sum(f.late for f in files),
        event_lines=sum(f.line_count for f in files),
        duplicate_lines=sum(len(d.duplicated_event_ids) for d in sim.events),
        malformed_lines=sum(len(f.malformed_lines) for f in files),
    )
