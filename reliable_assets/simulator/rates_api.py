"""The FX rates HTTP API on loopback, with faults that can be switched on.

`GET /v1/rates?date=YYYY-MM-DD` answers `{"date", "base", "rates"}` from `rates_for`;
`GET /health` answers `{"status": "ok", "requests_served": n}`. Faults, checked in this order
for each rates request: missing or wrong bearer token -> 401; more than `rate_limit` requests
within one second -> 429 with `Retry-After`; a `slow_rate` share waits `slow_seconds`; a
`fail_rate` share -> 503. Fault draws come from a seeded stream, so a client that sends its
requests one after another meets the same faults on every run.
"""

import hmac
import json
import logging
import math
import sys
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from random import Random
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from reliable_assets.simulator.rates import BASE_CURRENCY, rates_for
from reliable_assets.simulator.timefmt import parse_day

logger = logging.getLogger(__name__)

HOST = "127.0.0.1"  # loopback only: this is a test double, never a public service
DEFAULT_PORT = 8765
RATES_PATH = "/v1/rates"
ANSWERS_KEPT = 10_000  # the latest answers, for tests that check how a client paced itself


@dataclass(frozen=True)
class Faults:
    fail_rate: float = 0.0
    slow_rate: float = 0.0
    slow_seconds: float = 0.0
    rate_limit: int | None = None  # requests allowed per 1-second window
    token: str | None = field(default=None, repr=False)  # repr=False: never printed
    seed: int = 7

    def __post_init__(self) -> None:
        for name in ("fail_rate", "slow_rate"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {getattr(self, name)}")
        if self.slow_seconds < 0:
            raise ValueError(f"slow_seconds must be 0 or more, got {self.slow_seconds}")
        if self.rate_limit is not None and self.rate_limit < 1:
            raise ValueError(f"rate_limit must be at least 1, got {self.rate_limit}")


@dataclass(frozen=True)
class Reply:
    status: int
    body: dict[str, object]
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering (slow fault)


@dataclass(frozen=True)
class Answered:
    at: float  # the state's clock (monotonic seconds) at arrival
    status: int
    retry_after_s: float | None


class RatesAPIState:
    """What the server decides for each request; shared by the handler threads under a lock."""

    def __init__(self, faults: Faults, clock: Callable[[], float] = time.monotonic) -> None:
        self.faults = faults
        self._clock = clock
        self._lock = threading.Lock()
        self._rng = Random(faults.seed)  # noqa: S311 (fault injection, not security)
        self._window: deque[float] = deque()
        self._served = 0
        self._statuses: Counter[int] = Counter()
        self._log: deque[Answered] = deque(maxlen=ANSWERS_KEPT)

    @property
    def requests_served(self) -> int:
        """Rates requests answered, whatever the answer (lets tests see retries happen)."""
        with self._lock:
            return self._served

    @property
    def statuses(self) -> dict[int, int]:
        """How many rates requests got each status code."""
        with self._lock:
            return dict(self._statuses)

    @property
    def answered(self) -> list["Answered"]:
        """The latest rates requests in arrival order: when, what status, what `Retry-After`."""
        with self._lock:
            return list(self._log)

    def rates_reply(self, query: str, authorization: str | None) -> Reply:
        with self._lock:
            reply = self._decide(query, authorization)
            self._served += 1
            self._statuses[reply.status] += 1
            retry_after = reply.headers.get("Retry-After")
            self._log.append(
                Answered(self._clock(), reply.status, float(retry_after) if retry_after else None)
            )
            return reply

    def _decide(self, query: str, authorization: str | None) -> Reply:
        token = self.faults.token
        if token and not hmac.compare_digest((authorization or "").encode(), f"Bearer {token}".encode()):
            return Reply(401, {"error": "missing or wrong bearer token"}, {"WWW-Authenticate": "Bearer"})
        limited = self._rate_limited()
        if limited is not None:
            return limited
        # Both draws happen on every admitted request so the fault sequence depends on the
        # seed and the request count alone.
        slow, fail = self._rng.random() < self.faults.slow_rate, self._rng.random() < self.faults.fail_rate
        delay = self.faults.slow_seconds if slow else 0.0
        if fail:
            return Reply(503, {"error": "injected fault: service unavailable, try again"}, delay=delay)
        values = parse_qs(query).get("date", [])
        if len(values) != 1:
            return Reply(400, {"error": "give exactly one query parameter date=YYYY-MM-DD"}, delay=delay)
        try:
            day = parse_day(values[0])
        except ValueError as error:
            return Reply(400, {"error": f"bad date parameter: {error}"}, delay=delay)
        body: dict[str, object] = {"date": day.isoformat(), "base": BASE_CURRENCY, "rates": rates_for(day)}
        return Reply(200, body, delay=delay)

    def _rate_limited(self) -> Reply | None:
        limit = self.faults.rate_limit
        if limit is None:
            return None
        now = self._clock()
        while self._window and self._window[0] <= now - 1.0:
            self._window.popleft()
        if len(self._window) >= limit:
            wait = max(1, math.ceil(self._window[0] + 1.0 - now))
            return Reply(
                429,
                {"error": f"rate limit of {limit} requests per second exceeded"},
                {"Retry-After": str(wait)},
            )
        self._window.append(now)
        return None


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a slow answer must not hold up shutdown

    def __init__(self, port: int, state: RatesAPIState) -> None:
        super().__init__((HOST, port), _Handler)
        self.state = state

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that timed out during a slow answer closed its socket: normal here, not a bug.
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError):
            logger.info("client %s went away before the answer: %s", client_address, type(error).__name__)
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path == "/health":
            reply = Reply(200, {"status": "ok", "requests_served": self.server.state.requests_served})
        elif url.path == RATES_PATH:
            reply = self.server.state.rates_reply(url.query, self.headers.get("Authorization"))
        else:
            reply = Reply(404, {"error": f"no such path; use {RATES_PATH}?date=YYYY-MM-DD or /health"})
        if reply.delay:
            time.sleep(reply.delay)
        payload = json.dumps(reply.body, sort_keys=True).encode()
        self.send_response(reply.status, HTTPStatus(reply.status).phrase)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: object) -> None:
        # The request line holds the path and query only; headers (the token) are never logged.
        logger.info("%s %s", self.address_string(), format % args)


class RatesAPIServer:
    """The API in a background thread: `with RatesAPIServer(...) as server: server.url`."""

    def __init__(
        self, port: int = 0, faults: Faults | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.state = RatesAPIState(faults or Faults(), clock)
        self._server = _Server(port, self.state)
        # A short poll interval makes `stop()` quick; the loop idles between polls.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="rates-api", daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def requests_served(self) -> int:
        return self.state.requests_served

    def start(self) -> "RatesAPIServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def __enter__(self) -> "RatesAPIServer":
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


@contextmanager
def serve_rates_api(
    port: int = 0,
    *,
    fail_rate: float = 0.0,
    rate_limit: int | None = None,
    token: str | None = None,
    slow_rate: float = 0.0,
    slow_seconds: float = 0.0,
    seed: int = 7,
) -> Iterator[str]:
    """Run the API in a thread for the block; yields its base URL, e.g. `http://127.0.0.1:54321`.

    Use `RatesAPIServer` instead when the request counter is needed.
    """
    faults = Faults(fail_rate, slow_rate, slow_seconds, rate_limit, token, seed)
    with RatesAPIServer(port, faults) as server:
        yield server.url
