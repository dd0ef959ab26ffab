"""Outputs that carry their content hash as Dagster data version.

Re-running a partition on the same inputs produces the same rows, hence the same data version,
which tells a reader at a glance that a re-run changed nothing.

A run over a range of partitions yields one output but one materialization per partition, and
Dagster gives them all the output's single data version. So each partition also gets its own
`content_hash` in partition-scoped metadata (split by the asset's `partition_expr`), and the data
version is that hash for a one-partition run, or a hash of the partitions' hashes for a range.
"""

import hashlib
from typing import Any

import dagster as dg
import pandas as pd

from reliable_assets.toolkit.content_hash import frame_content_hash


def _partition_hashes(context: dg.AssetExecutionContext, frame: pd.DataFrame) -> dict[str, str] | None:
    """Content hash of each daily partition's rows, or None when the run is not a daily range."""
    if not context.has_partition_key_range or len(context.partition_keys) < 2:
        return None
    column = context.assets_def.metadata_by_key[context.asset_key].get("partition_expr")
    if not isinstance(column, str):
        return None
    days = pd.to_datetime(frame[column]).dt.strftime("%Y-%m-%d")
    return {key: frame_content_hash(frame.loc[days == key]) for key in context.partition_keys}


def versioned_output(
    context: dg.AssetExecutionContext, frame: pd.DataFrame, **metadata: Any
) -> dg.Output[pd.DataFrame]:
    """Wrap a frame with its content hash as data version, its row count and extra metadata."""
    by_partition = _partition_hashes(context, frame)
    if by_partition is None:
        version = frame_content_hash(frame)
    else:
        for partition_key, content_hash in by_partition.items():
            context.add_asset_metadata({"content_hash": content_hash}, partition_key=partition_key)
        joined = "\n".join(f"{key}:{value}" for key, value in sorted(by_partition.items()))
        version = hashlib.sha256(joined.encode()).hexdigest()
    return dg.Output(
        frame,
        data_version=dg.DataVersion(version),
        metadata={"row_count": dg.MetadataValue.int(len(frame)), "content_hash": version, **metadata},
    )
