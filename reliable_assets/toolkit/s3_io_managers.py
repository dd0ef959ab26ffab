"""The Parquet and JSON IO managers on S3: one object per partition, published atomically.

Same formats, layout, range handling and missing-partition errors as the local ones
(file_io_managers.py); only the store differs (`S3FileStore`: staging key, copy into place, delete).
"""

# No `from __future__ import annotations`: Dagster/pydantic must see real types on config classes.
from typing import Any

import dagster as dg
from dagster_aws.s3 import S3Resource
from pydantic import Field, PrivateAttr

from reliable_assets.toolkit.file_io_managers import JsonFormat, ParquetFormat, FileIOManager
from reliable_assets.toolkit.files import FileStore
from reliable_assets.toolkit.s3_file_store import S3FileStore


class _S3FileIOManager(FileIOManager):
    bucket: str = Field(description="Bucket that holds the files.")
    prefix: str = Field(default="", description="Key prefix under which the asset files live.")
    s3: dg.ResourceDependency[S3Resource]

    _client: Any = PrivateAttr(default=None)

    def _store(self) -> FileStore:
        if self._client is None:  # one boto3 client per IO manager instance, not per output
            self._client = self.s3.get_client()
        return S3FileStore(self._client, self.bucket, self.prefix)


class S3ParquetIOManager(ParquetFormat, _S3FileIOManager):
    """Parquet objects under ``s3://<bucket>/<prefix>/``."""


class S3JsonIOManager(JsonFormat, _S3FileIOManager):
    """JSON objects under ``s3://<bucket>/<prefix>/``."""
