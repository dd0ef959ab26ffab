"""The project's lineage export: `openlineage_sensor` (toolkit/lineage_sensor.py).

Namespace `reliable_assets`; `raw/events` reads the landing zone's `events/` folder. Without
`OPENLINEAGE_URL`, events go to `<data folder>/lineage/openlineage.jsonl`.
"""

from pathlib import Path

import dagster as dg

from reliable_assets import paths
from reliable_assets.toolkit.lineage_sensor import build_lineage_sensor

NAMESPACE = "reliable_assets"


def lineage_file() -> Path:
    return paths.data_dir() / "lineage" / "openlineage.jsonl"


openlineage_sensor = build_lineage_sensor(
    name="openlineage_sensor",
    namespace=NAMESPACE,
    lineage_file=lineage_file,
    resource_keys=["raw_io_manager", "model_io_manager", "warehouse_io_manager", "landing_zone"],
    external_inputs={dg.AssetKey(["raw", "events"]): ("landing_zone", "events")},
)
