"""Alerts: delivered once each to a real webhook over HTTP (a server on loopback), recorded in
ops.alerts, and raised by the three sensors for failed runs, failed checks and missed SLAs."""

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from reliable_assets.ops.alerts import alert_on_check_failure, alert_on_freshness, alert_on_run_failure
from reliable_assets.toolkit.alerts import Alert, AlertDeliveryError, AlertSink
from reliable_assets.toolkit.duckdb_warehouse import DuckDBWarehouse

SECRET_PATH = "/services/T0SECRET/B0SECRET/XXXXSECRET"
DAILY = dg.DailyPartitionsDefinition(start_date="2026-01-01")


class Webhook:
    """A Slack-like incoming webhook on loopback: records JSON bodies, answers ``status``."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.status = 200
        webhook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                if webhook.status == 200:
                    webhook.bodies.append(json.loads(self.rfile.read(length)))
                self.send_response(webhook.status)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                """Quiet."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}{SECRET_PATH}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook()
    yield hook
    hook.server.shutdown()


@pytest.fixture
def warehouse(tmp_path: Path) -> DuckDBWarehouse:
    return DuckDBWarehouse(path=str(tmp_path / "w.duckdb"))


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test(temp_dir=str(tmp_path)) as test_instance:
        yield test_instance


def _recorded(warehouse: DuckDBWarehouse) -> dict[str, str]:
    if not warehouse.table_exists("ops", "alerts"):
        return {}
    table = warehouse.read_table("ops", "alerts")
    return dict(zip(table["alert_id"], table["kind"], strict=True))


def test_each_alert_is_posted_once_and_recorded(webhook: Webhook, warehouse: DuckDBWarehouse) -> None:
    """Invariant: a Slack-compatible POST per new alert id; the same ids again post nothing."""
    sink = AlertSink(warehouse=warehouse, webhook_url=webhook.url)
    first = [Alert("a:1", "run_failure", "Run failed", {"run": "r1"}), Alert("a:2", "check_failure", "Check")]
    assert [a.alert_id for a in sink.send(first)] == ["a:1", "a:2"]
    assert sink.send([*first, first[0]]) == []
    assert len(webhook.bodies) == 2
    assert webhook.bodies[0]["text"].startswith("[reliable_assets] Run failed")
    assert "run: r1" in webhook.bodies[0]["text"]
    assert _recorded(warehouse) == {"a:1": "run_failure", "a:2": "check_failure"}
    assert set(warehouse.read_table("ops", "alerts")["channel"]) == {"webhook"}


def test_without_a_webhook_alerts_go_to_the_log_and_the_table(
    warehouse: DuckDBWarehouse, caplog: pytest.LogCaptureFixture
) -> None:
    """Invariant: ALERT_WEBHOOK_URL unset: the alert is logged and recorded, once."""
    sink = AlertSink(warehouse=warehouse)
    assert len(sink.send([Alert("b:1", "freshness", "SLA missed: x")])) == 1
    assert "SLA missed: x" in caplog.text
    assert _recorded(warehouse) == {"b:1": "freshness"}
    assert set(warehouse.read_table("ops", "alerts")["channel"]) == {"log"}


def test_a_refused_post_is_retried_later_and_never_shows_the_url(
    webhook: Webhook, warehouse: DuckDBWarehouse
) -> None:
    """Failure mode: the webhook answers 500: the error names the status, not the secret URL,
    nothing is recorded, and the next attempt delivers the alert."""
    sink = AlertSink(warehouse=warehouse, webhook_url=webhook.url)
    webhook.status = 500
    with pytest.raises(AlertDeliveryError, match="HTTP 500") as raised:
        sink.send([Alert("c:1", "run_failure", "Run failed")])
    assert "SECRET" not in str(raised.value)
    assert _recorded(warehouse) == {}
    webhook.status = 200
    assert len(sink.send([Alert("c:1", "run_failure", "Run failed")])) == 1
    assert len(webhook.bodies) == 1

    unreachable = AlertSink(warehouse=warehouse, webhook_url=f"http://127.0.0.1:9{SECRET_PATH}")
    with pytest.raises(AlertDeliveryError) as raised:
        unreachable.send([Alert("c:2", "run_failure", "Run failed")])
    assert "SECRET" not in str(raised.value)


@dg.op
def explode() -> None:
    raise RuntimeError("source table missing")


@dg.job
def fragile() -> None:
    explode()


def _run_failure_context(
    instance: dg.DagsterInstance, sink: AlertSink, tags: dict[str, str] | None = None
) -> dg.RunStatusSensorContext:
    result = fragile.execute_in_process(instance=instance, raise_on_error=False, tags=tags)
    run = instance.get_run_by_id(result.run_id)
    assert run is not None
    failure = next(e for e in result.all_events if e.event_type == dg.DagsterEventType.RUN_FAILURE)
    return dg.build_run_status_sensor_context(
        sensor_name="alert_on_run_failure",
        dagster_event=failure,
        dagster_instance=instance,
        dagster_run=run,
        resources={"alerts": sink},
    )


def test_a_failed_run_raises_one_alert(
    webhook: Webhook, warehouse: DuckDBWarehouse, instance: dg.DagsterInstance
) -> None:
    """Invariant: one alert per failed run, naming job and error; none while a retry is coming."""
    sink = AlertSink(warehouse=warehouse, webhook_url=webhook.url)
    with _run_failure_context(instance, sink) as context:
        alert_on_run_failure(context.for_run_failure())
        alert_on_run_failure(context.for_run_failure())  # the same failure seen twice
    assert len(webhook.bodies) == 1
    assert "fragile" in webhook.bodies[0]["text"]
    assert "source table missing" in webhook.bodies[0]["text"]

    with _run_failure_context(instance, sink, tags={"dagster/will_retry": "true"}) as context:
        alert_on_run_failure(context.for_run_failure())
    assert len(webhook.bodies) == 1


CHECKED = dg.AssetKey("checked")


def _checked_asset(bad_value: bool) -> dg.AssetsDefinition:
    @dg.asset(
        key=CHECKED,
        partitions_def=DAILY,
        check_specs=[
            dg.AssetCheckSpec("positive", asset=CHECKED, partitions_def=DAILY),
            dg.AssetCheckSpec("present", asset=CHECKED, partitions_def=DAILY),
        ],
    )
    def checked() -> Iterator[Any]:
        yield dg.Output(1)
        yield dg.AssetCheckResult(check_name="positive", passed=not bad_value, description="value > 0")
        yield dg.AssetCheckResult(check_name="present", passed=True)

    return checked


def _check_sensor_context(
    instance: dg.DagsterInstance, sink: AlertSink, cursor: str | None, definitions: dg.Definitions
) -> dg.SensorEvaluationContext:
    return dg.build_sensor_context(
        instance=instance,
        cursor=cursor,
        repository_def=definitions.get_repository_def(),
        resources={"alerts": sink},
    )


def test_failed_checks_raise_one_alert_per_check_and_run(
    webhook: Webhook, warehouse: DuckDBWarehouse, instance: dg.DagsterInstance
) -> None:
    """Invariant: the first tick sets a baseline (old failures are not replayed); a later failed
    check alerts once, naming its partition; passing checks and later ticks add nothing."""
    sink = AlertSink(warehouse=warehouse, webhook_url=webhook.url)
    definitions = dg.Definitions(assets=[_checked_asset(bad_value=True)])
    dg.materialize([_checked_asset(bad_value=True)], instance=instance, partition_key="2026-01-01")

    with _check_sensor_context(instance, sink, None, definitions) as context:
        alert_on_check_failure(context)
        baseline = context.cursor
    assert webhook.bodies == []

    dg.materialize([_checked_asset(bad_value=True)], instance=instance, partition_key="2026-01-02")
    dg.materialize([_checked_asset(bad_value=False)], instance=instance, partition_key="2026-01-03")
    with _check_sensor_context(instance, sink, baseline, definitions) as context:
        alert_on_check_failure(context)
        after = context.cursor
    assert len(webhook.bodies) == 1
    text = webhook.bodies[0]["text"]
    assert "Check positive failed on checked" in text
    assert "partitions: 2026-01-02" in text
    assert "value > 0" in text

    with _check_sensor_context(instance, sink, after, definitions) as context:
        alert_on_check_failure(context)
    assert len(webhook.bodies) == 1


def test_a_missed_deadline_alerts_once_however_often_the_check_fails(
    webhook: Webhook, warehouse: DuckDBWarehouse, instance: dg.DagsterInstance
) -> None:
    """Invariant: a freshness check failing again and again for the same deadline is one SLA
    alert; it does not go through alert_on_check_failure too."""

    @dg.asset(key="late", partitions_def=DAILY)
    def late() -> int:
        return 1

    freshness = dg.build_time_partition_freshness_checks(assets=[late], deadline_cron="0 1 * * *")
    definitions = dg.Definitions(
        assets=[late],
        asset_checks=freshness,
        jobs=[dg.define_asset_job("freshness_only", selection=dg.AssetSelection.checks(*freshness))],
    )
    checks_job = definitions.resolve_job_def("freshness_only")
    sink = AlertSink(warehouse=warehouse, webhook_url=webhook.url)

    with _check_sensor_context(instance, sink, None, definitions) as context:
        alert_on_freshness(context)
        cursor = context.cursor
    for _ in range(2):
        result = checks_job.execute_in_process(instance=instance, raise_on_error=False)
        assert not any(e.passed for e in result.get_asset_check_evaluations())
        with _check_sensor_context(instance, sink, cursor, definitions) as context:
            alert_on_check_failure(context)
        with _check_sensor_context(instance, sink, cursor, definitions) as context:
            alert_on_freshness(context)
            cursor = context.cursor
    assert len(webhook.bodies) == 1
    assert webhook.bodies[0]["text"].startswith("[reliable_assets] SLA missed: late")
    assert list(_recorded(warehouse).values()) == ["freshness"]
