"""A `FileStore` on S3 whose readers never see a partial or missing object during a replace.

`write_bytes` uploads to a staging key, copies it server-side into place, then deletes the staging
key. The slow, interruptible part (the upload) never touches the published key; the publish is one
`CopyObject`, which S3 applies atomically (a GET returns the whole old or the whole new object).
A crash or `kill -9` during the upload leaves the old object untouched, at worst with an orphaned
staging object under `<prefix>/.staging/`: give the bucket a lifecycle rule that expires that
prefix after a day. (`CopyObject` handles objects up to 5 GB, far above one raw partition.)
"""

from __future__ import annotations

import contextlib
import hashlib
import uuid
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError  # type: ignore[import-untyped]

from reliable_assets.toolkit.files import FileStore, validate_relpath

STAGING_FOLDER = ".staging"
SHA256_METADATA = "sha256"


def join_key(*parts: str) -> str:
    """S3 keys joined with single slashes, empty parts dropped (`join_key("", "a/", "b")` -> `a/b`)."""
    return "/".join(part.strip("/") for part in parts if part.strip("/"))


class S3FileStore(FileStore):
    """Objects under `s3://<bucket>/<prefix>/`, addressed by relative POSIX paths."""

    def __init__(self, client: Any, bucket: str, prefix: str = "") -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = join_key(prefix)

    def key(self, relpath: str) -> str:
        return join_key(self.prefix, validate_relpath(relpath).as_posix())

    def staging_prefix(self) -> str:
        return join_key(self.prefix, STAGING_FOLDER) + "/"

    def write_bytes(self, relpath: str, data: bytes) -> None:
        target = self.key(relpath)
        # A unique staging key per write: two concurrent writers of one partition never share
        # one, and the last copy into place wins whole.
        staging = f"{self.staging_prefix()}{uuid.uuid4().hex}/{relpath}"
        digest = hashlib.sha256(data).hexdigest()
        try:
            self.client.put_object(
                Bucket=self.bucket, Key=staging, Body=data, Metadata={SHA256_METADATA: digest}
            )
            self.client.copy_object(
                Bucket=self.bucket,
                Key=target,
                CopySource={"Bucket": self.bucket, "Key": staging},
                MetadataDirective="COPY",
            )
        finally:
            # Best effort: the object is published (or not) either way; an orphan is expired by
            # the lifecycle rule.
            with contextlib.suppress(ClientError, BotoCoreError):
                self.client.delete_object(Bucket=self.bucket, Key=staging)

    def read_bytes(self, relpath: str) -> bytes:
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self.key(relpath))
        except ClientError as error:
            if _is_not_found(error):
                raise FileNotFoundError(self.uri(relpath)) from error
            raise
        content: bytes = response["Body"].read()
        return content

    def exists(self, relpath: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self.key(relpath))
        except ClientError as error:
            if _is_not_found(error):
                return False
            raise
        return True

    def uri(self, relpath: str) -> str:
        return f"s3://{self.bucket}/{self.key(relpath)}"


def _is_not_found(error: ClientError) -> bool:
    return str(error.response.get("Error", {}).get("Code")) in {"404", "NoSuchKey", "NotFound"}
