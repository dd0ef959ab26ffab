"""Outputs that carry their content hash as Dagster data version, and their row count.

Re-running a partition on the same inputs produces the same rows, hence the same data version,
which tells a reader at a glance that a re-run changed nothing.

A run over a range of partitions yields one output but one materialization per partition, and
Dagster gives them all the output's single data version. So each partition also gets its own
`content_hash` and `row_count` in partition-scoped metadata (split by the asset's
`partition_expr`), and the data version is that hash for a one-partition run, or a hash of the
partitions' hashes for a range. The per-partition row counts are the history the row-count
anomaly checks read (row_count_history.py).
"""

import hashlib
from typing import Any

import dagster as dg
import pandas as pd

from reliable_assets.toolkit.content_hash import frame_content_hash
from reliable_assets.toolkit.partition_checks import is_range_run, partition_slices


def versioned_output(
    context: dg.AssetExecutionContext, frame: pd.DataFrame, **metadata: Any
) -> dg.Output[pd.DataFrame]:
    """Wrap a frame with its content hash as data version, its row count and extra metadata."""
    if not is_range_run(context):
        version = frame_content_hash(frame)
    else:
        hashes = {}
        for key, rows in partition_slices(context, frame):
            hashes[str(key)] = frame_content_hash(rows)
            context.add_asset_metadata(
                {"content_hash": hashes[str(key)], "row_count": dg.MetadataValue.int(len(rows))},
                partition_key=key,
            )
        version = combined_hash(hashes)
    return dg.Output(
        frame,
        data_version=dg.DataVersion(version),
        metadata={"row_count": dg.MetadataValue.int(len(frame)), "content_hash": version, **metadata},
    )


def combined_hash(hashes: dict[str, str]) -> str:
    """The data version of a range run: a hash of its partitions' content hashes."""
    joined = "\n".join(f"{key}:{value}" for key, value in sorted(hashes.items()))
    return hashlib.sha256(joined.encode()).hexdigest()
