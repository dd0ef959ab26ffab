"""One boto3 S3 client per configuration and process, shared.

`S3Resource.get_client()` builds a new boto3 session each call, which loads botocore's service
models from disk: ~0.2 s, about as long as listing 2,000 objects. The sensor daemon rebuilds
resources on every tick, so without sharing, that cost would be paid per tick and per resource.
boto3 clients are thread-safe; the cache key holds the resource's configuration and every `AWS_*`
environment variable (botocore reads credentials, region and endpoint from them), so a change of
either gives a new client.
"""

import os
import threading
from typing import Any

from dagster_aws.s3 import S3Resource

_lock = threading.Lock()
_clients: dict[str, Any] = {}


def shared_s3_client(resource: S3Resource) -> Any:
    """The client `resource.get_client()` would build, built once per configuration."""
    environment = sorted((name, value) for name, value in os.environ.items() if name.startswith("AWS_"))
    key = repr((sorted(resource.model_dump().items()), environment))
    with _lock:
        client = _clients.get(key)
        if client is None:
            client = _clients[key] = resource.get_client()
        return client
