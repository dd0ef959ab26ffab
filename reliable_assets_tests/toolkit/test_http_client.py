"""The retrying JSON GET, against the real rates API server with faults switched on.

The client is injected a `sleep` that records the waits (and moves the server's rate-limit clock)
instead of sleeping, so retries are observed without any test depending on timing.
"""

import random
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from reliable_assets.simulator.rates import rates_for
from reliable_assets.simulator.rates_api import Faults, RatesAPIServer
from reliable_assets.toolkit.http_client import (
    PermanentHTTPError,
    TransientHTTPError,
    backoff_delay,
    get_json,
    parse_retry_after,
)

DAY = {"date": "2024-01-01"}


class FakeTime:
    """A clock the server reads and a `sleep` the client calls: sleeping only moves the clock."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.waits: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, delay: float) -> None:
        self.waits.append(delay)
        self.now += delay


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


def _rates_url(server: RatesAPIServer) -> str:
    return f"{server.url}/v1/rates"


def test_recovers_from_a_flaky_server_by_retrying(fake_time: FakeTime) -> None:
    """With half the requests failing (seeded: the first three fail), the call still returns the
    payload, after more than one request, with one backoff wait per failed attempt."""
    with RatesAPIServer(faults=Faults(fail_rate=0.5, seed=7)) as server:
        payload = get_json(_rates_url(server), params=DAY, sleep=fake_time.sleep, rng=random.Random(1))
        served = server.requests_served
    assert payload["rates"] == rates_for(date(2024, 1, 1))
    assert served > 1
    assert len(fake_time.waits) == served - 1
    # Full jitter: attempt n waits somewhere in [0, base_delay * 2**(n-1)].
    assert all(0 <= wait <= 0.2 * 2**n for n, wait in enumerate(fake_time.waits))


def test_honours_retry_after_on_429(fake_time: FakeTime) -> None:
    """A 429 is retried after exactly the Retry-After the server sent, not a backoff guess."""
    with RatesAPIServer(faults=Faults(rate_limit=1), clock=fake_time.clock) as server:
        get_json(_rates_url(server), params=DAY, sleep=fake_time.sleep)  # uses up this second
        payload = get_json(_rates_url(server), params=DAY, sleep=fake_time.sleep)
        statuses = server.state.statuses
    assert payload["date"] == "2024-01-01"
    assert fake_time.waits == [1.0]
    assert statuses == {200: 2, 429: 1}


def test_401_fails_at_once_with_the_callers_hint_and_no_token(fake_time: FakeTime) -> None:
    """An auth failure is permanent: one request, no wait, a message carrying the caller's hint,
    and the token sent appears nowhere in the error."""
    with RatesAPIServer(faults=Faults(token="right-token")) as server:
        with pytest.raises(PermanentHTTPError) as error:
            get_json(
                _rates_url(server),
                params=DAY,
                token="wrong-token",
                hints={401: "set RATES_API_TOKEN"},
                sleep=fake_time.sleep,
            )
        served = server.requests_served
    assert served == 1
    assert fake_time.waits == []
    assert error.value.status == 401
    assert error.value.attempts == 1
    assert "set RATES_API_TOKEN" in str(error.value)
    assert "wrong-token" not in str(error.value)
    assert "right-token" not in str(error.value)


def test_other_4xx_fail_at_once(fake_time: FakeTime) -> None:
    """A 400 (bad parameter) or 404 (bad path) is never retried: repeating it cannot help."""
    with RatesAPIServer() as server:
        with pytest.raises(PermanentHTTPError, match=r"HTTP 400.*check the request parameters"):
            get_json(_rates_url(server), params={"date": "someday"}, sleep=fake_time.sleep)
        with pytest.raises(PermanentHTTPError, match=r"HTTP 404.*check the URL"):
            get_json(f"{server.url}/v9/nothing", sleep=fake_time.sleep)
        served = server.requests_served
    assert served == 1  # the counter counts rates requests; the 404 went elsewhere
    assert fake_time.waits == []


def test_exhausted_retries_raise_transient_error(fake_time: FakeTime) -> None:
    """When every attempt fails transiently the call gives up after max_attempts, saying how many
    attempts were made and what the last fault was."""
    with RatesAPIServer(faults=Faults(fail_rate=1.0)) as server:
        with pytest.raises(TransientHTTPError) as error:
            get_json(_rates_url(server), params=DAY, max_attempts=3, sleep=fake_time.sleep)
        served = server.requests_served
    assert served == 3
    assert len(fake_time.waits) == 2
    assert error.value.attempts == 3
    assert error.value.status == 503
    assert "after 3 attempt(s)" in str(error.value)
    assert "HTTP 503" in str(error.value)


def test_connection_refused_is_transient(fake_time: FakeTime) -> None:
    """Nothing listening is a transient fault (the server may be starting): retried, then reported."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(TransientHTTPError, match="connection failed"):
        get_json(f"http://127.0.0.1:{port}/v1/rates", max_attempts=2, sleep=fake_time.sleep)
    assert len(fake_time.waits) == 1


def test_timeout_is_transient(fake_time: FakeTime) -> None:
    """An answer slower than the timeout counts as a transient fault and is retried."""
    with (
        RatesAPIServer(faults=Faults(slow_rate=1.0, slow_seconds=0.5)) as server,
        pytest.raises(TransientHTTPError, match="no answer within"),
    ):
        get_json(_rates_url(server), params=DAY, timeout=0.05, max_attempts=2, sleep=fake_time.sleep)
    assert len(fake_time.waits) == 1


@pytest.fixture
def not_json_url() -> Iterator[str]:
    """A real HTTP server that answers 200 with a body that is not JSON."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b"<html>maintenance page</html>"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_invalid_json_is_permanent(not_json_url: str, fake_time: FakeTime) -> None:
    """A 200 whose body is not JSON is raised at once (a wrong URL or a proxy page), not retried."""
    with pytest.raises(PermanentHTTPError, match=r"not JSON.*maintenance page"):
        get_json(not_json_url, sleep=fake_time.sleep)
    assert fake_time.waits == []


def test_backoff_is_bounded_full_jitter() -> None:
    """Each backoff is uniform between 0 and min(max_delay, base * 2**(attempt-1))."""
    rng = random.Random(3)
    for attempt in range(1, 12):
        cap = min(10.0, 0.2 * 2 ** (attempt - 1))
        assert all(0 <= backoff_delay(attempt, 0.2, 10.0, rng) <= cap for _ in range(50))


def test_retry_after_reads_seconds_and_http_dates() -> None:
    """Retry-After comes as delta-seconds or an HTTP-date; unreadable values mean 'no advice'."""
    now = datetime(2024, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("Mon, 01 Jan 2024 12:00:30 GMT", now=now) == 30.0
    assert parse_retry_after("Mon, 01 Jan 2024 11:00:00 GMT", now=now) == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_retry_after_beyond_the_limit_is_not_waited(fake_time: FakeTime) -> None:
    """A Retry-After longer than max_retry_after ends the call at once as a transient error,
    instead of blocking a run for longer than the caller allows."""
    with RatesAPIServer(faults=Faults(rate_limit=1), clock=fake_time.clock) as server:
        get_json(_rates_url(server), params=DAY, sleep=fake_time.sleep)
        with pytest.raises(TransientHTTPError, match="asked to wait 1s"):
            get_json(_rates_url(server), params=DAY, max_retry_after=0.5, sleep=fake_time.sleep)
    assert fake_time.waits == []
