"""The `prod` source database: the same `customers`/`orders` tables as the SQLite writer, on PostgreSQL.

Column types follow the SQLite schema on purpose, timestamps included (TEXT, 'YYYY-MM-DD
HH:MM:SS', sortable): the extract queries and the raw layer then see the same values from either
deployment, so the same simulation gives the same raw files.

The replacement is one transaction: create the tables if missing, TRUNCATE both, COPY both,
COMMIT. Readers see the old source or the new one (TRUNCATE's lock makes them wait for COMMIT),
never half of it; a second `simulate` waits on the advisory lock instead of interleaving.
"""

import csv
import hashlib
import io
from collections.abc import Iterable, Sequence

import psycopg2

from reliable_assets.simulator.customers import Customer
from reliable_assets.simulator.orders import Order
from reliable_assets.simulator.source_db import customer_row, order_row

SCHEMA: tuple[str, ...] = (
    """CREATE TABLE IF NOT EXISTS customers (
        customer_id BIGINT PRIMARY KEY,
        name TEXT NOT NULL,
        email TEXT NOT NULL,
        country TEXT NOT NULL,
        segment_hint TEXT NOT NULL,
        signup_date TEXT NOT NULL,
        updated_at TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS customers_updated_at ON customers (updated_at)",
    # No foreign key on customer_id: the source really does hold orders of unknown customers.
    """CREATE TABLE IF NOT EXISTS orders (
        order_id TEXT PRIMARY KEY,
        customer_id BIGINT NOT NULL,
        order_ts TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        status TEXT NOT NULL,
        currency TEXT NOT NULL,
        total_amount DOUBLE PRECISION NOT NULL,
        is_deleted INTEGER NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS orders_updated_at ON orders (updated_at)",
)
_LOCK_KEY = int.from_bytes(
    hashlib.blake2b(b"reliable_assets:source", digest_size=8).digest(), "big", signed=True
)


def _csv(rows: Iterable[tuple[object, ...]]) -> io.StringIO:
    # Strings quoted, so an empty string never reads as NULL; floats via repr (exact round trip).
    buffer = io.StringIO()
    csv.writer(buffer, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n").writerows(rows)
    buffer.seek(0)
    return buffer


class PostgresSourceWriter:
    """Replaces the source tables in the database at ``url`` (``postgresql[+psycopg2]://``)."""

    def __init__(self, url: str) -> None:
        self.url = url

    def write(self, customers: Sequence[Customer], orders: Sequence[Order], as_of: int) -> str:
        del as_of  # rows carry their own timestamps; a database has no file mtime to set
        connection = psycopg2.connect(self.url.replace("postgresql+psycopg2://", "postgresql://", 1))
        try:
            with connection, connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])
                for statement in SCHEMA:
                    cursor.execute(statement)
                cursor.execute("TRUNCATE customers, orders")
                cursor.copy_expert(
                    "COPY customers FROM STDIN WITH (FORMAT csv)", _csv(map(customer_row, customers))
                )
                cursor.copy_expert("COPY orders FROM STDIN WITH (FORMAT csv)", _csv(map(order_row, orders)))
            database = connection.info.dbname
        finally:
            connection.close()
        # Never the URL itself: it may carry a password.
        return f"PostgreSQL database {database!r} (customers: {len(customers)}, orders: {len(orders)})"
