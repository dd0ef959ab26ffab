"""A whole-graph historical backfill launched the way the UI launches one, through a real deployment.

Issue: "A year of history backfilled from the UI in minutes".

Each measurement builds a fresh world (`dagster_service.temp_world`: a temp folder with
DAGSTER_HOME, a copy of the project's dagster.yaml, and RELIABLE_ASSETS_DATA_DIR) and starts the
rates API, one code server (`dagster api grpc -m reliable_assets.definitions`) and
`dagster-webserver` in it, then `dagster-daemon run`; webserver and daemon share the code server,
as under `dagster dev`. Separate commands, not `dagster dev`: with `dagster dev` the daemon ticks
every default-running sensor the moment the code location loads, before anything can stop them
(on the first try `freshness_checks_sensor` requested a run at once), so a historical reload could
not be measured alone. Separate commands are also the production layout.

This is a *historical reload*: only the backfill's own runs are measured, and the follow-up runs
of `order_changes_sensor` (see FOLLOW_UP_SENSORS: without them the reloaded revenue and features
are wrong at every chunk boundary). Every other sensor and schedule that runs by default
(landing-zone sensor, declarative automation, freshness checks, alerts, retention) is stopped
over GraphQL (`stopSensor` / `stopRunningSchedule`, found with a query of
the repository's sensors and schedules) as soon as the code location has loaded, and only then are
the source data simulated (`reliable-assets simulate --start 2024-01-01 --days N --orders-per-day
2000 --events-per-day 50000`), so no sensor ever sees them. Runs started by anything other than the
launched backfills are counted (`*_other_runs`, expected 0).

Main measurement: the asset graph is discovered over GraphQL (`assetNodes` with their partition
definition) and ONE `launchPartitionBackfill` is sent with `partitionsByAssets`: every time
dimension gets the range of the simulated days, a multi-partitioned asset (date x segment) gets the
box first-day|first-key ... last-day|last-key (MultiPartitionsDefinition ranges are per-dimension
cartesian products), other non-time partitioned assets get `partitions: null` (= all their
partitions), unpartitioned assets `partitions: null`. Server side (dagster_graphql
implementation/execution/backfill.py -> AssetBackfillData.from_partitions_by_assets) this becomes
the same asset-backfill target subset the UI's launch dialog produces; note that the bundled UI
(LaunchAssetChoosePartitionsDialog.tsx, 1.13.27) itself sends `assetSelection` + `partitionNames`
(or `allPartitions`), not `partitionsByAssets`; both go through the same backfill daemon code.
`partitionBackfillOrError` is polled every 0.5 s until the backfill is terminal, while a thread
samples, every 0.5 s, the summed RSS of the code server's, the webserver's and the daemon's process
trees (run workers and step subprocesses included).

Figures (printed, never asserted):
- `year_backfill_days`, `year_backfill_s` (launch until the backfill is terminal AND the
  follow-up runs of `order_changes_sensor` are done: when the warehouse is right),
  `year_backfill_terminal_s` (launch to the backfill's terminal status), `year_backfill_runs`
  (every run the reload took: `year_backfill_chunk_runs`, the runs tagged dagster/backfill = its
  id, run-level retries included, plus `year_backfill_follow_up_runs`), `year_backfill_failed_runs`,
  `year_backfill_other_runs`, `year_backfill_peak_rss_gib`, `year_backfill_status_ok` (1 if
  COMPLETED_SUCCESS), `year_backfill_step_compute_s` (sum over the backfill's runs of each step's
  STEP_START..STEP_SUCCESS/FAILURE time, from `instance.get_run_step_stats`);
- `year_backfill_cpu_s` and `year_backfill_cpu_<role>_s`: CPU seconds (user + system) the code
  server, its run workers (`code_server_children`), the webserver and the daemon used from launch
  to settled, sampled with the RSS (see `ProcessTreeSampler`); set beside wall time x cores they say
  whether the machine was busy and with what;
- `per_partition_overhead_s` = (wall time x run slots - step compute) / days: run-slot seconds per
  simulated day not spent inside a step (daemon iterations, queueing, run-worker and step-process
  start-up, code loading, pool waits). Run slots = the instance's limit on concurrent runs of a
  backfill (min of `max_concurrent_runs` and the tag limit on multi-day runs, read from the
  world's instance; the observed peak if unlimited). It can go negative if steps overlap inside a
  run more than the slots are idle;
- `year_backfill_slot_idle_s`: run-slot seconds from the first run's creation to the last run's
  end in which no run held the slot (queueing, run start-up, waits for the next layer);
- `profile_<step>_s` and `profile_run_s`: per-step seconds of one run per layer (runs of the same
  assets), the slowest of those covering the most partitions, so a reader sees where a chunk's
  time goes;
- baseline "one run per partition", in a second fresh world of BASELINE_DAYS: one backfill per day,
  each covering every asset for its single day, unpartitioned assets in the first one only.
  The first is launched, then, once the unpartitioned assets that partitioned ones read
  (warehouse/dim_customers) are materialized, the other days' backfills all at once. Launched
  blindly together, day k's fact_orders runs before dim_customers exists and fails
  (TableNotFoundError; seen with BENCH_BACKFILL_BASELINE_TOGETHER=1): a backfill only waits for
  parents it targets itself. The wait counts in the baseline's wall time (launch of the first to
  all terminal), as it does in the single backfill.
  `per_partition_baseline_14d_s`, `per_partition_baseline_runs_14d` (the names say 14d; the real
  day count is `per_partition_baseline_days`), `per_partition_baseline_status_ok`,
  `per_partition_baseline_extrapolated_s` (linear in days to the main run's day count; the
  one-off unpartitioned work and the daemon's fixed per-layer latency are scaled too, so with a
  few days this overstates the baseline) and
  `backfill_speedup_vs_per_partition_runs` = extrapolated / `year_backfill_s`.

A failed backfill is reported (figures, plus each failed run with its run-failure and
step-failure messages), not hidden. Every process is stopped on exit, also on Ctrl-C, SIGTERM or
an exception (each process group gets SIGTERM, then SIGKILL).

Options (environment variables):
- `BENCH_BACKFILL_DAYS` (default 365; quick runs e.g. 28): simulated days of the main backfill;
- `BENCH_BACKFILL_BASELINE_DAYS` (default 14): days of the per-partition baseline;
- `BENCH_BACKFILL_SKIP_BASELINE=1`: main backfill only;
- `BENCH_BACKFILL_BASELINE_TOGETHER=1`: launch all baseline backfills at once, without waiting
  for the unpartitioned assets (shows the failures described above);
- `BENCH_BACKFILL_TIMEOUT_S` (default 1800 + 120 per day): give up, cancel, report status 0;
- `BENCH_BACKFILL_KEEP=1`: keep the temp worlds (instance, data, logs) and print their paths.

Run: `.venv/bin/python -m benchmarks bench_backfill`. Takes about 1.1 s per simulated day to
simulate, plus the backfills themselves.
"""

import os
import re
import signal
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from types import FrameType
from typing import Any

import dagster as dg

from benchmarks.dagster_service import ProcessTreeSampler, Service, running_service, simulate, temp_world
from reliable_assets.toolkit.run_tags import PARTITION_TAG, RANGE_END_TAG, RANGE_START_TAG

START = date(2024, 1, 1)
ORDERS_PER_DAY = 2000
EVENTS_PER_DAY = 50_000
POLL_S = 0.5
BACKFILL_TAG = "dagster/backfill"
SENSOR_TAG = "dagster/sensor_name"
# Left running: the backfill's chunks change earlier chunks' order days (an order placed on the
# last day of a chunk and updated in the next), and this sensor re-runs the revenue and features
# of those days. Without it a reloaded warehouse is wrong at every chunk boundary, so its runs
# are part of the reload: counted (`year_backfill_follow_up_runs`) and waited for.
FOLLOW_UP_SENSORS = frozenset({"order_changes_sensor"})
# Quiet time after the backfill that proves the follow-up sensor has nothing left (it ticks every 30 s).
SETTLE_QUIET_S = 40.0
IN_FLIGHT = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]
RETRY_TAG = "dagster/retry_number"
RUNNING_STATUSES = {"REQUESTED", "CANCELING", "FAILING"}
SUCCESS_STATUSES = {"COMPLETED_SUCCESS", "COMPLETED"}
LIST_RUNS_UP_TO = 150

ASSETS_QUERY = """
query Assets {
  assetNodes {
    assetKey { path }
    isMaterializable
    dependencyKeys { path }
    partitionDefinition { type dimensionTypes { name type } }
    partitionKeysByDimension { name type partitionKeys }
  }
}
"""
AUTOMATION_QUERY = """
query Automation($repo: RepositorySelector!) {
  sensorsOrError(repositorySelector: $repo) {
    __typename
    ... on Sensors { results { name sensorState { id status } } }
    ... on Error { message }
  }
  schedulesOrError(repositorySelector: $repo) {
    __typename
    ... on Schedules { results { name scheduleState { id status } } }
    ... on Error { message }
  }
}
"""
STOP_SENSOR = """
mutation StopSensor($id: String!) {
  stopSensor(id: $id) {
    __typename
    ... on StopSensorMutationResult { instigationState { status } }
    ... on Error { message }
  }
}
"""
STOP_SCHEDULE = """
mutation StopSchedule($id: String!) {
  stopRunningSchedule(id: $id) {
    __typename
    ... on ScheduleStateResult { scheduleState { status } }
    ... on Error { message }
  }
}
"""
START_SENSOR = """
mutation StartSensor($selector: SensorSelector!) {
  startSensor(sensorSelector: $selector) {
    __typename
    ... on Sensor { sensorState { status } }
    ... on Error { message }
  }
}
"""
START_SCHEDULE = """
mutation StartSchedule($selector: ScheduleSelector!) {
  startSchedule(scheduleSelector: $selector) {
    __typename
    ... on ScheduleStateResult { scheduleState { status } }
    ... on Error { message }
  }
}
"""
LAUNCH = """
mutation Launch($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on Error { message }
  }
}
"""
STATUS = """
query Status($id: String!) {
  partitionBackfillOrError(backfillId: $id) {
    __typename
    ... on PartitionBackfill { status numPartitions error { message } }
    ... on Error { message }
  }
}
"""
CANCEL = """
mutation Cancel($id: String!) {
  cancelPartitionBackfill(backfillId: $id) { __typename ... on Error { message } }
}
"""
LATEST = """
query Latest($keys: [AssetKeyInput!]) {
  assetNodes(assetKeys: $keys) { assetKey { path } assetMaterializations(limit: 1) { runId } }
}
"""


@dataclass(frozen=True)
class Options:
    days: int
    baseline_days: int
    skip_baseline: bool
    baseline_together: bool
    timeout_s: float | None
    keep: bool

    @staticmethod
    def from_env() -> "Options":
        timeout = os.environ.get("BENCH_BACKFILL_TIMEOUT_S")
        return Options(
            days=int(os.environ.get("BENCH_BACKFILL_DAYS", "365")),
            baseline_days=int(os.environ.get("BENCH_BACKFILL_BASELINE_DAYS", "14")),
            skip_baseline=os.environ.get("BENCH_BACKFILL_SKIP_BASELINE", "") == "1",
            baseline_together=os.environ.get("BENCH_BACKFILL_BASELINE_TOGETHER", "") == "1",
            timeout_s=float(timeout) if timeout else None,
            keep=os.environ.get("BENCH_BACKFILL_KEEP", "") == "1",
        )

    def timeout_for(self, days: int) -> float:
        return self.timeout_s if self.timeout_s is not None else 1800.0 + 120.0 * days


@dataclass(frozen=True)
class Dimension:
    name: str
    kind: str  # TIME_WINDOW, STATIC, DYNAMIC
    keys: tuple[str, ...]


@dataclass(frozen=True)
class AssetNode:
    path: tuple[str, ...]
    kind: str | None  # None: unpartitioned; else the partition definition's type
    dimensions: tuple[Dimension, ...]
    parents: tuple[tuple[str, ...], ...]

    @property
    def label(self) -> str:
        return "/".join(self.path)


@dataclass
class RunInfo:
    run_id: str
    backfill_id: str | None
    status: str
    assets: list[str]
    partitions: str
    partition_count: int
    created: float
    start: float | None
    end: float | None
    retry_number: int
    sensor: str | None = None
    steps: dict[str, float] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    @property
    def duration_s(self) -> float:
        return (self.end - self.start) if self.start is not None and self.end is not None else 0.0


@dataclass
class Measurement:
    days: int
    backfill_ids: list[str]
    statuses: dict[str, str]
    errors: list[str]
    elapsed_s: float
    timed_out: bool
    peak_rss_bytes: int
    peak_processes: int
    peak_composition: list[tuple[str, str, int]]
    peak_at: float  # epoch seconds
    cpu_s_by_role: dict[str, float]
    runs: list[RunInfo]
    other_runs: list[RunInfo]
    run_slots: int
    stopped: list[str]
    launched_at: float  # epoch seconds, to place the runs on the backfill's clock
    terminal_s: float = 0.0  # launch to the backfill's terminal status (elapsed_s adds the follow-ups)
    follow_up_runs: list[RunInfo] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.timed_out and all(s in SUCCESS_STATUSES for s in self.statuses.values())

    @property
    def step_compute_s(self) -> float:
        return sum(sum(run.steps.values()) for run in [*self.runs, *self.follow_up_runs])

    @property
    def failed_runs(self) -> list[RunInfo]:
        return [run for run in self.runs if run.status == "FAILURE"]


# --- GraphQL ---------------------------------------------------------------------------------


def stop_automation(service: Service, keep: frozenset[str] = frozenset()) -> list[str]:
    """Stop every running sensor and schedule of the repository but `keep`; return their names."""
    repo = {"repositoryLocationName": service.location, "repositoryName": service.repository}
    data = service.gql(AUTOMATION_QUERY, {"repo": repo})
    stopped: list[str] = []
    for kind, field_name, state_name, mutation in (
        ("sensor", "sensorsOrError", "sensorState", STOP_SENSOR),
        ("schedule", "schedulesOrError", "scheduleState", STOP_SCHEDULE),
    ):
        if "results" not in data[field_name]:
            raise RuntimeError(f"cannot list {kind}s: {data[field_name]}")
        for instigator in data[field_name]["results"]:
            state = instigator[state_name]
            if state["status"] != "RUNNING" or instigator["name"] in keep:
                continue
            result = next(iter(service.gql(mutation, {"id": state["id"]}).values()))
            if "message" in result:
                raise RuntimeError(f"cannot stop {kind} {instigator['name']}: {result['message']}")
            stopped.append(f"{kind} {instigator['name']}")
    after = service.gql(AUTOMATION_QUERY, {"repo": repo})
    still = [
        item["name"]
        for field_name, state_name in (
            ("sensorsOrError", "sensorState"),
            ("schedulesOrError", "scheduleState"),
        )
        for item in after[field_name]["results"]
        if item[state_name]["status"] == "RUNNING" and item["name"] not in keep
    ]
    if still:
        raise RuntimeError(f"still running after stop: {still}")
    return stopped


def start_automation(service: Service, stopped: Sequence[str]) -> None:
    """Start again what `stop_automation` stopped (its return value: "sensor x", "schedule y")."""
    location = {"repositoryLocationName": service.location, "repositoryName": service.repository}
    for entry in stopped:
        kind, name = entry.split(" ", 1)
        mutation, field = (
            (START_SENSOR, "sensorName") if kind == "sensor" else (START_SCHEDULE, "scheduleName")
        )
        result = next(iter(service.gql(mutation, {"selector": {**location, field: name}}).values()))
        if "message" in result:
            raise RuntimeError(f"cannot start {entry}: {result['message']}")


def discover_assets(service: Service) -> list[AssetNode]:
    nodes: list[AssetNode] = []
    for node in service.gql(ASSETS_QUERY)["assetNodes"]:
        if not node["isMaterializable"]:
            continue
        definition = node["partitionDefinition"]
        nodes.append(
            AssetNode(
                path=tuple(node["assetKey"]["path"]),
                kind=definition["type"] if definition else None,
                dimensions=tuple(
                    Dimension(name=d["name"], kind=d["type"], keys=tuple(d["partitionKeys"]))
                    for d in node["partitionKeysByDimension"]
                ),
                parents=tuple(tuple(parent["path"]) for parent in node["dependencyKeys"]),
            )
        )
    return sorted(nodes, key=lambda n: n.path)


def _time_keys(dimension: Dimension, first: date, last: date, asset: str) -> tuple[str, str]:
    """The first and last keys of a time dimension that fall on the days [first, last]."""
    low, high = first.isoformat(), last.isoformat()
    inside = [key for key in dimension.keys if low <= key[:10] <= high]
    if not inside:
        raise RuntimeError(f"{asset}: no {dimension.name} partition between {low} and {high}")
    return inside[0], inside[-1]


def partitions_selector(asset: AssetNode, first: date, last: date) -> dict[str, Any] | None:
    """`PartitionsSelector` input for the days [first, last]; None = unpartitioned or all partitions."""
    if asset.kind is None or not any(d.kind == "TIME_WINDOW" for d in asset.dimensions):
        return None
    if asset.kind != "MULTIPARTITIONED":
        start, end = _time_keys(asset.dimensions[0], first, last, asset.label)
        return {"range": {"start": start, "end": end}}
    # A MultiPartitionKey string joins the dimensions' keys with "|" in dimension-name order; a
    # range of them is the cartesian product of the per-dimension ranges.
    starts, ends = [], []
    for dimension in sorted(asset.dimensions, key=lambda d: d.name):
        if dimension.kind == "TIME_WINDOW":
            start, end = _time_keys(dimension, first, last, asset.label)
        elif dimension.keys:
            start, end = dimension.keys[0], dimension.keys[-1]
        else:
            raise RuntimeError(f"{asset.label}: dimension {dimension.name} has no partitions")
        starts.append(start)
        ends.append(end)
    return {"range": {"start": "|".join(starts), "end": "|".join(ends)}}


def launch_backfill(
    service: Service, assets: Sequence[AssetNode], first: date, last: date, title: str
) -> str:
    params = {
        "partitionsByAssets": [
            {"assetKey": {"path": list(asset.path)}, "partitions": partitions_selector(asset, first, last)}
            for asset in assets
        ],
        "title": title,
        "tags": [{"key": "bench", "value": "bench_backfill"}],
    }
    result = service.gql(LAUNCH, {"params": params})["launchPartitionBackfill"]
    if result["__typename"] != "LaunchBackfillSuccess":
        raise RuntimeError(f"launchPartitionBackfill: {result['__typename']}: {result.get('message')}")
    backfill_id: str = result["backfillId"]
    return backfill_id


def backfill_status(service: Service, backfill_id: str) -> tuple[str, str | None]:
    result = service.gql(STATUS, {"id": backfill_id})["partitionBackfillOrError"]
    if result["__typename"] != "PartitionBackfill":
        raise RuntimeError(f"partitionBackfillOrError: {result['__typename']}: {result.get('message')}")
    error = result["error"]["message"] if result.get("error") else None
    status: str = result["status"]
    return status, error


def wait_until_materialized(
    service: Service, keys: Sequence[tuple[str, ...]], backfill_id: str, deadline: float
) -> None:
    """Until every asset of `keys` has a materialization (or the backfill or the time is over)."""
    variables = {"keys": [{"path": list(key)} for key in keys]}
    while time.monotonic() < deadline:
        nodes = service.gql(LATEST, variables)["assetNodes"]
        if nodes and all(node["assetMaterializations"] for node in nodes):
            return
        if backfill_status(service, backfill_id)[0] not in RUNNING_STATUSES:
            return
        time.sleep(POLL_S)


def wait_until_idle(home: Path, quiet_s: float, deadline: float) -> None:
    """Until no run has been queued or running for `quiet_s` (the follow-up sensor's included)."""
    idle_since = time.monotonic()
    with dg.DagsterInstance.from_config(str(home)) as instance:
        while time.monotonic() < deadline:
            if instance.get_runs(filters=dg.RunsFilter(statuses=IN_FLIGHT), limit=1):
                idle_since = time.monotonic()
            elif time.monotonic() - idle_since >= quiet_s:
                return
            time.sleep(POLL_S)


def wait_terminal(
    service: Service, backfill_ids: Sequence[str], deadline: float
) -> tuple[dict[str, str], list[str], bool]:
    statuses: dict[str, str] = {}
    errors: dict[str, str] = {}
    pending = list(backfill_ids)
    while pending:
        for backfill_id in list(pending):
            status, error = backfill_status(service, backfill_id)
            statuses[backfill_id] = status
            if error:
                errors[backfill_id] = error
            if status not in RUNNING_STATUSES:
                pending.remove(backfill_id)
        if not pending:
            break
        if time.monotonic() > deadline:
            for backfill_id in pending:
                service.gql(CANCEL, {"id": backfill_id})
            return statuses, [f"{b}: {e}" for b, e in errors.items()], True
        time.sleep(POLL_S)
    return statuses, [f"{b}: {e}" for b, e in errors.items()], False


# --- the instance, read after the service stopped ----------------------------------------------


def _day(key: str) -> date | None:
    for part in key.split("|"):
        try:
            return date.fromisoformat(part[:10])
        except ValueError:
            continue
    return None


def _partitions(tags: dict[str, str]) -> tuple[str, int]:
    if RANGE_START_TAG in tags:
        start, end = tags[RANGE_START_TAG], tags.get(RANGE_END_TAG, tags[RANGE_START_TAG])
        first, last = _day(start), _day(end)
        count = (last - first).days + 1 if first and last else 1
        return (start if start == end else f"{start}...{end}"), count
    if PARTITION_TAG in tags:
        return tags[PARTITION_TAG], 1
    return "-", 0


def _error_text(error: Any) -> str:
    """The message of a SerializableErrorInfo and its causes, one line."""
    parts = []
    while error is not None:
        parts.append(" ".join(str(error.message).split()))
        error = error.cause
    return " <- ".join(parts)[:400]


def _failures(instance: dg.DagsterInstance, run_id: str) -> list[str]:
    lines = []
    events = instance.all_logs(
        run_id, of_type={dg.DagsterEventType.RUN_FAILURE, dg.DagsterEventType.STEP_FAILURE}
    )
    for entry in events:
        event = entry.dagster_event
        if event is None:
            continue
        if event.event_type == dg.DagsterEventType.STEP_FAILURE:
            lines.append(f"step {event.step_key}: {_error_text(event.step_failure_data.error)}")
        else:
            lines.append(f"run failure: {' '.join((event.message or entry.message).split())[:400]}")
    return lines


def _run_slots(instance: dg.DagsterInstance) -> int | None:
    """How many chunk runs of one backfill may run at once under the instance's run queue (its
    limits on all runs and on multi-day runs); None = no limit."""
    # get_concurrency_config is not @public, but it is what the run queue itself resolves
    # (`concurrency.runs` or the legacy `run_queue`); re-parsing dagster.yaml would duplicate that.
    queue = instance.get_concurrency_config().run_queue_config
    if queue is None:
        return None
    limits = [queue.max_concurrent_runs] if queue.max_concurrent_runs >= 0 else []
    for limit in queue.tag_concurrency_limits or ():
        value = limit.get("value")
        if limit.get("key") in {BACKFILL_TAG, RANGE_START_TAG} and (value is None or isinstance(value, dict)):
            limits.append(int(limit["limit"]))
    return min(limits) if limits else None


def _in_progress_at(runs: Sequence[RunInfo], instant: float) -> list[RunInfo]:
    return [run for run in runs if run.start is not None and run.start <= instant <= (run.end or instant)]


def _peak_concurrency(runs: Sequence[RunInfo]) -> int:
    edges = sorted(
        [(run.start, 1) for run in runs if run.start is not None and run.end is not None]
        + [(run.end, -1) for run in runs if run.start is not None and run.end is not None]
    )
    peak = current = 0
    for _, step in edges:
        current += step
        peak = max(peak, current)
    return peak


def read_runs(home: Path, backfill_ids: Sequence[str]) -> tuple[list[RunInfo], list[RunInfo], int | None]:
    """(runs of the backfills, other runs, run slots) from the world's instance."""
    wanted = set(backfill_ids)
    mine: list[RunInfo] = []
    others: list[RunInfo] = []
    with dg.DagsterInstance.from_config(str(home)) as instance:
        slots = _run_slots(instance)
        for record in instance.get_run_records():
            run = record.dagster_run
            tags = dict(run.tags)
            label, count = _partitions(tags)
            info = RunInfo(
                run_id=run.run_id,
                backfill_id=tags.get(BACKFILL_TAG),
                status=run.status.value,
                assets=sorted(key.to_user_string() for key in run.asset_selection or ()),
                partitions=label,
                partition_count=count,
                created=record.create_timestamp.timestamp(),
                start=record.start_time,
                end=record.end_time,
                retry_number=int(tags.get(RETRY_TAG, "0")),
                sensor=tags.get(SENSOR_TAG),
            )
            for stats in instance.get_run_step_stats(run.run_id):
                if stats.start_time is not None and stats.end_time is not None:
                    info.steps[stats.step_key] = stats.end_time - stats.start_time
            if run.status == dg.DagsterRunStatus.FAILURE:
                info.failures = _failures(instance, run.run_id)
            (mine if info.backfill_id in wanted else others).append(info)
    mine.sort(key=lambda r: r.created)
    others.sort(key=lambda r: r.created)
    return mine, others, slots


# --- one measurement ---------------------------------------------------------------------------


def measure(label: str, days: int, per_partition: bool, options: Options) -> Measurement:
    first, last = START, START + timedelta(days=days - 1)
    with temp_world(label, keep=options.keep) as world:
        with running_service(world) as service:
            stopped = stop_automation(service, keep=FOLLOW_UP_SENSORS)
            print(f"  [{label}] webserver up ({service.url}); stopped: {', '.join(stopped) or 'none'}")
            service.start_daemon()
            began = time.monotonic()
            simulate(world, START.isoformat(), days, ORDERS_PER_DAY, EVENTS_PER_DAY)
            print(f"  [{label}] simulated {days} days in {time.monotonic() - began:.0f} s", flush=True)
            service.wait_for_daemon()
            assets = discover_assets(service)
            partitioned = [a for a in assets if a.kind is not None]
            unpartitioned = [a for a in assets if a.kind is None]
            print(
                f"  [{label}] {len(assets)} assets: "
                + ", ".join(f"{a.label} ({a.kind or 'unpartitioned'})" for a in assets)
            )
            deadline = time.monotonic() + options.timeout_for(days)
            with ProcessTreeSampler(service.pids, interval_s=POLL_S) as sampler:
                launched, launched_at = time.monotonic(), time.time()
                if not per_partition:
                    ids = [launch_backfill(service, assets, first, last, f"bench: {days} days")]
                else:
                    ids = [launch_backfill(service, assets, first, first, f"bench: {first}")]
                    # unpartitioned assets that partitioned ones read: the other days need them
                    needed = sorted(
                        {p for a in partitioned for p in a.parents} & {a.path for a in unpartitioned}
                    )
                    if not options.baseline_together and needed:
                        wait_until_materialized(service, needed, ids[0], deadline)
                        print(
                            f"  [{label}] {', '.join('/'.join(k) for k in needed)} materialized after"
                            f" {time.monotonic() - launched:.0f} s; launching the other days",
                            flush=True,
                        )
                    for offset in range(1, days):
                        day = first + timedelta(days=offset)
                        ids.append(launch_backfill(service, partitioned, day, day, f"bench: {day}"))
                statuses, errors, timed_out = wait_terminal(service, ids, deadline)
                terminal = time.monotonic() - launched
                wait_until_idle(world.home, SETTLE_QUIET_S, deadline)
                elapsed = time.monotonic() - launched - SETTLE_QUIET_S
            peak_rss, peak_processes = sampler.peak_rss_bytes, sampler.peak_processes
            peak_composition, peak_at = sampler.peak_composition, sampler.peak_at
            cpu_s_by_role = sampler.cpu_seconds_by_role()
        # the service is stopped: read the instance directly
        runs, others, slots = read_runs(world.home, ids)
    follow_ups = [run for run in others if run.sensor in FOLLOW_UP_SENSORS]
    others = [run for run in others if run.sensor not in FOLLOW_UP_SENSORS]
    return Measurement(
        days=days,
        backfill_ids=ids,
        statuses=statuses,
        errors=errors,
        elapsed_s=elapsed,
        timed_out=timed_out,
        peak_rss_bytes=peak_rss,
        peak_processes=peak_processes,
        peak_composition=peak_composition,
        peak_at=peak_at,
        cpu_s_by_role=cpu_s_by_role,
        runs=runs,
        other_runs=others,
        run_slots=slots if slots is not None else max(1, _peak_concurrency(runs)),
        stopped=stopped,
        launched_at=launched_at,
        terminal_s=terminal,
        follow_up_runs=follow_ups,
    )


# --- reporting ---------------------------------------------------------------------------------


def _assets_text(run: RunInfo) -> str:
    return ",".join(run.assets) if run.assets else "(job selection)"


def _report_peak(label: str, result: Measurement) -> None:
    """What the peak RSS was made of, and which runs were in progress at that instant."""
    print(f"  [{label}] peak RSS {result.peak_rss_bytes / 2**20:,.0f} MiB, by process (role: command MiB):")
    for role, command, rss in result.peak_composition:
        print(f"      {role}: {command} {rss / 2**20:,.0f}")
    for run in _in_progress_at(result.runs + result.other_runs, result.peak_at):
        print(f"  [{label}] in progress at the peak: {run.partitions} {','.join(run.assets)}")


def report(label: str, result: Measurement) -> None:
    counts: dict[str, int] = {}
    for status in result.statuses.values():
        counts[status] = counts.get(status, 0) + 1
    print(
        f"  [{label}] {len(result.backfill_ids)} backfill(s): "
        + ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
        + (" (TIMED OUT, cancelled)" if result.timed_out else "")
        + f"; {len(result.runs)} runs in {result.elapsed_s:.1f} s; run slots {result.run_slots},"
        f" observed peak {_peak_concurrency(result.runs)} concurrent;"
        f" peak {result.peak_processes} processes"
    )
    _report_peak(label, result)
    for error in result.errors:
        print(f"  [{label}] backfill error: {error}")
    origin = result.launched_at
    first_created = min((run.created for run in result.runs), default=origin)
    last_end = max((run.end or 0.0 for run in result.runs), default=origin)
    print(
        f"  [{label}] after launch: first run created +{first_created - origin:.1f} s,"
        f" last run ended +{last_end - origin:.1f} s, backfill terminal +{result.elapsed_s:.1f} s"
    )
    if len(result.runs) <= LIST_RUNS_UP_TO:
        print(f"  [{label}] runs (created, started +s after launch, wall s, status, partitions, assets):")
        for run in result.runs:
            retry = f" retry {run.retry_number}" if run.retry_number else ""
            started = f"+{run.start - origin:7.1f}" if run.start is not None else " " * 8
            print(
                f"    +{run.created - origin:7.1f} {started} {run.duration_s:7.1f} {run.status:<8}{retry}"
                f" {run.partitions:<24} {_assets_text(run)}"
            )
    else:
        groups: dict[tuple[str, int], list[RunInfo]] = {}
        for run in result.runs:
            groups.setdefault((_assets_text(run), run.partition_count), []).append(run)
        print(f"  [{label}] runs grouped by (assets, partitions per run): count, total s, max s")
        for (assets, count), members in sorted(groups.items(), key=lambda item: -len(item[1])):
            durations = [member.duration_s for member in members]
            print(
                f"    {len(members):5} x {count:3} partitions {sum(durations):9.1f} {max(durations):7.1f}"
                f"  {assets}"
            )
    for run in result.failed_runs:
        print(f"  [{label}] FAILED run {run.run_id} ({run.partitions} {_assets_text(run)}):")
        for line in run.failures or ["(no failure event)"]:
            print(f"      {line}")
    for run in result.follow_up_runs:
        print(
            f"  [{label}] follow-up of {run.sensor}: +{run.created - origin:7.1f} {run.duration_s:7.1f}"
            f" {run.status:<8} {run.partitions:<24} {_assets_text(run)}"
        )
    print(
        f"  [{label}] {len(result.follow_up_runs)} follow-up runs; settled (no run in flight) at"
        f" +{result.elapsed_s:.1f} s"
    )
    for run in result.other_runs:
        print(f"  [{label}] run NOT from the backfill: {run.run_id} {run.status} {_assets_text(run)}")
    cpu = result.cpu_s_by_role
    print(
        f"  [{label}] CPU seconds while it ran ({sum(cpu.values()):.0f} in all, of"
        f" {result.elapsed_s * (os.cpu_count() or 1):.0f} core-seconds): "
        + ", ".join(f"{role} {seconds:.0f}" for role, seconds in sorted(cpu.items(), key=lambda i: -i[1]))
    )


def _figure_name(step_key: str) -> str:
    return "profile_" + re.sub(r"[^0-9a-zA-Z]+", "_", step_key).strip("_").lower() + "_s"


def _cpu_figure(role: str) -> str:
    return "year_backfill_cpu_" + re.sub(r"[^0-9a-zA-Z]+", "_", role).strip("_").lower() + "_s"


def profile(result: Measurement) -> dict[str, float]:
    """Step seconds of one run per layer (runs of the same assets): the slowest of those covering
    the most partitions. Each step belongs to one layer, so the step figures do not collide;
    `profile_run_s` is the slowest profiled run."""
    layers: dict[tuple[str, ...], list[RunInfo]] = {}
    for run in result.runs:
        if run.steps and run.partition_count > 0:
            layers.setdefault(tuple(run.assets), []).append(run)
    figures: dict[str, float] = {}
    for runs in layers.values():
        largest = max(run.partition_count for run in runs)
        run = max((r for r in runs if r.partition_count == largest), key=lambda r: r.duration_s)
        print(
            f"  profile of run {run.run_id} ({run.partitions}, {run.partition_count} partitions,"
            f" {run.duration_s:.1f} s wall, {sum(run.steps.values()):.1f} s in steps):"
        )
        figures["profile_run_s"] = max(figures.get("profile_run_s", 0.0), round(run.duration_s, 2))
        for step, seconds in sorted(run.steps.items(), key=lambda item: -item[1]):
            print(f"    {step:<44} {seconds:8.2f} s")
            figures[_figure_name(step)] = round(seconds, 2)
    return figures


def slot_idle_s(result: Measurement) -> float:
    """Run-slot seconds, from the first run's creation to the last run's end, in which no run of the
    backfill was running: queueing and run start-up between runs, and waits for the next layer."""
    timed = [run for run in result.runs if run.start is not None and run.end is not None]
    if not timed:
        return 0.0
    span = max(run.end or 0.0 for run in timed) - min(run.created for run in result.runs)
    return span * result.run_slots - sum(run.duration_s for run in timed)


@contextmanager
def _sigterm_raises() -> Iterator[None]:
    """SIGTERM unwinds like Ctrl-C, so the `finally` blocks stop the services."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run() -> dict[str, float]:
    options = Options.from_env()
    print(
        f"  options: BENCH_BACKFILL_DAYS={options.days} BENCH_BACKFILL_BASELINE_DAYS={options.baseline_days}"
        f" BENCH_BACKFILL_SKIP_BASELINE={int(options.skip_baseline)}"
        f" BENCH_BACKFILL_BASELINE_TOGETHER={int(options.baseline_together)}"
        f" BENCH_BACKFILL_TIMEOUT_S={options.timeout_for(options.days):.0f}"
        f" BENCH_BACKFILL_KEEP={int(options.keep)}",
        flush=True,
    )
    began = time.monotonic()
    with _sigterm_raises():
        main = measure("backfill", options.days, per_partition=False, options=options)
        report("backfill", main)
        figures = {
            "year_backfill_days": float(main.days),
            "year_backfill_s": round(main.elapsed_s, 2),
            "year_backfill_terminal_s": round(main.terminal_s, 2),
            "year_backfill_runs": float(len(main.runs) + len(main.follow_up_runs)),
            "year_backfill_chunk_runs": float(len(main.runs)),
            "year_backfill_follow_up_runs": float(len(main.follow_up_runs)),
            "year_backfill_failed_runs": float(len(main.failed_runs)),
            "year_backfill_other_runs": float(len(main.other_runs)),
            "year_backfill_peak_rss_gib": round(main.peak_rss_bytes / 2**30, 3),
            "year_backfill_status_ok": 1.0 if main.ok else 0.0,
            "year_backfill_step_compute_s": round(main.step_compute_s, 2),
            "year_backfill_cpu_s": round(sum(main.cpu_s_by_role.values()), 1),
            **{_cpu_figure(role): round(seconds, 1) for role, seconds in main.cpu_s_by_role.items()},
            "year_backfill_slot_idle_s": round(slot_idle_s(main), 1),
            "per_partition_overhead_s": round(
                (main.elapsed_s * main.run_slots - main.step_compute_s) / main.days, 3
            ),
        }
        figures.update(profile(main))
        if not options.skip_baseline:
            base = measure("per-partition", options.baseline_days, per_partition=True, options=options)
            report("per-partition", base)
            extrapolated = base.elapsed_s * main.days / base.days
            figures.update(
                {
                    "per_partition_baseline_days": float(base.days),
                    "per_partition_baseline_14d_s": round(base.elapsed_s, 2),
                    "per_partition_baseline_runs_14d": float(len(base.runs) + len(base.follow_up_runs)),
                    "per_partition_baseline_failed_runs": float(len(base.failed_runs)),
                    "per_partition_baseline_other_runs": float(len(base.other_runs)),
                    "per_partition_baseline_status_ok": 1.0 if base.ok else 0.0,
                    "per_partition_baseline_extrapolated_s": round(extrapolated, 1),
                    "backfill_speedup_vs_per_partition_runs": round(extrapolated / main.elapsed_s, 3),
                }
            )
    print(f"  harness took {time.monotonic() - began:.0f} s", flush=True)
    return figures


if __name__ == "__main__":
    print(run())
