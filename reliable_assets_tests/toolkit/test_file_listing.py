"""Which partitions have a file, in a local folder and on S3 (what `reliable-assets check` lists)."""

from pathlib import Path

import dagster as dg

from reliable_assets.toolkit.file_listing import partition_keys_present
from reliable_assets.toolkit.files import FileStore, LocalFileStore
from reliable_assets.toolkit.s3_file_store import S3FileStore
from reliable_assets_tests.s3_server import S3Bucket, s3_bucket_fixture, s3_endpoint_fixture  # noqa: F401

ORDERS = dg.AssetKey(["raw", "orders"])


def _publish(store: FileStore) -> None:
    for day in ("2024-03-02", "2024-03-01"):
        store.write_bytes(f"raw/orders/{day}.parquet", b"rows")
    store.write_bytes("raw/orders/2024-03-01.json", b"{}")  # another format: not a Parquet partition
    store.write_bytes("raw/orders_archive/2024-03-03.parquet", b"rows")  # another asset's folder
    store.write_bytes("raw/events/2024-03-04.parquet", b"rows")


def test_local_store_lists_the_partition_files_and_not_temporary_or_other_files(tmp_path: Path) -> None:
    store = LocalFileStore(tmp_path)
    assert partition_keys_present(store, ORDERS, "parquet") == []  # nothing published yet
    _publish(store)
    (tmp_path / "raw" / "orders" / ".2024-03-05.parquet.x1.tmp").write_bytes(b"half")  # a write in flight
    assert partition_keys_present(store, ORDERS, "parquet") == ["2024-03-01", "2024-03-02"]


def test_s3_store_lists_the_partition_objects_under_its_prefix(s3: S3Bucket) -> None:
    store = S3FileStore(s3.client, s3.name, prefix="lake")
    assert partition_keys_present(store, ORDERS, "parquet") == []
    _publish(store)
    s3.put("raw/orders/2024-03-09.parquet", b"outside the store's prefix")
    s3.put("lake/raw/orders/.staging/2024-03-06.parquet", b"not a partition")
    assert partition_keys_present(store, ORDERS, "parquet") == ["2024-03-01", "2024-03-02"]
