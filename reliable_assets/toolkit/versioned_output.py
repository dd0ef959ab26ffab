"""Outputs that carry their content hash as Dagster data version.

Re-running a partition on the same inputs produces the same frame, hence the same data version,
which the UI shows and which tells a reader at a glance that a re-run changed nothing.
"""

from typing import Any

import dagster as dg
import pandas as pd

from reliable_assets.toolkit.content_hash import frame_content_hash


def versioned_output(frame: pd.DataFrame, **metadata: Any) -> dg.Output[pd.DataFrame]:
    """Wrap a frame with its content hash as data version, its row count and extra metadata."""
    content_hash = frame_content_hash(frame)
    return dg.Output(
        frame,
        data_version=dg.DataVersion(content_hash),
        metadata={"row_count": dg.MetadataValue.int(len(frame)), "content_hash": content_hash, **metadata},
    )
