"""A retrying JSON GET that tells transient faults from permanent ones.

Transient faults (connection errors, timeouts, 408, 429, 5xx) are retried with exponential
backoff and full jitter, bounded by `max_attempts`; a 429's `Retry-After` sets the wait. Permanent
faults (other 4xx, a body that is not JSON) raise at once, since repeating the same request cannot
fix them. The bearer token is sent in a header and never appears in a message or a log line.
"""

import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import requests

logger = logging.getLogger(__name__)

TRANSIENT_STATUSES = frozenset({408, 429})
DEFAULT_HINTS: Mapping[int, str] = {
    400: "check the request parameters",
    401: "check the credentials",
    403: "check that the credentials grant access to this resource",
    404: "check the URL",
}


class HTTPClientError(Exception):
    """A GET that did not produce JSON; `status` is the last HTTP status, if any."""

    def __init__(
        self, message: str, *, url: str, attempts: int, status: int | None, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.url = url
        self.attempts = attempts
        self.status = status
        self.retry_after = retry_after  # the last answer's Retry-After, in seconds


class TransientHTTPError(HTTPClientError):
    """Every attempt met a transient fault: a later try (or a run retry) may succeed."""


class PermanentHTTPError(HTTPClientError):
    """The request itself is wrong: retrying cannot help; the message says what to fix."""


@dataclass(frozen=True)
class RetriedFault:
    """One transient fault the client waited out: its status (None: no answer), the server's
    `Retry-After` if it gave one, and the wait before the next attempt."""

    status: int | None
    retry_after_s: float | None
    waited_s: float


class _TransientFaultError(Exception):
    def __init__(self, reason: str, status: int | None = None, wait: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.wait = wait


def backoff_delay(attempt: int, base_delay: float, max_delay: float, rng: random.Random) -> float:
    """Full jitter: uniform in [0, min(max_delay, base_delay * 2**(attempt - 1))]."""
    return rng.uniform(0.0, min(max_delay, base_delay * 2 ** (attempt - 1)))


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header (delta-seconds or HTTP-date); None if absent
    or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (moment - (now or datetime.now(UTC))).total_seconds())


def get_json(
    url: str,
    *,
    params: Mapping[str, str] | None = None,
    token: str | None = None,
    timeout: float = 10.0,
    max_attempts: int = 5,
    base_delay: float = 0.2,
    max_delay: float = 10.0,
    max_retry_after: float = 60.0,
    hints: Mapping[int, str] | None = None,
    session: requests.Session | None = None,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
    before_attempt: Callable[[], object] | None = None,
    on_retry: Callable[["RetriedFault"], None] | None = None,
) -> Any:
    """GET `url` and return its JSON body, retrying transient faults.

    `hints` maps a status to what the caller should fix (e.g. `{401: "set API_TOKEN"}`); it is
    added to the `PermanentHTTPError` message, over the generic hints. A `Retry-After` longer than
    `max_retry_after` is not waited for: the call fails with `TransientHTTPError` instead.
    `before_attempt` runs before every request (a rate limiter's wait); `on_retry` hears of each
    retried fault before its wait (the caller's counts for metadata).
    """
    if max_attempts < 1:
        raise ValueError(f"max_attempts must be at least 1, got {max_attempts}")
    rng = rng or random.Random()  # noqa: S311 (jitter, not security)
    headers = {"Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    all_hints = {**DEFAULT_HINTS, **(hints or {})}
    own_session = session is None
    http = session or requests.Session()
    try:
        for attempt in range(1, max_attempts + 1):
            if before_attempt is not None:
                before_attempt()
            try:
                return _attempt(
                    http,
                    url,
                    params=params,
                    headers=headers,
                    timeout=timeout,
                    attempt=attempt,
                    hints=all_hints,
                    secret=token,
                )
            except _TransientFaultError as retry:
                if retry.wait is not None and retry.wait > max_retry_after:
                    raise TransientHTTPError(
                        f"GET {url}: {retry.reason}; the server asked to wait {retry.wait:.0f}s,"
                        f" more than max_retry_after={max_retry_after:.0f}s (after {attempt} attempt(s))",
                        url=url,
                        attempts=attempt,
                        status=retry.status,
                        retry_after=retry.wait,
                    ) from None
                if attempt == max_attempts:
                    raise TransientHTTPError(
                        f"GET {url} failed after {attempt} attempt(s), every one with a transient fault;"
                        f" last: {retry.reason}. The service may be down or overloaded: try again later"
                        " or raise max_attempts",
                        url=url,
                        attempts=attempt,
                        status=retry.status,
                        retry_after=retry.wait,
                    ) from None
                delay = (
                    retry.wait
                    if retry.wait is not None
                    else backoff_delay(attempt, base_delay, max_delay, rng)
                )
                if on_retry is not None:
                    on_retry(RetriedFault(retry.status, retry.wait, delay))
                logger.warning(
                    "GET %s: %s (attempt %d of %d), retrying in %.2fs",
                    url,
                    retry.reason,
                    attempt,
                    max_attempts,
                    delay,
                )
                sleep(delay)
    finally:
        if own_session:
            http.close()
    raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover


def _attempt(
    http: requests.Session,
    url: str,
    *,
    params: Mapping[str, str] | None,
    headers: Mapping[str, str],
    timeout: float,
    attempt: int,
    hints: Mapping[int, str],
    secret: str | None,
) -> Any:
    try:
        response = http.get(url, params=params, headers=headers, timeout=timeout)
    except requests.Timeout:
        raise _TransientFaultError(f"no answer within {timeout}s") from None
    except requests.ConnectionError as error:
        raise _TransientFaultError(f"connection failed ({type(error).__name__})") from None
    status = response.status_code
    if status in TRANSIENT_STATUSES or status >= 500:
        wait = parse_retry_after(response.headers.get("Retry-After")) if status == 429 else None
        raise _TransientFaultError(f"HTTP {status} {response.reason}", status=status, wait=wait)
    if status >= 400:
        hint = hints.get(status, "check the request")
        raise PermanentHTTPError(
            f"GET {url} returned HTTP {status} {response.reason}: {_snippet(response.text, secret)}; {hint}",
            url=url,
            attempts=attempt,
            status=status,
        )
    try:
        return response.json()
    except requests.JSONDecodeError:
        raise PermanentHTTPError(
            f"GET {url} returned HTTP {status} but its body is not JSON: {_snippet(response.text, secret)};"
            " check that the URL points at the JSON API",
            url=url,
            attempts=attempt,
            status=status,
        ) from None


def _snippet(text: str, secret: str | None, limit: int = 200) -> str:
    """The start of a body for an error message, with the token masked should a server echo it."""
    text = " ".join(text.split())
    if secret:
        text = text.replace(secret, "***")
    return repr(text if len(text) <= limit else f"{text[:limit]}...")
