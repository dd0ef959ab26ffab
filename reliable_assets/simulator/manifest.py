"""The simulation manifest: what was generated and which records were made bad on purpose.

Later tests read it to prove that every injected bad record reached the dead letters, so it holds
only relative paths and generated values: identical arguments give an identical manifest.
"""

import json
from collections import Counter

from reliable_assets.simulator.generate import Simulation
from reliable_assets.simulator.timefmt import sql_ts

MANIFEST_NAME = "simulation_manifest.json"


def build_manifest(sim: Simulation) -> dict[str, object]:
    orders_by_day = Counter(o.order_ts.date().isoformat() for o in sim.orders)
    events_by_day = {
        day.day.isoformat(): {
            "files": len(day.files),
            "late_files": sum(f.late for f in day.files),
            "lines": sum(f.line_count for f in day.files),
            "valid_events": day.valid_events,
            "duplicate_lines": len(day.duplicated_event_ids),
            "malformed_lines": sum(len(f.malformed_lines) for f in day.files),
        }
        for day in sim.events
    }
    files = sim.landing_files
    return {
        "args": sim.config.as_json(),
        "window": {"start": sql_ts(sim.config.window_start), "end": sql_ts(sim.config.window_end)},
        "counts": {
            "customers": len(sim.customers.customers),
            "orders": {
                "total": len(sim.orders),
                "by_day": dict(sorted(orders_by_day.items())),
                "deleted": sum(o.is_deleted for o in sim.orders),
                "bad": len(sim.bad_orders),
            },
            "events": events_by_day,
        },
        "bad_records": {
            "orders": dict(sorted(sim.bad_orders.items())),
            "events": {
                "malformed_lines": [[f.relative_path, line] for f in files for line in f.malformed_lines],
                "duplicated_event_ids": sorted(i for day in sim.events for i in day.duplicated_event_ids),
            },
        },
        "late_files": [f.relative_path for f in files if f.late],
    }


def encode_manifest(manifest: dict[str, object]) -> bytes:
    return (json.dumps(manifest, sort_keys=True, indent=2) + "\n").encode()
