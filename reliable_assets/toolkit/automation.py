"""Declarative automation conditions that keep old partitions right, not just the newest one.

`AutomationCondition.eager()` considers only the latest time window: when a late file re-runs an
old day of a root asset, nothing downstream of that day follows, and the tables people read keep
the old numbers. `follow_upstream` reacts to an update of *any* partition of a dependency, and
requests missing partitions only in the latest window (a new deployment must not start a run for
every day since the partitions began).

Dependencies every partition shares (an unpartitioned dimension) would make every partition
"updated" at once; pass them as `latest_only` so their updates refresh the latest window alone.
Such a dependency cannot share a run with a daily partition, so while it is being requested the
partition waits for the next evaluation: launched side by side, the two runs would race and the
partition could read the dimension as it was before the refresh.
"""

import dagster as dg


def follow_upstream(latest_only: dg.AssetSelection | None = None) -> dg.AutomationCondition:
    """Eager for the latest window; for older partitions, re-run those whose own deps updated."""
    any_partition_update = dg.AutomationCondition.any_deps_updated()
    if latest_only is not None:
        any_partition_update = any_partition_update.ignore(latest_only)
    latest_window = dg.AutomationCondition.in_latest_time_window() & (
        dg.AutomationCondition.newly_missing() | dg.AutomationCondition.any_deps_updated()
    )
    condition = (
        (latest_window | any_partition_update).since_last_handled()
        & ~dg.AutomationCondition.any_deps_missing()
        & ~dg.AutomationCondition.any_deps_in_progress()
        & ~dg.AutomationCondition.in_progress()
    )
    if latest_only is not None:
        shared_dep_requested = dg.AutomationCondition.any_deps_match(
            dg.AutomationCondition.will_be_requested()
        ).allow(latest_only)
        condition = condition & ~shared_dep_requested
    return condition.with_label("follow_upstream")
