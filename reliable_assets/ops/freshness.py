"""The SLAs of `ops/sla.py` as Dagster freshness: a policy per asset and a check per partition.

The freshness policy drives the UI's freshness status (evaluated by Dagster's freshness daemon)
but looks only at the asset's latest materialization of any partition, so a backfill of an old
day would make it look fresh. The time-partition freshness checks close that gap: each asks
whether the last completed day's partition exists by its deadline, and a sensor runs them.
"""

from datetime import timedelta

import dagster as dg

from reliable_assets.ops.sla import SLA_AFTER_DAY_END
from reliable_assets.toolkit.opt_in import opted_in


def deadline_cron(after_day_end: timedelta) -> str:
    """`0 H * * *`: the SLA's deadline as a daily cron in UTC (whole hours after midnight)."""
    hours = int(after_day_end.total_seconds() // 3600)
    if not 0 < hours < 24 or after_day_end != timedelta(hours=hours):
        raise ValueError(f"SLA deadline {after_day_end} must be whole hours within the next day")
    return f"0 {hours} * * *"


def with_freshness_policy(spec: dg.AssetSpec) -> dg.AssetSpec:
    """Attach the SLA's freshness policy to the specs that have an SLA; leave the others alone."""
    sla = SLA_AFTER_DAY_END.get(spec.key.to_user_string())
    if sla is None:
        return spec
    policy = dg.FreshnessPolicy.cron(deadline_cron=deadline_cron(sla), lower_bound_delta=timedelta(hours=24))
    with_policy: dg.AssetSpec = dg.apply_freshness_policy(spec, policy)
    return with_policy


def partition_freshness_checks() -> list[dg.AssetChecksDefinition]:
    """One WARN check per SLA'd asset: is the last completed day's partition there by its deadline?"""
    checks: list[dg.AssetChecksDefinition] = []
    # Superseded by freshness policies, which judge only the latest materialization of any
    # partition: these checks are what judges each day's partition (module docstring).
    with opted_in():
        for key, sla in SLA_AFTER_DAY_END.items():
            checks.extend(
                dg.build_time_partition_freshness_checks(
                    assets=[dg.AssetKey.from_user_string(key)],
                    deadline_cron=deadline_cron(sla),
                    timezone="UTC",
                )
            )
    return checks


def freshness_checks_sensor(checks: list[dg.AssetChecksDefinition]) -> dg.SensorDefinition:
    with opted_in():  # the sensor that runs the checks above; superseded with them
        return dg.build_sensor_for_freshness_checks(
            freshness_checks=checks,
            minimum_interval_seconds=300,
            name="freshness_checks_sensor",
            default_status=dg.DefaultSensorStatus.RUNNING,
        )
