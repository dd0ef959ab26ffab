"""One answer to "would trying again help?" for every error the pipeline meets.

Transient: the same request may succeed later — dropped or refused connections, timeouts, HTTP
429 and 5xx (already retried inside the HTTP client), PostgreSQL serialization failures,
deadlocks, connection and shutdown errors, DuckDB and SQLite lock conflicts, S3 throttling and
5xx. Everything else is permanent: 401/403 and other 4xx, schema and validation failures, bad
configuration and plain code errors (a `ZeroDivisionError` fails the same way every time).

The error itself and every error it was raised from (`__cause__`, `__context__`, SQLAlchemy's
`.orig`) are looked at, so a driver error wrapped by a library is still recognised. psycopg2 and
botocore are imported only for their own errors: the embedded deployment never loads them.
"""

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass

import duckdb
import requests

from reliable_assets.toolkit.http_client import PermanentHTTPError, TransientHTTPError
from reliable_assets.toolkit.warehouse import WarehouseLockTimeoutError

# PostgreSQL SQLSTATEs a new attempt can get past: serialization_failure, deadlock_detected,
# lock_not_available, admin/crash shutdown, cannot_connect_now, too_many_connections; and every
# code of class 08 (connection exception).
TRANSIENT_SQLSTATES = frozenset({"40001", "40P01", "55P03", "57P01", "57P02", "57P03", "53300"})
TRANSIENT_S3_CODES = frozenset(
    {"SlowDown", "Throttling", "ThrottlingException", "RequestTimeout", "ServiceUnavailable", "InternalError"}
)


@dataclass(frozen=True)
class Fault:
    """How to treat an error: `transient` ones are retried; `reason` is one line for the log."""

    transient: bool
    reason: str
    retry_after_s: float | None = None  # what the server asked for, when it said


def classify(error: BaseException) -> Fault:
    """Transient if any error in the chain is a known transient one, else permanent."""
    for link in _chain(error):
        fault = _classify_one(link)
        if fault is not None:
            return fault
    return Fault(transient=False, reason=_describe(error))


def _chain(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        link = pending.pop(0)
        if link is None or id(link) in seen:
            continue
        seen.add(id(link))
        yield link
        original = getattr(link, "orig", None)  # SQLAlchemy's DBAPIError wraps the driver's error
        pending.extend([original if isinstance(original, BaseException) else None, link.__cause__])
        if not link.__suppress_context__:
            pending.append(link.__context__)


def _classify_one(error: BaseException) -> Fault | None:
    """A verdict for errors this module knows; None to look further down the chain."""
    if isinstance(error, PermanentHTTPError):
        return Fault(transient=False, reason=str(error))
    if isinstance(error, TransientHTTPError):
        return Fault(transient=True, reason=str(error), retry_after_s=error.retry_after)
    if isinstance(error, requests.Timeout | requests.ConnectionError):
        return Fault(transient=True, reason=f"{type(error).__name__}: {error}")
    if isinstance(error, WarehouseLockTimeoutError):
        return Fault(transient=True, reason=str(error))
    if isinstance(error, sqlite3.OperationalError) and _is_lock_message(str(error)):
        return Fault(transient=True, reason=f"SQLite: {error}")
    return _postgres_fault(error) or _duckdb_fault(error) or _s3_fault(error) or _os_fault(error)


def _postgres_fault(error: BaseException) -> Fault | None:
    if type(error).__module__.split(".")[0] != "psycopg2":
        return None
    import psycopg2  # noqa: PLC0415 (only deployments on PostgreSQL load it)

    code = getattr(error, "pgcode", None)
    if code:
        transient = code in TRANSIENT_SQLSTATES or code.startswith("08")
        return Fault(transient=transient, reason=f"PostgreSQL {code}: {_first_line(error)}")
    # No SQLSTATE: the client lost or never had the connection (refused, reset, server gone).
    transient = isinstance(error, psycopg2.OperationalError | psycopg2.InterfaceError)
    return Fault(transient=transient, reason=f"PostgreSQL client: {_first_line(error)}")


def _duckdb_fault(error: BaseException) -> Fault | None:
    if isinstance(error, duckdb.TransactionException) or (
        isinstance(error, duckdb.IOException) and _is_lock_message(str(error))
    ):
        return Fault(transient=True, reason=f"DuckDB: {_first_line(error)}")
    return None


def _s3_fault(error: BaseException) -> Fault | None:
    if type(error).__module__.split(".")[0] != "botocore":
        return None
    from botocore import exceptions  # type: ignore[import-untyped]  # noqa: PLC0415 (S3 deployments only)

    if isinstance(
        error,
        exceptions.EndpointConnectionError
        | exceptions.ConnectionClosedError
        | exceptions.ReadTimeoutError
        | exceptions.ConnectTimeoutError,
    ):
        return Fault(transient=True, reason=f"S3: {error}")
    if isinstance(error, exceptions.ClientError):
        details = error.response.get("Error", {})
        status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        transient = details.get("Code") in TRANSIENT_S3_CODES or status >= 500
        return Fault(transient=transient, reason=f"S3 {details.get('Code')} (HTTP {status}): {error}")
    return None


def _os_fault(error: BaseException) -> Fault | None:
    # Python's own: refused, reset and aborted connections, timeouts. Not FileNotFoundError and
    # the like: a missing file stays missing however often it is read.
    if isinstance(error, ConnectionError | TimeoutError):
        return Fault(transient=True, reason=f"{type(error).__name__}: {error}")
    return None


def _is_lock_message(message: str) -> bool:
    lowered = message.lower()
    return "lock" in lowered or "busy" in lowered or "conflict" in lowered


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {_first_line(error)}"
