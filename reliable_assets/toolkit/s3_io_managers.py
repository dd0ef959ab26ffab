"""The Parquet and JSON IO managers on S3: one object per partition, published atomically.

Same formats, layout, range handling and missing-partition errors as the local ones
(file_io_managers.py); only the store differs (`S3FileStore`: staging key, copy into place, delete).
"""

# No `from __future__ import annotations`: Dagster/pydantic must see real types on config classes.
import dagster as dg
from dagster_aws.s3 import S3Resource
from pydantic import Field

from reliable_assets.toolkit.file_io_managers import FileIOManager, JsonFormat, ParquetFormat
from reliable_assets.toolkit.files import FileStore
from reliable_assets.toolkit.s3_clients import shared_s3_client
from reliable_assets.toolkit.s3_file_store import S3FileStore


class _S3FileIOManager(FileIOManager):
    bucket: str = Field(description="Bucket that holds the files.")
    prefix: str = Field(default="", description="Key prefix under which the asset files live.")
    s3: dg.ResourceDependency[S3Resource]

    def _store(self) -> FileStore:
        return S3FileStore(shared_s3_client(self.s3), self.bucket, self.prefix)


class S3ParquetIOManager(ParquetFormat, _S3FileIOManager):
    """Parquet objects under ``s3://<bucket>/<prefix>/``."""


class S3JsonIOManager(JsonFormat, _S3FileIOManager):
    """JSON objects under ``s3://<bucket>/<prefix>/``."""
