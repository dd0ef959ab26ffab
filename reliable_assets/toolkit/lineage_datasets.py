"""Where an asset's data lives, as an OpenLineage dataset (namespace, name).

Named by the OpenLineage naming spec through the client's own helpers where it has one
(`openlineage.client.naming.dataset`): PostgreSQL `postgres://host:port` + `db.schema.table`,
local files `file` + the absolute path, S3 `s3://bucket` + the key prefix. DuckDB has no entry in
the spec; its tables are `duckdb://<absolute file>` + `schema.table`. The resource is read by its
configuration fields (`path`, `url`, `base_dir`, `root`, `bucket` + `prefix`), so no IO manager
needs to know about lineage; credentials in a URL are never part of a name.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import dagster as dg

from reliable_assets.toolkit.warehouse_io_manager import table_location

POSTGRES_DEFAULT_PORT = 5432


@dataclass(frozen=True, order=True)
class Dataset:
    namespace: str
    name: str


def warehouse_table(warehouse: Any, asset_key: dg.AssetKey) -> Dataset | None:
    """The table of an asset in a DuckDB (`path`) or PostgreSQL (`url`) warehouse."""
    from openlineage.client.naming import dataset as naming  # noqa: PLC0415 (lineage_events.STEP_EVENTS)

    schema, table = table_location(asset_key)
    if getattr(warehouse, "path", None):
        return Dataset(f"duckdb://{Path(warehouse.path).resolve()}", f"{schema}.{table}")
    if getattr(warehouse, "url", None):
        url = urlsplit(warehouse.url)
        postgres = naming.Postgres(
            host=url.hostname or "localhost",
            port=str(url.port or POSTGRES_DEFAULT_PORT),
            database=url.path.lstrip("/") or "postgres",
            schema=schema,
            table=table,
        )
        return Dataset(postgres.get_namespace(), postgres.get_name())
    return None


def file_folder(store: Any, relative: str) -> Dataset | None:
    """A folder of files in a local store (`base_dir` or `root`) or under an S3 `bucket`/`prefix`."""
    from openlineage.client.naming import dataset as naming  # noqa: PLC0415 (lineage_events.STEP_EVENTS)

    local_root = getattr(store, "base_dir", None) or getattr(store, "root", None)
    if local_root:
        local = naming.LocalFileSystem(path=str(Path(local_root).resolve() / relative))
        return Dataset(local.get_namespace(), local.get_name())
    if getattr(store, "bucket", None):
        key = "/".join(
            part for part in (str(getattr(store, "prefix", "") or "").strip("/"), relative) if part
        )
        s3 = naming.S3(bucket_name=store.bucket, object_key=key)
        return Dataset(s3.get_namespace(), s3.get_name())
    return None


def asset_folder(asset_key: dg.AssetKey) -> str:
    """The folder of an asset's files in a file store (toolkit/file_layout.py: one file per partition)."""
    return "/".join(asset_key.path)
