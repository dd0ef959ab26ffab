"""The `reliable-assets` console script: arguments in, files and exit codes out."""

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from reliable_assets.cli import main


def test_simulate_writes_the_data_and_prints_a_summary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`simulate` writes into RELIABLE_ASSETS_DATA_DIR, records its arguments in the manifest and
    prints where everything went."""
    monkeypatch.setenv("RELIABLE_ASSETS_DATA_DIR", str(tmp_path))
    code = main(
        [
            "simulate",
            "--start",
            "2024-02-28",
            "--days",
            "2",
            "--orders-per-day",
            "5",
            "--events-per-day",
            "30",
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert str(tmp_path / "source.sqlite") in out
    assert "orders: 10" in out
    manifest = json.loads((tmp_path / "simulation_manifest.json").read_text())
    assert manifest["args"] == {
        "start": "2024-02-28",
        "days": 2,
        "seed": 7,
        "orders_per_day": 5,
        "events_per_day": 30,
        "bad_rate": 0.0,
        "late_rate": 0.05,
    }
    assert (tmp_path / "landing" / "events" / "2024-02-29").is_dir()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["simulate", "--start", "2024-02-30", "--days", "1"], "--start: expected a date as YYYY-MM-DD"),
        (["simulate", "--start", "20240101", "--days", "1"], "--start: expected a date as YYYY-MM-DD"),
        (["simulate", "--start", "2024-01-01", "--days", "0"], "--days: must be at least 1"),
        (["simulate", "--start", "2024-01-01", "--days", "x"], "--days: expected a whole number"),
        (["simulate", "--days", "1"], "--start"),
        (
            ["simulate", "--start", "2024-01-01", "--days", "1", "--bad-rate", "1.5"],
            "--bad-rate: must be between 0 and 1",
        ),
        (
            ["simulate", "--start", "2024-01-01", "--days", "1", "--late-rate", "-0.1"],
            "--late-rate: must be between 0 and 1",
        ),
        (["rates-api", "--port", "70000"], "--port: must be a port number"),
        (["rates-api", "--fail-rate", "2"], "--fail-rate: must be between 0 and 1"),
        (["rates-api", "--rate-limit", "0"], "--rate-limit: must be at least 1"),
        ([], "COMMAND"),
    ],
)
def test_bad_arguments_exit_2_with_a_message(
    args: list[str],
    message: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Invalid arguments stop before anything is written, with exit code 2 and a message that
    names the argument and what it must be."""
    monkeypatch.setenv("RELIABLE_ASSETS_DATA_DIR", str(tmp_path))
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_rates_api_command_serves_until_sigterm() -> None:
    """`reliable-assets rates-api --port 0` prints its URL, serves on loopback, keeps the token out
    of its output, and exits 0 on SIGTERM (how `make dev` stops it)."""
    env = {**os.environ, "RATES_API_TOKEN": "cli-secret"}
    command = [sys.executable, "-m", "reliable_assets.cli", "rates-api", "--port", "0"]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    ) as process:
        try:
            first_line = process.stdout.readline() if process.stdout else ""
            url = re.search(r"http://127\.0\.0\.1:\d+", first_line)
            assert url, first_line
            unauthorized = requests.get(f"{url.group()}/v1/rates?date=2024-01-01", timeout=5)
            authorized = requests.get(
                f"{url.group()}/v1/rates?date=2024-01-01",
                headers={"Authorization": "Bearer cli-secret"},
                timeout=5,
            )
        finally:
            process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=10)
    assert (unauthorized.status_code, authorized.status_code) == (401, 200)
    assert process.returncode == 0
    assert "rates API stopped" in out
    assert "cli-secret" not in first_line + out + err
