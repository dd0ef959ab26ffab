"""The run tags Dagster gives a partitioned run (no Dagster import: light modules read them too)."""

PARTITION_TAG = "dagster/partition"
# The run tags that make a run cover a range of partitions (what a backfill chunk carries).
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
