"""A real S3 API over HTTP for tests: moto's server on loopback, one per test session (per xdist
worker), and a fresh bucket per test.

Test modules import the fixture functions (`s3_bucket_fixture, s3_endpoint_fixture`), which
registers the fixtures `s3` and `s3_endpoint` there.
The server runs in this process's threads, so a test may set the server's clock
(`S3Bucket.freeze_server_clock`) to make `LastModified` collide or go backwards: the S3 API the
code under test talks to is still the real HTTP one.
"""

import contextlib
import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import boto3  # type: ignore[import-untyped]
import pytest
from dagster_aws.s3 import S3Resource
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.s3.models import s3_backends
from moto.server import ThreadedMotoServer

REGION = "us-east-1"


@pytest.fixture(scope="session", name="s3_endpoint")
def s3_endpoint_fixture() -> Iterator[str]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one access-log line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@dataclass(frozen=True)
class S3Bucket:
    endpoint: str
    name: str
    client: Any

    def resource(self) -> S3Resource:
        return S3Resource(endpoint_url=self.endpoint, region_name=REGION)

    def put(self, key: str, body: bytes) -> None:
        self.client.put_object(Bucket=self.name, Key=key, Body=body)

    def list_keys(self, prefix: str = "") -> list[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.name, Prefix=prefix)
        return [item["Key"] for page in pages for item in page.get("Contents", ())]

    def last_modified(self, key: str) -> datetime:
        stamp: datetime = self.client.head_object(Bucket=self.name, Key=key)["LastModified"]
        return stamp

    def seed(self, objects: dict[str, bytes]) -> None:
        """Store many objects at once in the server's own store, for bulk setup only.

        moto spends ~5-10 ms per HTTP request, so 3,000 uploads would cost half a minute. The
        objects are real server objects (ETag, LastModified, listing and pagination all by moto);
        the code under test still reads them over HTTP.
        """
        backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
        for key, body in objects.items():
            backend.put_object(self.name, key, body)

    @contextlib.contextmanager
    def freeze_server_clock(self, monkeypatch: pytest.MonkeyPatch, at: datetime) -> Iterator[None]:
        """Objects uploaded inside the block get `LastModified == at` (a naive UTC datetime)."""
        with monkeypatch.context() as patch:
            patch.setattr("moto.s3.models.utcnow", lambda: at)
            yield


@pytest.fixture(name="s3")
def s3_bucket_fixture(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> S3Bucket:
    """An empty bucket of its own, with dummy credentials (moto accepts any)."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name=REGION)
    name = f"test-{uuid.uuid4().hex[:20]}"
    client.create_bucket(Bucket=name)
    return S3Bucket(s3_endpoint, name, client)
