"""An `S3FileStore` writer that the kill -9 test runs as a separate process.

`python -m reliable_assets_tests.toolkit.s3_writer_child ENDPOINT BUCKET RELPATH SIZE MARKER_DIR`
writes SIZE bytes of `b"n"` to RELPATH. It touches `MARKER_DIR/uploading` just before the staging
upload and `MARKER_DIR/copying` just before the copy into place, so the parent knows which step
its SIGKILL interrupted.
"""

import sys
from pathlib import Path
from typing import Any

import boto3  # type: ignore[import-untyped]

from reliable_assets.toolkit.s3_file_store import S3FileStore


class _MarkingClient:
    """Delegates to a boto3 client; marks the start of the upload and of the publish."""

    def __init__(self, inner: Any, markers: Path) -> None:
        self._inner, self._markers = inner, markers

    def put_object(self, **kwargs: Any) -> Any:
        (self._markers / "uploading").touch()
        return self._inner.put_object(**kwargs)

    def copy_object(self, **kwargs: Any) -> Any:
        (self._markers / "copying").touch()
        return self._inner.copy_object(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def main(endpoint: str, bucket: str, relpath: str, size: str, markers: str) -> None:
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    data = b"n" * int(size)
    S3FileStore(_MarkingClient(client, Path(markers)), bucket).write_bytes(relpath, data)
    (Path(markers) / "done").touch()


if __name__ == "__main__":
    main(*sys.argv[1:])
