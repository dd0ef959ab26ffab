"""`order_changes_sensor`: late order updates reach the revenue and features of their order day.

An order placed on day X and updated on day D is written to `fact_orders`' partition D (the
extract day, the upsert's version). `daily_revenue` of day X and `user_features` of day X and
after read it, but their static dependency is on partition X alone, so automation would never
refresh them. `fact_orders` records the order days of every partition it writes
(`changed_order_dates`); this sensor re-runs those days' revenue, and the features of those days
and every later one already built (features accumulate order history), with the models and the
registry of those days in the same run.
"""

import dagster as dg

from reliable_assets.partitions import DAYS_PER_MODEL_RUN, daily
from reliable_assets.toolkit.stale_partitions_sensor import StaleTarget, build_stale_partitions_sensor
from reliable_assets.warehouse.assets import CHANGED_ORDER_DATES
from reliable_assets.warehouse.shadow import SHADOW_KEY

order_changes_sensor = build_stale_partitions_sensor(
    name="order_changes_sensor",
    upstream=dg.AssetKey(["warehouse", "fact_orders"]),
    metadata_key=CHANGED_ORDER_DATES,
    targets=[
        StaleTarget(dg.AssetKey(["warehouse", "daily_revenue"])),
        # The shadow reads the same orders: left behind, it would report stale rows as differences.
        StaleTarget(SHADOW_KEY),
        StaleTarget(dg.AssetKey(["warehouse", "user_features"]), through_latest=True),
    ],
    # The features' models and registry would follow by automation, one run later; they ride along.
    followers=[dg.AssetKey(["ml", "segment_models"]), dg.AssetKey(["ml", "model_registry"])],
    partitions_def=daily,
    # Its runs are model-layer runs: chunked like that layer's backfills.
    max_partitions_per_run=DAYS_PER_MODEL_RUN,
    description="Re-runs revenue, features and models of order days a later fact_orders load changed.",
)
