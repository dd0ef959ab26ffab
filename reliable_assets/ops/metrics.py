"""The Prometheus exporter behind `reliable-assets metrics`: what the instance and the warehouse say now.

A custom collector on its own registry reads the Dagster instance (`DAGSTER_HOME`) and the
warehouse at every scrape, so the figures are the instance's own records, not counts this
process kept while it happened to be running. The instance figures come from incremental
tallies (toolkit/instance_tallies.py): a scrape reads only what was recorded since the last one.
The dead-letter gauge reads the pending rows of `ops.dead_letters`, i.e. the backlog, not history.
"""

import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import dagster as dg
from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from reliable_assets import settings
from reliable_assets.toolkit.dead_letters import DeadLetterQueue
from reliable_assets.toolkit.instance_tallies import (
    CheckFailureTallies,
    MaterializationTallies,
    RunDurationTallies,
)

# Runs here take seconds (one day) to most of an hour (a 14-day backfill chunk under load).
RUN_DURATION_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0)
PREFIX = "reliable_assets_"


class MetricsSetupError(RuntimeError):
    """The exporter cannot start: says what is missing and how to provide it."""


class PipelineCollector(Collector):
    """Every `reliable_assets_*` metric, computed at scrape time."""

    def __init__(
        self,
        instance: dg.DagsterInstance,
        dead_letters: DeadLetterQueue,
        assets: Sequence[dg.AssetKey],
        checks: Sequence[dg.AssetCheckKey],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._instance, self._dead_letters, self._clock = instance, dead_letters, clock
        self._assets, self._checks = list(assets), list(checks)
        self._materializations = MaterializationTallies()
        self._check_failures = CheckFailureTallies()
        self._runs = RunDurationTallies(RUN_DURATION_BUCKETS)
        self._lock = threading.Lock()  # the HTTP server scrapes from a thread per request

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            assets = self._materializations.update(self._instance, self._assets)
            failures = self._check_failures.update(self._instance, self._checks)
            runs = self._runs.update(self._instance)
        pending = self._dead_letters.pending_counts()
        now = self._clock()
        names = {key: key.to_user_string() for key in self._assets}

        materializations = CounterMetricFamily(
            f"{PREFIX}materializations", "Materializations recorded by the instance.", labels=["asset"]
        )
        rows = GaugeMetricFamily(
            f"{PREFIX}rows_written",
            "Rows written by the asset's latest run (row_count metadata, summed over its partitions).",
            labels=["asset"],
        )
        lag = GaugeMetricFamily(
            f"{PREFIX}freshness_lag_seconds",
            "Seconds since the newest partition (unpartitioned: the asset) was last materialized.",
            labels=["asset"],
        )
        for key, tally in assets.items():
            materializations.add_metric([names[key]], tally.materializations)
            if tally.rows_in_latest_run is not None:
                rows.add_metric([names[key]], tally.rows_in_latest_run)
            if tally.freshness_timestamp is not None:
                lag.add_metric([names[key]], max(0.0, now - tally.freshness_timestamp))
        yield from (materializations, rows, lag)

        letters = GaugeMetricFamily(
            f"{PREFIX}dead_letters_pending", "Dead letters waiting in ops.dead_letters.", labels=["asset"]
        )
        for asset in sorted({*names.values(), *pending}):
            letters.add_metric([asset], pending.get(asset, 0))
        yield letters

        checks = CounterMetricFamily(
            f"{PREFIX}check_failures",
            "Failed asset check evaluations recorded by the instance.",
            labels=["asset", "check", "severity"],
        )
        for (asset, check, severity), count in sorted(failures.items()):
            checks.add_metric([asset, check, severity], count)
        yield checks

        durations = HistogramMetricFamily(
            f"{PREFIX}run_duration_seconds", "Wall time of finished runs.", labels=["job", "status"]
        )
        for (job, status), histogram in sorted(runs.items()):
            buckets = [(str(b), c) for b, c in zip(histogram.bounds, histogram.counts, strict=True)]
            buckets.append(("+Inf", histogram.observations))
            durations.add_metric([job, status], buckets, sum_value=histogram.total)
        yield durations


@contextmanager
def serve_metrics(host: str, port: int) -> Iterator[str]:
    """Serve `/metrics` for the instance in `DAGSTER_HOME` and the deployment's warehouse; yields the URL."""
    if not os.environ.get("DAGSTER_HOME"):
        raise MetricsSetupError(
            "reliable-assets metrics reads the Dagster instance: set DAGSTER_HOME to the folder the"
            " webserver and daemon use (make dev: .dagster_home/ in the project)."
        )
    from reliable_assets.definitions import defs  # noqa: PLC0415 (loads every asset; only here)

    graph = defs().get_repository_def().asset_graph
    resources = settings.resources_for()
    with (
        dg.DagsterInstance.get() as instance,
        dg.build_resources({"dead_letters": resources["dead_letters"]}) as built,
    ):
        collector = PipelineCollector(
            instance,
            built.dead_letters,
            sorted(graph.get_all_asset_keys(), key=str),
            sorted(graph.asset_check_keys, key=str),
        )
        registry = CollectorRegistry(auto_describe=False)  # nothing read until the first scrape
        registry.register(collector)
        try:
            server, thread = start_http_server(port, addr=host, registry=registry)
        except OSError as error:
            raise MetricsSetupError(f"cannot listen on {host}:{port}: {error.strerror or error}") from None
        try:
            yield f"http://{host}:{server.server_port}/metrics"
        finally:
            server.shutdown()
            server.server_close()
            thread.join()
