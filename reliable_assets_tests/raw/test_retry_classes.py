"""Issue 11: retried only where a retry helps, shown by injecting the faults into real runs.

The rates API is the real server (reliable_assets/simulator/rates_api.py) with its faults on; the
runs are the project's own asset jobs in process (`execute_assets`), so step retries, their waits
and the failure messages are Dagster's own. A code bug is injected by patching the resource
method the asset calls — nothing else can make correct code divide by zero.
"""

import itertools
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import requests

from reliable_assets.definitions import defs
from reliable_assets.graph_runs import execute_assets
from reliable_assets.raw.resources import RatesApi
from reliable_assets.settings import InvalidSettingError
from reliable_assets.simulator.rates_api import Faults, RatesAPIServer
from reliable_assets.toolkit.http_client import TransientHTTPError
from reliable_assets.toolkit.partition_days import RANGE_END_TAG, RANGE_START_TAG
from reliable_assets.toolkit.retries import MAX_STEP_WAIT_S, STEP_ATTEMPT_METADATA, retried_if_transient

FIRST = date(2024, 3, 1)
DAYS = 14
LAST = FIRST + timedelta(days=DAYS - 1)
FOURTEEN_DAYS = {RANGE_START_TAG: FIRST.isoformat(), RANGE_END_TAG: LAST.isoformat()}
# Arrival times are the server's, the wait the client's: allow for the scheduler, not more.
CLOCK_SLACK_S = 0.05


def _events(instance: dg.DagsterInstance, run_id: str, kind: dg.DagsterEventType) -> list[dg.EventLogRecord]:
    return list(instance.get_records_for_run(run_id, of_type=kind).records)


def _fx_metadata(instance: dg.DagsterInstance) -> dict[str, Any]:
    event = instance.get_latest_materialization_event(dg.AssetKey(["raw", "fx_rates"]))
    assert event is not None
    assert event.asset_materialization is not None
    return {name: value.value for name, value in event.asset_materialization.metadata.items()}


def test_a_14_day_backfill_rides_out_5xx_and_429s_and_waits_as_told(
    data_dir: Path, instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    """30 % of answers 503 and a server limit (2/s) below the client's pace (10/s): every day
    loads, the retries are in the metadata, and no request came before its Retry-After ran out."""
    with RatesAPIServer(0, Faults(fail_rate=0.3, rate_limit=2, seed=11)) as server:
        monkeypatch.setenv("RATES_API_URL", server.url)
        outcome = execute_assets(defs(), instance, ["raw/fx_rates"], "fx", FOURTEEN_DAYS, log_level="WARNING")
        answered = server.state.answered
    assert outcome.success
    materialized = instance.get_materialized_partitions(dg.AssetKey(["raw", "fx_rates"]))
    assert materialized == {(FIRST + timedelta(days=n)).isoformat() for n in range(DAYS)}
    statuses = [a.status for a in answered]
    assert statuses.count(503) >= 1, statuses
    assert statuses.count(429) >= 1, statuses
    assert statuses.count(200) >= DAYS
    metadata = _fx_metadata(instance)
    refused = len(statuses) - statuses.count(200)
    if metadata[STEP_ATTEMPT_METADATA] == 1:  # the client alone rode it out: it counted every fault
        assert (metadata["http_retries"], metadata["http_429s"]) == (refused, statuses.count(429))
    else:  # a day ran out of client attempts; the step's last attempt counts its own faults
        assert 0 < metadata["http_retries"] <= refused
    assert metadata["http_retry_wait_s"] > 0
    for limited, following in itertools.pairwise(answered):
        if limited.status == 429:
            assert limited.retry_after_s is not None
            assert following.at - limited.at >= limited.retry_after_s - CLOCK_SLACK_S, (limited, following)


def test_under_the_apis_limit_the_client_never_meets_a_429(
    data_dir: Path, instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The client-side rate (RATES_API_REQUESTS_PER_SECOND=4) keeps a backfill under a limit of
    5/s: 14 days, 14 requests, not one refused."""
    monkeypatch.setenv("RATES_API_REQUESTS_PER_SECOND", "4")
    with RatesAPIServer(0, Faults(rate_limit=5)) as server:
        monkeypatch.setenv("RATES_API_URL", server.url)
        outcome = execute_assets(defs(), instance, ["raw/fx_rates"], "fx", FOURTEEN_DAYS, log_level="WARNING")
        answered = server.state.answered
    assert outcome.success
    assert [a.status for a in answered] == [200] * DAYS
    assert _fx_metadata(instance)["http_retries"] == 0


def test_a_code_bug_fails_after_one_attempt_with_no_retry(
    data_dir: Path, instance: dg.DagsterInstance, rates_api: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def divide_by_zero(self: RatesApi, day: date, on_retry: Any = None) -> dict[str, float]:
        return {"EUR": 1 / 0}

    monkeypatch.setattr(RatesApi, "rates_for", divide_by_zero)
    outcome = execute_assets(defs(), instance, ["raw/fx_rates"], "fx", partition_key=FIRST.isoformat())
    assert not outcome.success
    assert len(_events(instance, outcome.run_id, dg.DagsterEventType.STEP_START)) == 1
    assert not _events(instance, outcome.run_id, dg.DagsterEventType.STEP_UP_FOR_RETRY)
    (failure,) = _events(instance, outcome.run_id, dg.DagsterEventType.STEP_FAILURE)
    message = str(failure.event_log_entry.dagster_event)
    assert "ZeroDivisionError" in message, message
    assert "Not retried" in message, message


def test_a_dropped_connection_is_retried_by_the_step_and_the_attempt_recorded(
    data_dir: Path, instance: dg.DagsterInstance, rates_api: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every request of the first attempt dies with a refused connection (the client's own five
    tries included); the step is retried once, after a wait, and its output says attempt 2."""
    real = RatesApi.rates_for
    calls: list[date] = []

    def refused_on_the_first_call(self: RatesApi, day: date, on_retry: Any = None) -> dict[str, float]:
        calls.append(day)
        if len(calls) == 1:
            raise requests.ConnectionError("injected: connection refused")
        return real(self, day, on_retry)

    monkeypatch.setattr(RatesApi, "rates_for", refused_on_the_first_call)
    outcome = execute_assets(defs(), instance, ["raw/fx_rates"], "fx", partition_key=FIRST.isoformat())
    assert outcome.success
    assert len(_events(instance, outcome.run_id, dg.DagsterEventType.STEP_UP_FOR_RETRY)) == 1
    assert _fx_metadata(instance)[STEP_ATTEMPT_METADATA] == 2


def _flaky_asset(retry_after_s: float) -> dg.AssetsDefinition:
    """An asset whose first attempt meets an API that gave up asking for `retry_after_s` seconds."""
    attempts: list[int] = []

    @dg.asset
    @retried_if_transient
    def flaky(context: dg.AssetExecutionContext) -> dg.Output[int]:
        attempts.append(context.retry_number)
        if len(attempts) == 1:
            raise TransientHTTPError("HTTP 429", url="u", attempts=5, status=429, retry_after=retry_after_s)
        return dg.Output(len(attempts))

    return flaky


def test_the_step_retry_waits_at_least_what_the_server_asked() -> None:
    result = dg.materialize([_flaky_asset(1.2)])
    assert result.success
    (retry,) = result.filter_events(lambda event: event.event_type == dg.DagsterEventType.STEP_UP_FOR_RETRY)
    waited = retry.step_retry_data.seconds_to_wait
    assert waited is not None
    assert waited >= 1.2


def test_a_wait_longer_than_a_step_holds_its_slot_fails_saying_when_to_rerun() -> None:
    result = dg.materialize([_flaky_asset(MAX_STEP_WAIT_S + 1)], raise_on_error=False)
    assert not result.success
    assert not result.filter_events(lambda event: event.event_type == dg.DagsterEventType.STEP_UP_FOR_RETRY)
    error = result.get_step_failure_events()[0].step_failure_data.error
    assert error is not None
    assert "asked to wait" in error.to_string()


@pytest.mark.parametrize("value", ["fast", "0", "-3"])
def test_a_pace_that_is_not_a_positive_number_fails_the_load_naming_the_variable(
    value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RATES_API_REQUESTS_PER_SECOND", value)
    with pytest.raises(InvalidSettingError, match=f"RATES_API_REQUESTS_PER_SECOND='{value}'"):
        defs()
