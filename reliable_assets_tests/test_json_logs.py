"""`RELIABLE_ASSETS_LOG_FORMAT=json`: a whole run's console output is one JSON object per line."""

import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from reliable_assets import log_format
from reliable_assets.definitions import defs
from reliable_assets.setting_errors import InvalidSettingError
from reliable_assets.simulator.rates_api import serve_rates_api
from reliable_assets_tests.conftest import SIM_START

DAGSTER_CLI = str(Path(sys.executable).parent / "dagster")
ASSETS = ["raw/orders", "raw/events", "raw/fx_rates"]


def _materialize_in_cli(
    home: Path, rates_url: str, extra_env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = {**os.environ, "DAGSTER_HOME": str(home), "RATES_API_URL": rates_url, **extra_env}
    env.pop("DAGSTER_DEPLOYMENT", None)
    return subprocess.run(
        [
            *(DAGSTER_CLI, "asset", "materialize", "-m", "reliable_assets.definitions"),
            *("--select", ",".join(ASSETS), "--partition", SIM_START.isoformat()),
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=300,
    )


def test_json_switch_turns_a_whole_cli_run_into_json_lines(simulated: Path, tmp_path: Path) -> None:
    """Every line the run prints (Dagster's events, the project's own loggers) parses as JSON and
    carries the run's context; the counts equal what Dagster recorded on the materialization."""
    # A flaky rates API (seed 9: the first request fails, the second succeeds), so the project's
    # HTTP client logs a retry through its `reliable_assets.*` logger.
    with serve_rates_api(port=0, fail_rate=0.5, seed=9) as rates_url:
        # Dagster's CLI warns that `asset materialize` is superseded before it loads the project,
        # so before the switch can act: the README says to silence it the same way.
        done = _materialize_in_cli(
            tmp_path / "home",
            rates_url,
            {log_format.LOG_FORMAT_ENV_VAR: "json", "PYTHONWARNINGS": "ignore::FutureWarning"},
        )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    parsed: list[dict[str, Any]] = []
    for line in lines:
        try:
            parsed.append(json.loads(line))
        except json.JSONDecodeError:
            pytest.fail(f"not a JSON line: {line!r}")
    assert all({"timestamp", "level", "logger", "message"} <= set(entry) for entry in parsed)

    with dg.DagsterInstance.from_config(str(tmp_path / "home")) as instance:
        (run,) = instance.get_runs()
        recorded = {
            key: instance.fetch_materializations(dg.AssetKey.from_user_string(key), limit=1).records[0]
            for key in ASSETS
        }
    run_lines = [entry for entry in parsed if "run_id" in entry]
    assert {entry["run_id"] for entry in run_lines} == {run.run_id}
    assert {entry["job"] for entry in run_lines} == {run.job_name}
    events = {entry.get("event") for entry in run_lines}
    assert {"RUN_START", "STEP_START", "ASSET_MATERIALIZATION", "STEP_SUCCESS", "RUN_SUCCESS"} <= events
    materialized = {
        entry["asset"]: entry for entry in run_lines if entry.get("event") == "ASSET_MATERIALIZATION"
    }
    assert set(materialized) == set(ASSETS)
    for key, entry in materialized.items():
        assert entry["partition"] == SIM_START.isoformat()
        assert entry["step"] == key.replace("/", "__")
        materialization = recorded[key].asset_materialization
        assert materialization is not None
        assert entry["counts"]["row_count"] == materialization.metadata["row_count"].value
    retries = [entry for entry in parsed if entry["logger"] == "reliable_assets.toolkit.http_client"]
    assert retries, "the flaky rates API made the HTTP client log its retries"
    assert all(entry["level"] == "WARNING" and "retrying" in entry["message"] for entry in retries)


def test_text_is_the_default_and_leaves_dagster_and_project_loggers_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Unset or `text`: no logger of our own, no handler added, Dagster's console as it ships."""
    project_handlers = list(logging.getLogger(log_format.PROJECT_LOGGER).handlers)
    for value in (None, "text", " TEXT "):
        if value is None:
            monkeypatch.delenv(log_format.LOG_FORMAT_ENV_VAR, raising=False)
        else:
            monkeypatch.setenv(log_format.LOG_FORMAT_ENV_VAR, value)
        assert defs().loggers == {}
        assert log_format.log_format() == "text"
    assert logging.getLogger(log_format.PROJECT_LOGGER).handlers == project_handlers
    assert dg.default_loggers() == {"console": dg.colored_console_logger}


def test_an_unknown_log_format_fails_the_load_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(log_format.LOG_FORMAT_ENV_VAR, "yaml")
    with pytest.raises(InvalidSettingError, match=r"RELIABLE_ASSETS_LOG_FORMAT='yaml'.*'json'.*'text'"):
        defs()
