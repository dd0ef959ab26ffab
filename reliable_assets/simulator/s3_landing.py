"""The landing zone writer for `prod`: the same files, byte for byte, as objects in S3.

S3 sets `LastModified` itself at upload time, so no arrival time is written; the sensor does not
rely on it anyway. Each `put_object` is atomic (a reader sees no partial object), so no temp key
is needed here.
"""

from collections.abc import Sequence
from datetime import date
from typing import Any

from reliable_assets.simulator.events import LandingFile
from reliable_assets.toolkit.s3_file_store import join_key


class S3LandingWriter:
    def __init__(self, client: Any, bucket: str, prefix: str = "") -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = join_key(prefix)

    def write_day(self, day: date, files: Sequence[LandingFile]) -> None:
        written = set()
        for landing_file in files:
            key = join_key(self.prefix, landing_file.relative_path)
            self.client.put_object(Bucket=self.bucket, Key=key, Body=landing_file.content)
            written.add(key)
        # Like the local writer: the day holds what this run describes and nothing else.
        folder = join_key(self.prefix, "events", day.isoformat()) + "/"
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=folder):
            for item in page.get("Contents", ()):
                name = item["Key"].rsplit("/", 1)[-1]
                if name.startswith("events-") and name.endswith(".jsonl") and item["Key"] not in written:
                    self.client.delete_object(Bucket=self.bucket, Key=item["Key"])

    def describe(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"
