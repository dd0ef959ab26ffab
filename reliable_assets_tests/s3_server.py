"""A real S3 API over HTTP for tests: moto's server on loopback, one per test session (per xdist
worker), and a fresh bucket per test.

Test modules import the fixtures they use (`from reliable_assets_tests.s3_server import s3`).
The server runs in this process's threads, so a test may set the server's clock
(`S3Bucket.freeze_server_clock`) to make `LastModified` collide or go backwards: the S3 API the
code under test talks to is still the real HTTP one.
"""

import contextlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import boto3
import pytest
from dagster_aws.s3 import S3Resource
from moto.server import ThreadedMotoServer

REGION = "us-east-1"


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
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

    def keys(self, prefix: str = "") -> list[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.name, Prefix=prefix)
        return [item["Key"] for page in pages for item in page.get("Contents", ())]

    def last_modified(self, key: str) -> datetime:
        stamp: datetime = self.client.head_object(Bucket=self.name, Key=key)["LastModified"]
        return stamp

    @contextlib.contextmanager
    def freeze_server_clock(self, monkeypatch: pytest.MonkeyPatch, at: datetime) -> Iterator[None]:
        """Objects uploaded inside the block get `LastModified == at` (a naive UTC datetime)."""
        with monkeypatch.context() as patch:
            patch.setattr("moto.s3.models.utcnow", lambda: at)
            yield


@pytest.fixture
def s3(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> S3Bucket:
    """An empty bucket of its own, with dummy credentials (moto accepts any)."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name=REGION)
    name = f"test-{uuid.uuid4().hex[:20]}"
    client.create_bucket(Bucket=name)
    return S3Bucket(s3_endpoint, name, client)
