"""Partitions and backfill policies shared by every group."""

import warnings

import dagster as dg

PARTITIONS_START = "2024-01-01"

# One partition per complete UTC day; today's partition appears once the day is over.
daily = dg.DailyPartitionsDefinition(start_date=PARTITIONS_START, timezone="UTC")

# ml/segment_models trains all five inside each daily run (a segment dimension would cost a run
# per day and segment, and Dagster's single-run backfills of multi-partitioned assets are fragile).
SEGMENTS = ("high_value", "mid_value", "new_users", "churned", "dormant")

# A backfill of a long range runs in chunks: each chunk is one run per layer (the raw extracts and
# daily_events, then the order loads, then the features, revenue and models) that writes its
# partitions together (one transaction per table), and a failed chunk is retried on its own. A run
# costs seconds of start-up and daemon latency whatever its size, so chunks are as long as memory
# allows. The raw layer holds a chunk's events at once: two weeks at 50,000 events a day peak near
# 0.72 GiB in one process (measured; see README, Backfills), and two such runs share the machine.
DAYS_PER_BACKFILL_RUN = 14
# `backfill_policy` on @asset is beta in Dagster 1.13, and what makes a backfill run in chunks;
# the notice would print on every load of every asset module, so it is silenced for that one
# parameter (a filter by message: the decorators themselves emit it).
warnings.filterwarnings(
    "ignore", message="Parameter `backfill_policy` of function `asset`", category=dg.BetaWarning
)
chunked_backfill = dg.BackfillPolicy.multi_run(max_partitions_per_run=DAYS_PER_BACKFILL_RUN)

# The model layer (user_features, daily_revenue, revenue_shadow, segment_models, model_registry)
# holds a day of events at a time and a row per customer of order history, so its runs take four
# weeks: half the runs of two-week chunks, each near 0.3 GiB (measured in process, 28 days).
# All five share it, so a chunk's features, revenue and models run together.
DAYS_PER_MODEL_RUN = 28
model_backfill = dg.BackfillPolicy.multi_run(max_partitions_per_run=DAYS_PER_MODEL_RUN)

# warehouse/fact_orders backfills in longer chunks of its own. An order placed on day X is updated
# in the extracts of the days after it (up to about a week later), so revenue and features of a
# chunk's last days are only right once the next chunk's orders are loaded. Sharing the revenue's
# policy, fact_orders would share its runs: each chunk's revenue would be written before the next
# chunk's orders, and order_changes_sensor would re-run every chunk boundary (26 extra runs in a
# year). With a policy of its own the order loads are a layer of their own: Dagster's backfill
# daemon requests no revenue chunk in a tick that still requests order loads, and the loads it has
# requested run first (the run queue is first in, first out), so every revenue chunk reads the
# orders of the days after it (0 follow-up runs in three year-long benches). Orders are small
# (2,000 a day against 50,000 events), so eight weeks are still a small run.
DAYS_PER_ORDER_LOAD_RUN = 56
order_load_backfill = dg.BackfillPolicy.multi_run(max_partitions_per_run=DAYS_PER_ORDER_LOAD_RUN)
