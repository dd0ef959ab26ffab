"""Which partitions of an asset have a file in a :class:`FileStore` (layout: file_layout.py).

The store contract has no listing (readers address files by partition key); a command that
checks "every partition present" needs one, so it is here, for the two stores there are. Only
one-dimension partitioned layouts (``<key path>/<partition key>.<ext>``) are listed.
"""

import dagster as dg

from reliable_assets.toolkit.files import FileStore, LocalFileStore


def partition_keys_present(store: FileStore, asset_key: dg.AssetKey, extension: str) -> list[str]:
    """The partition keys whose ``<key path>/<key>.<extension>`` file exists, sorted."""
    folder = "/".join(asset_key.path)
    suffix = f".{extension}"
    if isinstance(store, LocalFileStore):
        base = store.path(folder)
        names = [path.name for path in base.iterdir() if path.is_file()] if base.is_dir() else []
    else:
        # Imported here: botocore costs every process of the embedded deployment an import.
        from reliable_assets.toolkit.s3_file_store import S3FileStore  # noqa: PLC0415

        if not isinstance(store, S3FileStore):
            raise TypeError(f"cannot list the files of a {type(store).__name__}")
        prefix = store.key(folder) + "/"
        names = []
        for page in store.client.get_paginator("list_objects_v2").paginate(
            Bucket=store.bucket, Prefix=prefix, Delimiter="/"
        ):
            names += [item["Key"][len(prefix) :] for item in page.get("Contents", ())]
    # Hidden names are temporary files of an atomic write in progress, never a partition.
    return sorted(
        name.removesuffix(suffix) for name in names if name.endswith(suffix) and not name.startswith(".")
    )
