"""`reliable-assets metrics`: a real exporter process scraped over HTTP after real runs.

The whole graph runs on a simulated world with bad records (so dead letters are pending and the
freshness checks of 2024's days fail), the console script serves the same DAGSTER_HOME and
warehouse, and each scraped figure is compared with what the test reads itself from the
instance API and the DuckDB file. A second scrape after more runs checks that the exporter's
incremental reading still matches the whole history.
"""

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import duckdb
import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from reliable_assets.cli import main
from reliable_assets.definitions import defs
from reliable_assets.graph_runs import execute_assets, materialize_graph
from reliable_assets.simulator.config import SimulationConfig
from reliable_assets.simulator.rates_api import serve_rates_api
from reliable_assets.simulator.run import simulate
from reliable_assets_tests.conftest import SIM_DAY_LIST, SIM_DAYS, SIM_START

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@dataclass(frozen=True)
class Exporter:
    url: str
    instance: dg.DagsterInstance
    data_dir: Path


@pytest.fixture(scope="module")
def exporter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Exporter]:
    home = tmp_path_factory.mktemp("home")
    folder = tmp_path_factory.mktemp("world") / "data"
    with (
        pytest.MonkeyPatch.context() as patch,
        serve_rates_api(port=0) as rates_url,
        dg.instance_for_test(temp_dir=str(home)) as instance,
    ):
        patch.setenv("RELIABLE_ASSETS_DATA_DIR", str(folder))
        patch.setenv("RATES_API_URL", rates_url)
        patch.delenv("DAGSTER_DEPLOYMENT", raising=False)
        simulate(
            SimulationConfig(
                start=SIM_START, days=SIM_DAYS, orders_per_day=40, events_per_day=300, bad_rate=0.03
            )
        )
        outcomes = materialize_graph(defs(), instance, SIM_DAY_LIST, log_level="ERROR")
        assert all(o.success for o in outcomes), [o.label for o in outcomes if not o.success]
        _resolve_some_dead_letters(folder / "dwh.duckdb")
        env = {**os.environ, "DAGSTER_HOME": str(home)}
        process = subprocess.Popen(
            [sys.executable, "-m", "reliable_assets.cli", "metrics", "--port", "0"],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,  # its own process group, ended below
        )
        try:
            assert process.stdout is not None
            line = process.stdout.readline()  # "metrics on http://127.0.0.1:PORT/metrics; ..."
            assert line.startswith("metrics on http://127.0.0.1:"), line
            yield Exporter(line.split()[2].rstrip(";"), instance, folder)
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=60) == 0
            assert "metrics stopped" in process.stdout.read()
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def _resolve_some_dead_letters(path: Path) -> None:
    """What an operator does after a fix: settled letters are history, not backlog."""
    with duckdb.connect(str(path)) as connection:
        connection.execute(
            "UPDATE ops.dead_letters SET status = ? WHERE dead_letter_id IN"
            " (SELECT dead_letter_id FROM ops.dead_letters ORDER BY dead_letter_id LIMIT 3)",
            ["resolved"],
        )


def _scrape(url: str) -> tuple[dict[str, str], Samples]:
    response = requests.get(url, timeout=60)
    response.raise_for_status()
    types, samples = {}, {}
    for family in text_string_to_metric_families(response.text):
        types[family.name] = family.type
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return types, samples


def _by_label(samples: Samples, name: str) -> dict[tuple[str, ...], float]:
    return {
        tuple(v for _, v in labels): value for (sample, labels), value in samples.items() if sample == name
    }


def _all_materializations(instance: dg.DagsterInstance, key: dg.AssetKey) -> list[dg.EventLogRecord]:
    records: list[dg.EventLogRecord] = []
    cursor = None
    while True:
        page = instance.fetch_materializations(key, limit=100, cursor=cursor)
        records.extend(page.records)
        if not page.has_more:
            return records
        cursor = page.cursor


def _recorded(exporter: Exporter) -> dict[str, dict[tuple[str, ...], float]]:
    """Every figure as the instance and the warehouse hold it, read without the exporter's code."""
    instance = exporter.instance
    graph = defs().get_repository_def().asset_graph
    counts: dict[tuple[str, ...], float] = {}
    rows: dict[tuple[str, ...], float] = {}
    partition_times: dict[tuple[str, ...], float] = {}
    for key in graph.get_all_asset_keys():
        records = _all_materializations(instance, key)  # newest first
        name = key.to_user_string()
        counts[(name,)] = float(len(records))
        if not records:
            continue
        latest_run = records[0].run_id
        run_records = instance.get_records_for_run(
            latest_run, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION
        ).records
        row_counts = [
            r.asset_materialization.metadata.get("row_count")
            for r in run_records
            if r.asset_materialization and r.asset_materialization.asset_key == key
        ]
        rows[(name,)] = float(
            sum(c.value for c in row_counts if isinstance(c, dg.IntMetadataValue) and c.value)
        )
        newest_partition = max((r.partition_key for r in records if r.partition_key), default=None)
        written = next(r for r in records if r.partition_key == newest_partition)
        partition_times[(name,)] = written.timestamp
    failures: Counter[tuple[str, ...]] = Counter()
    for check_key in graph.asset_check_keys:
        for record in instance.event_log_storage.get_asset_check_execution_history(check_key, limit=10_000):
            if record.status.value == "FAILED":
                evaluation = record.event.asset_check_evaluation if record.event else None
                severity = evaluation.severity.value if evaluation else "UNKNOWN"
                failures[(check_key.asset_key.to_user_string(), check_key.name, severity)] += 1
    with duckdb.connect(str(exporter.data_dir / "dwh.duckdb"), read_only=True) as connection:
        pending = connection.execute(
            "SELECT asset_key, count(*) FROM ops.dead_letters WHERE status = ? GROUP BY asset_key",
            ["pending"],
        ).fetchall()
    letters = dict.fromkeys(counts, 0.0) | {(asset,): float(n) for asset, n in pending}
    return {
        "materializations": counts,
        "rows": rows,
        "partition_times": partition_times,
        "failures": {key: float(n) for key, n in failures.items()},
        "dead_letters": letters,
    }


def _recorded_runs(instance: dg.DagsterInstance) -> list[tuple[str, str, float]]:
    finished = ("SUCCESS", "FAILURE", "CANCELED")
    return [
        (r.dagster_run.job_name, r.dagster_run.status.value, r.end_time - r.start_time)
        for r in instance.get_run_records()
        if r.dagster_run.status.value in finished and r.start_time and r.end_time
    ]


def _assert_scrape_matches_the_instance(exporter: Exporter) -> dict[str, dict[tuple[str, ...], float]]:
    before = time.time()
    types, samples = _scrape(exporter.url)
    after = time.time()
    recorded = _recorded(exporter)
    assert types == {
        "reliable_assets_materializations": "counter",
        "reliable_assets_rows_written": "gauge",
        "reliable_assets_freshness_lag_seconds": "gauge",
        "reliable_assets_dead_letters_pending": "gauge",
        "reliable_assets_check_failures": "counter",
        "reliable_assets_run_duration_seconds": "histogram",
    }
    assert _by_label(samples, "reliable_assets_materializations_total") == recorded["materializations"]
    assert _by_label(samples, "reliable_assets_rows_written") == recorded["rows"]
    assert _by_label(samples, "reliable_assets_dead_letters_pending") == recorded["dead_letters"]
    assert _by_label(samples, "reliable_assets_check_failures_total") == recorded["failures"]
    # The lag and duration metrics are values the exporter reports, checked against the instance's
    # own timestamps; nothing here measures how fast anything ran.
    lags = _by_label(samples, "reliable_assets_freshness_lag_seconds")
    assert lags.keys() == recorded["partition_times"].keys()
    for asset, written_at in recorded["partition_times"].items():
        assert before - written_at - 1e-3 <= lags[asset] <= after - written_at + 1e-3, asset

    runs = _recorded_runs(exporter.instance)
    counts = _by_label(samples, "reliable_assets_run_duration_seconds_count")
    assert counts == {
        (job, status): float(n) for (job, status), n in Counter((j, s) for j, s, _ in runs).items()
    }
    for (job, status), _ in counts.items():
        durations = [d for j, s, d in runs if (j, s) == (job, status)]
        total = _by_label(samples, "reliable_assets_run_duration_seconds_sum")[(job, status)]
        assert total == pytest.approx(sum(durations))
        for (sample, labels), value in samples.items():
            label = dict(labels)
            if sample.endswith("_bucket") and (label["job"], label["status"]) == (job, status):
                bound = float(label["le"])
                assert value == sum(1 for d in durations if d <= bound), (job, status, bound)
    return recorded


def test_a_scrape_returns_every_metric_with_the_recorded_values(exporter: Exporter) -> None:
    """Invariant: each metric of the contract equals what the instance and warehouse recorded,
    and the world is one where each is non-trivial (dead letters pending and settled, checks
    failed)."""
    recorded = _assert_scrape_matches_the_instance(exporter)
    assert sum(recorded["dead_letters"].values()) > 0
    assert sum(recorded["failures"].values()) > 0
    assert min(recorded["materializations"].values()) > 0
    assert set(recorded["rows"].values()) != {0.0}


def test_later_runs_are_read_incrementally_and_an_old_partition_does_not_look_fresh(
    exporter: Exporter,
) -> None:
    """Invariant: after more runs (an old partition re-run, the SLA report again) the next scrape
    still equals the whole history; re-running an old day leaves the daily asset's lag alone."""
    _, first = _scrape(exporter.url)
    lag_before = _by_label(first, "reliable_assets_freshness_lag_seconds")[("raw/orders",)]
    definitions = defs()
    for keys, partition in ((["raw/orders"], SIM_DAY_LIST[0].isoformat()), (["ops/sla_report"], None)):
        outcome = execute_assets(definitions, exporter.instance, keys, "again", partition_key=partition)
        assert outcome.success
    _assert_scrape_matches_the_instance(exporter)
    _, second = _scrape(exporter.url)
    # Re-running an old day must not make the asset look fresher (a metric's value, not a speed).
    assert _by_label(second, "reliable_assets_freshness_lag_seconds")[("raw/orders",)] >= lag_before
    materializations = _by_label(second, "reliable_assets_materializations_total")
    assert (
        materializations[("raw/orders",)]
        == _by_label(first, "reliable_assets_materializations_total")[("raw/orders",)] + 1
    )


def test_every_materialization_of_the_graph_carries_its_duration(exporter: Exporter) -> None:
    """Invariant: `duration_s` (seconds, >= 0) is on every materialization of every asset."""
    for key in defs().get_repository_def().asset_graph.get_all_asset_keys():
        for record in _all_materializations(exporter.instance, key):
            assert record.asset_materialization is not None
            duration = record.asset_materialization.metadata.get("duration_s")
            assert isinstance(duration, dg.FloatMetadataValue), key
            assert duration.value is not None, key
            assert duration.value >= 0, key


def test_bad_arguments_fail_with_a_message(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Failure mode: no DAGSTER_HOME, or a port that is no port: exit 2 saying what to set."""
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    assert main(["metrics", "--port", "0"]) == 2
    assert "set DAGSTER_HOME" in capsys.readouterr().err
    with pytest.raises(SystemExit) as raised:
        main(["metrics", "--port", "70000"])
    assert raised.value.code == 2
    assert "port number from 0 to 65535" in capsys.readouterr().err
