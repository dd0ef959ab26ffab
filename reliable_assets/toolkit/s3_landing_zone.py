"""The landing zone on S3 (`prod`): the same `LandingZone` contract as the local folder.

A file's `version` is its ETag, which S3 changes whenever the object's bytes change and keeps when
the same bytes are uploaded again; a sensor can therefore tell a real re-upload from a no-op.
Listing is paginated (`list_objects_v2` returns at most 1,000 keys a page), so a prefix of any size
is listed whole.
"""

# No `from __future__ import annotations`: Dagster/pydantic must see real types on config classes.
from typing import Any

import dagster as dg
from dagster_aws.s3 import S3Resource
from pydantic import Field

from reliable_assets.toolkit.landing_zone import LandingFile, LandingZone, checked_key
from reliable_assets.toolkit.s3_clients import shared_s3_client
from reliable_assets.toolkit.s3_file_store import join_key


class S3LandingZone(LandingZone):
    """Files under `s3://<bucket>/<prefix>/`; keys are returned relative to that prefix."""

    bucket: str = Field(description="Bucket the upstream systems deliver to.")
    prefix: str = Field(default="", description="Key prefix of the landing zone inside the bucket.")
    s3: dg.ResourceDependency[S3Resource]

    def client(self) -> Any:
        return shared_s3_client(self.s3)

    def list_files(self, prefix: str) -> list[LandingFile]:
        # Treat the prefix as a folder, like the local zone: "events/2024-03-01" must not also
        # match "events/2024-03-010".
        folder = join_key(self.prefix, checked_key(prefix).as_posix() if prefix else "")
        strip = len(join_key(self.prefix)) + 1 if join_key(self.prefix) else 0
        paginator = self.client().get_paginator("list_objects_v2")
        files = []
        for page in paginator.paginate(Bucket=self.bucket, Prefix=f"{folder}/" if folder else ""):
            for item in page.get("Contents", ()):
                key: str = item["Key"][strip:]
                if key.rsplit("/", 1)[-1].startswith("."):  # hidden: staging or temp objects
                    continue
                files.append(
                    LandingFile(
                        key=key,
                        size=item["Size"],
                        modified=item["LastModified"],
                        version=item["ETag"].strip('"'),
                    )
                )
        files.sort(key=lambda landing_file: landing_file.key)  # S3 sorts by UTF-8 bytes already
        return files

    def read_bytes(self, key: str) -> bytes:
        response = self.client().get_object(
            Bucket=self.bucket, Key=join_key(self.prefix, checked_key(key).as_posix())
        )
        content: bytes = response["Body"].read()
        return content
