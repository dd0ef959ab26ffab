"""Small readers over Dagster IO-manager contexts shared by the toolkit's IO managers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import dagster as dg


@dataclass(frozen=True)
class Partitions:
    """The partitions an output writes or an input reads (a range run gives several keys)."""

    definition: dg.PartitionsDefinition
    keys: list[str]


def metadata_value(metadata: Mapping[str, Any] | None, key: str, default: Any = None) -> Any:
    """A definition-metadata entry as a plain value (unwrapping ``dg.MetadataValue``)."""
    value = (metadata or {}).get(key, default)
    return value.value if isinstance(value, dg.MetadataValue) else value


def context_partitions(context: dg.OutputContext | dg.InputContext) -> Partitions | None:
    """None for an unpartitioned asset; never touches ``partition_key`` (it raises for ranges)."""
    if not context.has_asset_partitions:
        return None
    return Partitions(context.asset_partitions_def, [str(key) for key in context.asset_partition_keys])


def asset_label(asset_key: dg.AssetKey) -> str:
    return f"asset {asset_key.to_user_string()!r}"
