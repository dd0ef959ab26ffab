"""One `landing_zone_sensor` tick over 10,000 landing objects, beside a bare paginated listing.

A moto S3 server runs in its own process on loopback; 10,000 objects in the project's landing
layout (`events/<day>/events-<day>T<HH>.jsonl`, 24 a day, ~417 days) are uploaded over HTTP. Then,
alternating, a full sensor tick with a fresh cursor (list through `S3LandingZone`, group per day,
hash, build ~417 run requests and the cursor) and a bare `list_objects_v2` paginator over the same
prefix are timed; each figure is the median of the repeats, after one warm-up of each (client
creation, server caches). The target is a tick within 1.5x the bare listing: the listing is the
cost that cannot be avoided, everything else is the sensor's overhead.
"""

import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Any

import boto3  # type: ignore[import-untyped]
import dagster as dg
from dagster_aws.s3 import S3Resource

from reliable_assets.raw.sensors import landing_zone_sensor
from reliable_assets.toolkit.s3_landing_zone import S3LandingZone

OBJECTS = 10_000
REPEATS = 3
BUCKET = "bench-landing"
REGION = "us-east-1"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def _moto_server() -> Iterator[str]:
    port = _free_port()
    moto = os.path.join(os.path.dirname(sys.executable), "moto_server")
    server = subprocess.Popen(
        [moto, "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("moto_server did not start") from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=10)


def _landing_keys() -> list[str]:
    keys: list[str] = []
    day = date(2024, 1, 1)
    while len(keys) < OBJECTS:
        keys.extend(f"events/{day}/events-{day}T{hour:02}.jsonl" for hour in range(24))
        day += timedelta(days=1)
    return keys[:OBJECTS]


def _timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def run() -> dict[str, float]:
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    with _moto_server() as endpoint:
        client: Any = boto3.client("s3", endpoint_url=endpoint, region_name=REGION)
        client.create_bucket(Bucket=BUCKET)
        keys = _landing_keys()
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(lambda key: client.put_object(Bucket=BUCKET, Key=key, Body=key.encode()), keys))
        zone = S3LandingZone(bucket=BUCKET, s3=S3Resource(endpoint_url=endpoint, region_name=REGION))
        instance = dg.DagsterInstance.ephemeral()

        def tick() -> None:
            with dg.build_sensor_context(instance=instance, resources={"landing_zone": zone}) as context:
                result = landing_zone_sensor(context)
            assert isinstance(result, dg.SensorResult)
            assert len(result.run_requests or []) == -(-OBJECTS // 24)

        def bare_listing() -> None:
            pages = client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix="events/")
            assert sum(len(page.get("Contents", ())) for page in pages) == OBJECTS

        ticks, listings = [], []
        for repeat in range(REPEATS + 1):
            tick_s, listing_s = _timed(tick), _timed(bare_listing)
            if repeat:  # the first round warms clients and the server up
                ticks.append(tick_s)
                listings.append(listing_s)
    sensor_s, listing_s = statistics.median(ticks), statistics.median(listings)
    return {
        "sensor_tick_10k_s": round(sensor_s, 4),
        "bare_listing_10k_s": round(listing_s, 4),
        "sensor_tick_vs_listing": round(sensor_s / listing_s, 3),
    }


if __name__ == "__main__":
    print(run())
