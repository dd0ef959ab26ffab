"""The error classifier: which errors a retry can fix. Real exception types of each library, built
as the libraries raise them (psycopg2's from a real server, in test_postgres_write_faults.py)."""

import sqlite3

import duckdb
import pytest
import requests
import sqlalchemy as sa
from botocore.exceptions import ClientError, EndpointConnectionError  # type: ignore[import-untyped]
from psycopg2 import errors as pg_errors

from reliable_assets.toolkit.faults import classify
from reliable_assets.toolkit.http_client import PermanentHTTPError, TransientHTTPError
from reliable_assets.toolkit.source_database import SourceDatabaseMissingError
from reliable_assets.toolkit.warehouse import WarehouseLockTimeoutError, WarehouseWriteError


def _s3_error(code: str, status: int) -> ClientError:
    return ClientError({"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}}, "PutObject")


def _wrapped(inner: BaseException) -> BaseException:
    """`inner` as a library re-raises it: a new error whose cause is the original."""
    try:
        try:
            raise inner
        except BaseException as error:
            raise RuntimeError("while writing the partition") from error
    except RuntimeError as outer:
        return outer


TRANSIENT = [
    requests.ConnectionError("refused"),
    requests.Timeout("no answer"),
    TransientHTTPError("503 every time", url="u", attempts=5, status=503),
    pg_errors.SerializationFailure("could not serialize access"),
    pg_errors.DeadlockDetected("deadlock detected"),
    pg_errors.AdminShutdown("terminating connection due to administrator command"),
    sa.exc.OperationalError("SELECT 1", {}, pg_errors.ConnectionFailure("connection failure")),
    duckdb.IOException('Could not set lock on file "dwh.duckdb": Conflicting lock is held'),
    duckdb.TransactionException("Conflict on update"),
    sqlite3.OperationalError("database is locked"),
    WarehouseLockTimeoutError("held for 60 s"),
    EndpointConnectionError(endpoint_url="http://127.0.0.1:1"),
    _s3_error("SlowDown", 503),
    _s3_error("InternalError", 500),
    ConnectionResetError("reset by peer"),
    _wrapped(pg_errors.SerializationFailure("could not serialize access")),
]
PERMANENT = [
    PermanentHTTPError("401: set RATES_API_TOKEN", url="u", attempts=1, status=401),
    pg_errors.UndefinedTable("relation does not exist"),
    pg_errors.InvalidTextRepresentation("invalid input syntax for type numeric"),
    duckdb.CatalogException("Table does not exist"),
    sqlite3.OperationalError("no such table: orders"),
    _s3_error("AccessDenied", 403),
    SourceDatabaseMissingError("run reliable-assets simulate"),
    WarehouseWriteError("duplicate keys"),
    ZeroDivisionError("division by zero"),
    KeyError("customer_id"),
    FileNotFoundError("landing/events/2024-03-01"),
    _wrapped(ZeroDivisionError("division by zero")),
]


@pytest.mark.parametrize("error", TRANSIENT, ids=lambda e: type(e).__name__)
def test_transient_faults_are_retried(error: BaseException) -> None:
    assert classify(error).transient, error


@pytest.mark.parametrize("error", PERMANENT, ids=lambda e: type(e).__name__)
def test_everything_else_is_permanent_and_says_what_it_was(error: BaseException) -> None:
    fault = classify(error)
    assert not fault.transient, error
    assert fault.reason
