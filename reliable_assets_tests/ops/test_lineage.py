"""OpenLineage export: the events of real runs reach an HTTP endpoint, valid by the client's models."""

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import JobFacet, error_message_run, job_type_job, tags_run
from openlineage.client.serde import Serde

from reliable_assets import settings
from reliable_assets.definitions import defs
from reliable_assets.graph_runs import execute_assets
from reliable_assets.ops.lineage import NAMESPACE, lineage_file
from reliable_assets.toolkit.lineage_events import step_run_id
from reliable_assets.toolkit.lineage_sensor import API_KEY_ENV, URL_ENV
from reliable_assets_tests.conftest import SIM_DAY_LIST

API_KEY = "test-lineage-key"  # a throwaway value for the loopback server, not a secret


class LineageServer:
    """A loopback OpenLineage endpoint that records what it receives."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        received = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                received.bodies.append(json.loads(self.rfile.read(length)))
                received.headers.append({"path": self.path, **dict(self.headers)})
                self.send_response(201)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                """Quiet."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)


@pytest.fixture
def lineage_server() -> Iterator[LineageServer]:
    server = LineageServer()
    server.thread.start()
    try:
        yield server
    finally:
        server.server.shutdown()
        server.server.server_close()


def _parsed(body: dict[str, Any]) -> RunEvent:
    """The body rebuilt with the client's models (their validators check the run id is a UUID, the
    time an ISO date-time, the URLs parse), and it must serialize back to exactly the body."""
    job_facets: dict[str, JobFacet] = {
        "jobType": job_type_job.JobTypeJobFacet(**_fields(body["job"]["facets"]["jobType"]))
    }
    run_facets: dict[str, Any] = {}
    for name, facet in body["run"].get("facets", {}).items():
        if name == "errorMessage":
            run_facets[name] = error_message_run.ErrorMessageRunFacet(**_fields(facet))
        elif name == "tags":  # the client's own: its version
            fields = [tags_run.TagsRunFacetFields(**tag) for tag in facet["tags"]]
            run_facets[name] = tags_run.TagsRunFacet(tags=fields)
        else:
            pytest.fail(f"unexpected run facet {name}")
    event = RunEvent(
        eventType=RunState(body["eventType"]),
        eventTime=body["eventTime"],
        producer=body["producer"],
        run=Run(runId=body["run"]["runId"], facets=run_facets),
        job=Job(namespace=body["job"]["namespace"], name=body["job"]["name"], facets=job_facets),
        inputs=[InputDataset(namespace=d["namespace"], name=d["name"]) for d in body.get("inputs", [])],
        outputs=[OutputDataset(namespace=d["namespace"], name=d["name"]) for d in body.get("outputs", [])],
    )
    assert body["schemaURL"] == event.schemaURL
    assert Serde.to_dict(event) == body
    return event


def _fields(facet: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in facet.items() if not k.startswith("_")}


def _tick(sensor: dg.SensorDefinition, instance: dg.DagsterInstance, cursor: str | None) -> tuple[str, str]:
    with dg.build_sensor_context(
        instance=instance, cursor=cursor, definitions=defs(), resources=settings.resources_for()
    ) as context:
        # evaluate_tick, as the daemon does (a direct call passes the resources as arguments).
        result = sensor.evaluate_tick(context)
        assert not result.run_requests
        assert result.cursor is not None
        return result.cursor, result.skip_message or ""


def test_runs_of_dependent_assets_send_start_and_complete_per_asset_and_a_failure_sends_fail(
    simulated: Path, lineage_server: LineageServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """START/COMPLETE per asset step with its upstream datasets as inputs; a step that fails sends
    FAIL with its error; every body is a valid OpenLineage RunEvent."""
    monkeypatch.setenv(URL_ENV, lineage_server.url)
    monkeypatch.setenv(API_KEY_ENV, API_KEY)
    definitions = defs()
    sensor = definitions.get_sensor_def("openlineage_sensor")
    with dg.instance_for_test() as instance:
        cursor, _ = _tick(sensor, instance, None)  # the first look starts the export from now
        day_1, day_2 = SIM_DAY_LIST[0].isoformat(), SIM_DAY_LIST[1].isoformat()
        snapshot = execute_assets(definitions, instance, ["raw/customers", "warehouse/dim_customers"], "snap")
        daily = execute_assets(
            definitions, instance, ["raw/events", "warehouse/daily_events"], "day", partition_key=day_1
        )
        # daily_events of day 2 without raw/events of day 2: its input is missing, the step fails.
        failing = execute_assets(
            definitions, instance, ["warehouse/daily_events"], "bad", partition_key=day_2
        )
        assert snapshot.success
        assert daily.success
        assert not failing.success
        cursor, message = _tick(sensor, instance, cursor)
        assert "sent" in message

        events = [_parsed(body) for body in lineage_server.bodies]
        assert {h["path"] for h in lineage_server.headers} == {"/api/v1/lineage"}
        assert {h["Authorization"] for h in lineage_server.headers} == {f"Bearer {API_KEY}"}
        by_run: dict[tuple[str, str], list[RunEvent]] = {}
        for event in events:
            assert event.job.namespace == NAMESPACE
            by_run.setdefault((event.job.name, event.run.runId), []).append(event)
        expected_runs = {
            ("raw/customers", step_run_id(snapshot.run_id, "raw__customers")): [
                RunState.START,
                RunState.COMPLETE,
            ],
            ("warehouse/dim_customers", step_run_id(snapshot.run_id, "warehouse__dim_customers")): [
                RunState.START,
                RunState.COMPLETE,
            ],
            ("raw/events", step_run_id(daily.run_id, "raw__events")): [RunState.START, RunState.COMPLETE],
            ("warehouse/daily_events", step_run_id(daily.run_id, "warehouse__daily_events")): [
                RunState.START,
                RunState.COMPLETE,
            ],
            ("warehouse/daily_events", step_run_id(failing.run_id, "warehouse__daily_events")): [
                RunState.START,
                RunState.FAIL,
            ],
        }
        assert {run: [e.eventType for e in evs] for run, evs in by_run.items()} == expected_runs

        data = simulated.resolve()
        warehouse_ns = f"duckdb://{data / 'dwh.duckdb'}"
        raw_customers = ("file", str(data / "lake" / "raw" / "customers"))
        raw_events = ("file", str(data / "lake" / "raw" / "events"))
        datasets = {
            name: (
                sorted((d.namespace, d.name) for d in evs[0].inputs or []),
                sorted((d.namespace, d.name) for d in evs[0].outputs or []),
            )
            for (name, run_id), evs in by_run.items()
            if run_id != step_run_id(failing.run_id, "warehouse__daily_events")
        }
        assert datasets == {
            "raw/customers": ([], [raw_customers]),
            "warehouse/dim_customers": ([raw_customers], [(warehouse_ns, "warehouse.dim_customers")]),
            "raw/events": ([("file", str(data / "landing" / "events"))], [raw_events]),
            "warehouse/daily_events": ([raw_events], [(warehouse_ns, "warehouse.daily_events")]),
        }
        (fail,) = [e for e in events if e.eventType == RunState.FAIL]
        assert fail.run.facets is not None
        assert "errorMessage" in fail.run.facets

        # A second tick sends nothing again.
        sent_before = len(lineage_server.bodies)
        _tick(sensor, instance, cursor)
        assert len(lineage_server.bodies) == sent_before


def test_an_unreachable_lineage_server_warns_and_the_next_tick_delivers(
    simulated: Path, lineage_server: LineageServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Delivery failure fails neither the data run nor the sensor; nothing is lost."""
    closed = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    dead_url = f"http://127.0.0.1:{closed.server_address[1]}"
    closed.server_close()  # nothing listens there any more
    monkeypatch.setenv(URL_ENV, dead_url)
    definitions = defs()
    sensor = definitions.get_sensor_def("openlineage_sensor")
    with dg.instance_for_test() as instance:
        cursor, _ = _tick(sensor, instance, None)
        run = execute_assets(definitions, instance, ["raw/customers"], "snap")
        assert run.success
        cursor, message = _tick(sensor, instance, cursor)
        assert "failed" in message
        assert dead_url in message
        monkeypatch.setenv(URL_ENV, lineage_server.url)
        _tick(sensor, instance, cursor)
    states = [(body["job"]["name"], body["eventType"]) for body in lineage_server.bodies]
    assert states == [("raw/customers", "START"), ("raw/customers", "COMPLETE")]


def test_without_a_url_the_events_go_to_the_data_folder_as_json_lines(
    simulated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(URL_ENV, raising=False)
    definitions = defs()
    sensor = definitions.get_sensor_def("openlineage_sensor")
    with dg.instance_for_test() as instance:
        cursor, _ = _tick(sensor, instance, None)
        run = execute_assets(definitions, instance, ["raw/customers"], "snap")
        _tick(sensor, instance, cursor)
    path = lineage_file()
    assert path.parent.parent == simulated.resolve()
    bodies = [json.loads(line) for line in path.read_text().splitlines()]
    assert [(_parsed(b).eventType, b["run"]["runId"]) for b in bodies] == [
        (RunState.START, step_run_id(run.run_id, "raw__customers")),
        (RunState.COMPLETE, step_run_id(run.run_id, "raw__customers")),
    ]
