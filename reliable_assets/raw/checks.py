"""The raw layer's checks on what is already published (`reliable-assets check`).

The contracts are the very models the assets validate with (raw/schemas.py, through
toolkit/pandera_checks.py). ``landed_lines_reconciled`` is the assets' reconciliation of a day's
landing files, recomputed after the fact from what is there now: the landing zone's files, the
published raw/events partition and the dead letters recorded for it.
"""

from dataclasses import dataclass
from datetime import date

import dagster as dg
import pandas as pd
import pandera.pandas as pa

from reliable_assets.raw.event_lines import events_frame, parse_event_file
from reliable_assets.raw.schemas import RawCustomers, RawEvents, RawFxRates, RawOrders
from reliable_assets.toolkit.frame_checks import reconciliation_check
from reliable_assets.toolkit.landing_zone import LandingZone
from reliable_assets.toolkit.pandera_checks import pandera_check_results

RAW_CONTRACTS: dict[str, type[pa.DataFrameModel]] = {
    "raw/orders": RawOrders,
    "raw/events": RawEvents,
    "raw/fx_rates": RawFxRates,
    "raw/customers": RawCustomers,
}
LANDED_LINES_RECONCILED = "landed_lines_reconciled"


def contract_results(asset: str, rows: pd.DataFrame) -> list[dg.AssetCheckResult]:
    """The pandera contract of a raw asset (``raw/orders``...), one result per column contract."""
    return pandera_check_results(RAW_CONTRACTS[asset], rows)


@dataclass(frozen=True)
class LandedDay:
    """A day's landing files as they are now: their non-blank lines, and the valid events among
    them (parsed by the asset's own parser) with how many distinct event ids they carry."""

    files: int
    landed_lines: int
    valid_events: int
    distinct_events: int

    @property
    def duplicates(self) -> int:
        return self.valid_events - self.distinct_events


def landed_day(landing_zone: LandingZone, day: date) -> LandedDay:
    """Count the day's landing files the way raw/events does (lines counted apart from the parser)."""
    files = landing_zone.list_files(f"events/{day.isoformat()}")
    landed = 0
    parsed: list[pd.DataFrame] = []
    for landing_file in files:
        content = landing_zone.read_bytes(landing_file.key)
        landed += sum(1 for line in content.splitlines() if line.strip())
        parsed.append(parse_event_file(content, landing_file.key, day)[0])
    valid = sum(map(len, parsed))
    distinct = len(events_frame(pd.concat(parsed, ignore_index=True))[0]) if valid else 0
    return LandedDay(len(files), landed, valid, distinct)


def landed_lines_reconciled(landed: LandedDay, raw_rows: int, dead_lettered: int) -> dg.AssetCheckResult:
    """Landed non-blank lines = published raw rows + duplicate events + recorded dead letters."""
    result = reconciliation_check(
        LANDED_LINES_RECONCILED,
        landed.landed_lines,
        {"loaded": raw_rows, "duplicates_dropped": landed.duplicates, "dead_lettered": dead_lettered},
    )
    return result.with_metadata({**result.metadata, "landing_files": landed.files})
