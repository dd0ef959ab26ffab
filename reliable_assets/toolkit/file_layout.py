"""Where an asset's files live inside a file store (one file per partition).

* unpartitioned: ``<key path>.<ext>``                      e.g. ``raw/customers.parquet``
* one dimension: ``<key path>/<partition key>.<ext>``      e.g. ``raw/orders/2026-01-01.parquet``
* multi:         ``<key path>/<dim>=<value>/.../part.<ext>`` (dimensions in definition order)
                 e.g. ``ml/segment_models/date=2026-01-01/segment=churned/part.json``
"""

from __future__ import annotations

import dagster as dg

from reliable_assets.toolkit.partition_selection import dimension_values


def asset_file_relpath(
    asset_key: dg.AssetKey,
    extension: str,
    partitions_def: dg.PartitionsDefinition | None = None,
    partition_key: str | None = None,
) -> str:
    base = "/".join(_segment(part, "asset key part") for part in asset_key.path)
    if partitions_def is None or partition_key is None:
        return f"{base}.{extension}"
    dimensions = dimension_values(partitions_def, partition_key)
    if isinstance(partitions_def, dg.MultiPartitionsDefinition):
        folders = "/".join(f"{name}={_segment(value, 'partition key')}" for name, value in dimensions)
        return f"{base}/{folders}/part.{extension}"
    return f"{base}/{_segment(partition_key, 'partition key')}.{extension}"


def _segment(value: str, what: str) -> str:
    # A "/" would silently nest folders and ".." would escape the asset's folder.
    if not value or "/" in value or "\\" in value or value in {".", ".."}:
        raise ValueError(f"The {what} {value!r} cannot be used as a file name segment")
    return value
