"""The rates API server, over real HTTP on loopback, with each fault switched on."""

from datetime import date

import pytest
import requests

from reliable_assets.simulator.rates import rates_for
from reliable_assets.simulator.rates_api import Faults, RatesAPIServer, serve_rates_api


class FakeClock:
    """The server's clock for the rate limit, moved by hand so no test depends on timing."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_rates_payload_equals_rates_for() -> None:
    """A good request gets 200 with the date, base USD and exactly `rates_for(date)`."""
    with serve_rates_api() as url:
        response = requests.get(f"{url}/v1/rates", params={"date": "2024-05-17"}, timeout=5)
    assert url.startswith("http://127.0.0.1:")
    assert response.status_code == 200
    assert response.json() == {"date": "2024-05-17", "base": "USD", "rates": rates_for(date(2024, 5, 17))}


@pytest.mark.parametrize("params", [{}, {"date": "2024-13-01"}, {"date": "20240101"}, {"date": "yesterday"}])
def test_bad_or_missing_date_is_400_with_a_json_message(params: dict[str, str]) -> None:
    """A missing or malformed date is the client's fault: 400, with a JSON error saying the format."""
    with serve_rates_api() as url:
        response = requests.get(f"{url}/v1/rates", params=params, timeout=5)
    assert response.status_code == 400
    assert "YYYY-MM-DD" in response.json()["error"]


def test_token_is_required_when_configured() -> None:
    """With a token, requests without it or with a wrong one get 401; the right bearer gets 200,
    and the token appears in no response body."""
    with serve_rates_api(token="s3cret") as url:
        rates = f"{url}/v1/rates?date=2024-01-01"
        missing = requests.get(rates, timeout=5)
        wrong = requests.get(rates, headers={"Authorization": "Bearer nope"}, timeout=5)
        right = requests.get(rates, headers={"Authorization": "Bearer s3cret"}, timeout=5)
    assert (missing.status_code, wrong.status_code, right.status_code) == (401, 401, 200)
    assert missing.headers["WWW-Authenticate"] == "Bearer"
    assert all("s3cret" not in r.text for r in (missing, wrong, right))


def test_rate_limit_answers_429_with_retry_after() -> None:
    """Past N requests within one second the API answers 429 with Retry-After in seconds, and
    admits requests again once the window has passed."""
    clock = FakeClock()
    with RatesAPIServer(faults=Faults(rate_limit=2), clock=clock) as server:
        rates = f"{server.url}/v1/rates?date=2024-01-01"
        statuses = [requests.get(rates, timeout=5).status_code for _ in range(2)]
        limited = requests.get(rates, timeout=5)
        clock.now += 1.0
        after_wait = requests.get(rates, timeout=5)
    assert statuses == [200, 200]
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "1"
    assert after_wait.status_code == 200


def test_fail_rate_one_always_answers_503() -> None:
    """fail_rate=1.0 turns every rates request into a 503, and the counter sees each one."""
    with RatesAPIServer(faults=Faults(fail_rate=1.0)) as server:
        statuses = [
            requests.get(f"{server.url}/v1/rates?date=2024-01-01", timeout=5).status_code for _ in range(3)
        ]
        served = server.requests_served
    assert statuses == [503, 503, 503]
    assert served == 3
    assert server.state.statuses == {503: 3}


def test_slow_answers_still_arrive() -> None:
    """A slow answer is late but correct (the client's timeout decides whether to wait)."""
    with serve_rates_api(slow_rate=1.0, slow_seconds=0.05) as url:
        response = requests.get(f"{url}/v1/rates?date=2024-01-01", timeout=5)
    assert response.status_code == 200


def test_health_reports_the_counter_and_unknown_paths_are_404() -> None:
    """/health answers 200 with the count of rates requests served; other paths get a JSON 404."""
    with RatesAPIServer() as server:
        requests.get(f"{server.url}/v1/rates?date=2024-01-01", timeout=5)
        health = requests.get(f"{server.url}/health", timeout=5)
        unknown = requests.get(f"{server.url}/v2/other", timeout=5)
    assert health.status_code == 200
    assert health.json() == {"status": "ok", "requests_served": 1}
    assert unknown.status_code == 404
    assert "/v1/rates" in unknown.json()["error"]


def test_server_stops_when_the_block_exits() -> None:
    """Leaving the context manager shuts the server down: its port refuses connections."""
    with serve_rates_api() as url:
        pass
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/health", timeout=5)


def test_bad_fault_settings_are_refused() -> None:
    """Fault settings out of range fail at construction with a message naming the setting."""
    with pytest.raises(ValueError, match="fail_rate"):
        Faults(fail_rate=1.5)
    with pytest.raises(ValueError, match="rate_limit"):
        Faults(rate_limit=0)
