"""`landing_zone_sensor`: new or changed landing files start `raw/events` runs for their day.

The landing layout is `events/<YYYY-MM-DD>/<file>`; `raw/events` reads every file of a day's
folder, so every file in it counts, whatever its name. The sensor works with whichever
`landing_zone` resource the deployment binds (the local folder or S3).
"""

import re
from datetime import date

import dagster as dg

from reliable_assets.partitions import daily
from reliable_assets.toolkit.landing_zone_sensor import build_landing_zone_sensor

EVENTS_PREFIX = "events"
_DAY_FOLDER = re.compile(r"events/(\d{4}-\d{2}-\d{2})/.+")


def event_day_for_key(key: str) -> str | None:
    """The day partition of a landing key, or None for keys outside `events/<day>/`."""
    match = _DAY_FOLDER.fullmatch(key)
    if match is None:
        return None
    try:
        return date.fromisoformat(match.group(1)).isoformat()
    except ValueError:  # e.g. events/2024-02-30/
        return None


landing_zone_sensor = build_landing_zone_sensor(
    name="landing_zone_sensor",
    target=dg.AssetSelection.assets(dg.AssetKey(["raw", "events"])),
    prefix=EVENTS_PREFIX,
    partition_for_key=event_day_for_key,
    partitions_def=daily,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="New or changed landing files under events/<day>/ start a raw/events run for that day.",
)
