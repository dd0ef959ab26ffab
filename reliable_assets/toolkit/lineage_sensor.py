"""A sensor that exports the lineage of every asset step to OpenLineage.

Why a sensor and not a hook or a logger inside the run: it costs the steps nothing (no network
call inside a run), a lineage server that is down or slow can never fail or slow a data run, and
it sees what an in-run hook cannot: the steps of a run worker that crashed (closed as FAIL when the
run is failed). It reads the event log every tick (30 s): each event carries the time Dagster
recorded, so late delivery does not move it on a timeline.

Cursor: the update time of the last finished run handled, plus the storage id delivered so far of
every run still in flight. A delivery failure is logged as a warning and leaves the cursor at the
last event delivered; the next tick sends the rest (at least once; an event re-sent is identical).
"""

import json
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import dagster as dg

from reliable_assets.toolkit.lineage_datasets import Dataset, asset_folder, file_folder, warehouse_table
from reliable_assets.toolkit.lineage_events import READ_TYPES, AssetStep, run_events

if TYPE_CHECKING:
    from openlineage.client import OpenLineageClient

URL_ENV = "OPENLINEAGE_URL"
API_KEY_ENV = "OPENLINEAGE_API_KEY"
ENDPOINT_ENV = "OPENLINEAGE_ENDPOINT"
HTTP_RETRY = {"total": 2, "connect": 2, "read": 2, "backoff_factor": 0.5}  # then the next tick
ExternalInputs = Mapping[dg.AssetKey, tuple[str, str]]  # asset -> (resource key, folder inside it)


@dataclass
class LineageCursor:
    finished_after: float
    in_flight: dict[str, int] = field(default_factory=dict)  # run id -> last storage id sent

    @classmethod
    def parse(cls, text: str | None) -> "LineageCursor | None":
        if not text:
            return None
        data = json.loads(text)
        return cls(float(data["finished_after"]), {k: int(v) for k, v in data["in_flight"].items()})

    def dump(self) -> str:
        return json.dumps({"finished_after": self.finished_after, "in_flight": self.in_flight})


def lineage_client(lineage_file: Path) -> "tuple[OpenLineageClient, str]":
    """HTTP to `OPENLINEAGE_URL` when set (with `OPENLINEAGE_API_KEY` as bearer token if set), else
    JSON lines appended to `lineage_file`; and where, for messages (never the key)."""
    # Imported on first use, in the code server's sensor tick: run workers never need it.
    from openlineage.client import OpenLineageClient  # noqa: PLC0415
    from openlineage.client.transport.file import FileConfig, FileTransport  # noqa: PLC0415
    from openlineage.client.transport.http import (  # noqa: PLC0415
        ApiKeyTokenProvider,
        HttpConfig,
        HttpTransport,
        TokenProvider,
    )

    url = os.environ.get(URL_ENV, "").strip()
    if url:
        api_key = os.environ.get(API_KEY_ENV)
        config = HttpConfig(
            url=url,
            endpoint=os.environ.get(ENDPOINT_ENV, "api/v1/lineage"),
            auth=ApiKeyTokenProvider({"apiKey": api_key}) if api_key else TokenProvider({}),
            retry=HTTP_RETRY,
        )
        return OpenLineageClient(transport=HttpTransport(config)), url
    lineage_file.parent.mkdir(parents=True, exist_ok=True)
    file_config = FileConfig(log_file_path=str(lineage_file), append=True)
    return OpenLineageClient(transport=FileTransport(file_config)), str(lineage_file)


def asset_steps(
    repository: dg.RepositoryDefinition, resources: Any, external_inputs: ExternalInputs
) -> dict[str, AssetStep]:
    """Step key -> the asset step's job name and datasets, for every asset of the code location."""
    datasets: dict[dg.AssetKey, Dataset] = {}
    defs_by_key = repository.assets_defs_by_key
    for assets_def in set(defs_by_key.values()):
        if not assets_def.is_executable:
            continue
        for output_name, key in assets_def.keys_by_output_name.items():
            io_manager_key = assets_def.node_def.output_def_named(output_name).io_manager_key
            found = _stored_at(getattr(resources, io_manager_key, None), key)
            if found is not None:
                datasets[key] = found
    steps = {}
    for assets_def in set(defs_by_key.values()):
        if not assets_def.is_executable or not assets_def.keys:
            continue
        keys = sorted(assets_def.keys, key=lambda k: k.to_user_string())
        inputs = {datasets[dep] for key in keys for dep in assets_def.asset_deps[key] if dep in datasets}
        for key in keys:
            if key in external_inputs:
                resource_key, folder = external_inputs[key]
                external = file_folder(getattr(resources, resource_key, None), folder)
                inputs |= {external} if external else set()
        steps[assets_def.node_def.name] = AssetStep(
            job_name=",".join(k.to_user_string() for k in keys),
            inputs=tuple(sorted(inputs)),
            outputs=tuple(sorted(datasets[k] for k in keys if k in datasets)),
        )
    return steps


def _stored_at(io_manager: Any, key: dg.AssetKey) -> Dataset | None:
    if io_manager is None:
        return None
    if getattr(io_manager, "warehouse", None) is not None:
        return warehouse_table(io_manager.warehouse, key)
    return file_folder(io_manager, asset_folder(key))


def build_lineage_sensor(
    *,
    name: str,
    namespace: str,
    lineage_file: Callable[[], Path],
    resource_keys: Iterable[str],
    external_inputs: ExternalInputs,
    minimum_interval_seconds: int = 30,
) -> dg.SensorDefinition:
    @dg.sensor(
        name=name,
        minimum_interval_seconds=minimum_interval_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING,
        required_resource_keys=set(resource_keys),
    )
    def export_lineage(context: dg.SensorEvaluationContext) -> dg.SkipReason:
        cursor = LineageCursor.parse(context.cursor)
        if cursor is None:  # first look: from now on, not the whole history
            context.update_cursor(LineageCursor(datetime.now(UTC).timestamp()).dump())
            return dg.SkipReason("lineage export starts with the runs from now on")
        repository = context.repository_def
        assert repository is not None, "a sensor of a code location always has its repository"
        steps = asset_steps(repository, context.resources, external_inputs)
        client, target = lineage_client(lineage_file())
        sent = 0
        for record in _runs_to_read(context.instance, cursor):
            run = record.dagster_run
            delivered = cursor.in_flight.get(run.run_id, -1)
            records = context.instance.get_records_for_run(run.run_id, of_type=READ_TYPES).records
            for storage_id, event in run_events(records, steps, namespace, run.run_id):
                if storage_id <= delivered:
                    continue
                try:
                    client.emit(event)
                except Exception as error:
                    # Lineage is a by-product: a failed delivery never fails data runs or the sensor.
                    context.log.warning(
                        f"OpenLineage delivery to {target} failed, retried next tick: {error}"
                    )
                    context.update_cursor(cursor.dump())
                    return dg.SkipReason(f"{sent} event(s) sent; delivery to {target} failed: {error}")
                cursor.in_flight[run.run_id] = delivered = storage_id
                sent += 1
            if run.is_finished:
                cursor.in_flight.pop(run.run_id, None)
                cursor.finished_after = max(cursor.finished_after, record.update_timestamp.timestamp())
            else:
                cursor.in_flight.setdefault(run.run_id, delivered)
        context.update_cursor(cursor.dump())
        return dg.SkipReason(f"{sent} OpenLineage event(s) sent to {target}")

    return export_lineage


def _runs_to_read(instance: dg.DagsterInstance, cursor: LineageCursor) -> list[dg.RunRecord]:
    """Runs updated since the last finished one handled, and every run still in flight, oldest first."""
    after = datetime.fromtimestamp(cursor.finished_after, UTC)
    records = {r.dagster_run.run_id: r for r in instance.get_run_records(dg.RunsFilter(updated_after=after))}
    if cursor.in_flight:
        for record in instance.get_run_records(dg.RunsFilter(run_ids=list(cursor.in_flight))):
            records.setdefault(record.dagster_run.run_id, record)
    return sorted(records.values(), key=lambda r: r.update_timestamp)
