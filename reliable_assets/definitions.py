"""The code location: only wiring. Each group brings its assets; settings bring the resources."""

import dagster as dg

from reliable_assets import execution, log_format, settings
from reliable_assets.ml import assets as ml_assets
from reliable_assets.ops import assets as ops_assets
from reliable_assets.ops.alerts import (
    alert_on_check_failure,
    alert_on_freshness,
    alert_on_run_failure,
    alert_on_slow_run,
)
from reliable_assets.ops.freshness import (
    freshness_checks_sensor,
    partition_freshness_checks,
    with_freshness_policy,
)
from reliable_assets.ops.lineage import openlineage_sensor
from reliable_assets.ops.reprocess import reprocess_dead_letters
from reliable_assets.ops.retention import retention, retention_schedule
from reliable_assets.raw import assets as raw_assets
from reliable_assets.raw.schedules import with_source_schedule
from reliable_assets.raw.sensors import landing_zone_sensor
from reliable_assets.toolkit.opt_in import opted_in
from reliable_assets.warehouse import assets as warehouse_assets
from reliable_assets.warehouse.releases import promote_daily_revenue, rollback_daily_revenue
from reliable_assets.warehouse.revenue_versions import candidate_version
from reliable_assets.warehouse.sensors import order_changes_sensor
from reliable_assets.warehouse.shadow import build_daily_revenue_shadow


@dg.definitions
def defs() -> dg.Definitions:
    """Built when Dagster loads the code location, so the deployment is read then, not at import."""
    log_format.configure_python_logging()
    freshness_checks = partition_freshness_checks()
    definitions = dg.Definitions(
        assets=[
            *dg.load_assets_from_modules([raw_assets, warehouse_assets, ml_assets, ops_assets]),
            build_daily_revenue_shadow(candidate_version()),
        ],
        asset_checks=freshness_checks,
        resources=settings.resources_for(),
        executor=execution.executor(),
        loggers=log_format.run_loggers(),
        jobs=[reprocess_dead_letters, retention, promote_daily_revenue, rollback_daily_revenue],
        schedules=[retention_schedule],
        sensors=[
            landing_zone_sensor,
            order_changes_sensor,
            freshness_checks_sensor(freshness_checks),
            alert_on_run_failure,
            alert_on_check_failure,
            alert_on_freshness,
            openlineage_sensor,
            alert_on_slow_run,
            dg.AutomationConditionSensorDefinition(
                "downstream_automation",
                target=dg.AssetSelection.all(),
                default_status=dg.DefaultSensorStatus.RUNNING,
            ),
        ],
    )
    # Cross-cutting policies: the source extracts run on a daily cron; the SLAs become freshness
    # policies on the assets that have one.
    with opted_in():  # map_asset_specs is preview in 1.13, and the public way to apply a policy to specs
        return definitions.map_asset_specs(func=with_source_schedule).map_asset_specs(
            func=with_freshness_policy
        )
