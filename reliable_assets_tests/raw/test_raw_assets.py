"""Raw assets against the real rates API server with its faults switched on, and missing landings."""

from pathlib import Path

import dagster as dg
import pytest

from reliable_assets.definitions import defs
from reliable_assets.graph_runs import execute_assets
from reliable_assets.simulator.rates_api import Faults, RatesAPIServer
from reliable_assets.simulator.run import simulate
from reliable_assets_tests.conftest import SIM_DAY_LIST, small_simulation

DAY = SIM_DAY_LIST[0].isoformat()


def _events_of(
    instance: dg.DagsterInstance, run_id: str, kind: dg.DagsterEventType
) -> list[dg.EventLogRecord]:
    return list(instance.get_records_for_run(run_id, of_type=kind).records)


def test_fx_rates_ride_out_a_flaky_api(
    data_dir: Path, instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Guarantee 5: with half the answers 503, the client's bounded backoff still gets the day's rates."""
    # Seed 4: the first answer is a 503.
    with RatesAPIServer(0, Faults(fail_rate=0.5, seed=4)) as server:
        monkeypatch.setenv("RATES_API_URL", server.url)
        outcome = execute_assets(defs(), instance, ["raw/fx_rates"], "fx", partition_key=DAY)
        assert outcome.success
        assert server.requests_served > 1
        assert server.state.statuses.get(503, 0) >= 1


def test_a_rejected_token_fails_at_once_and_says_what_to_fix(
    data_dir: Path,
    instance: dg.DagsterInstance,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    """A 401 is permanent: one request, no step retry, the message names RATES_API_TOKEN, and
    neither token appears in the run's events or anything printed."""
    with RatesAPIServer(0, Faults(token="s3cret-token")) as server:
        monkeypatch.setenv("RATES_API_URL", server.url)
        monkeypatch.setenv("RATES_API_TOKEN", "wrong-token")
        outcome = execute_assets(defs(), instance, ["raw/fx_rates"], "fx", partition_key=DAY)
        assert not outcome.success
        assert server.requests_served == 1
    failures = _events_of(instance, outcome.run_id, dg.DagsterEventType.STEP_FAILURE)
    assert len(failures) == 1
    message = str(failures[0].event_log_entry.dagster_event)
    assert "RATES_API_TOKEN" in message
    assert "wrong-token" not in message
    assert not _events_of(instance, outcome.run_id, dg.DagsterEventType.STEP_UP_FOR_RETRY)
    printed = capfd.readouterr()
    logged = [str(entry) for entry in instance.all_logs(outcome.run_id)]
    for secret in ("s3cret-token", "wrong-token"):
        assert secret not in printed.out + printed.err
        assert not [entry for entry in logged if secret in entry]


def test_events_without_landing_files_fail_with_a_clear_message(
    data_dir: Path, instance: dg.DagsterInstance
) -> None:
    """A day whose files have not landed fails (no silent empty partition) and says where it looked."""
    simulate(small_simulation())
    missing_day = "2024-02-01"
    outcome = execute_assets(defs(), instance, ["raw/events"], "events", partition_key=missing_day)
    assert not outcome.success
    failures = _events_of(instance, outcome.run_id, dg.DagsterEventType.STEP_FAILURE)
    assert f"No landing files under events/{missing_day}/" in str(failures[0].event_log_entry.dagster_event)
    assert not (data_dir / "lake" / "raw" / "events" / f"{missing_day}.parquet").exists()
