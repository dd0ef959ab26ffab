"""Writers of the source database (customers, orders).

`SourceWriter` is the seam for deployments: the local one below writes a SQLite file; a
PostgreSQL writer for `prod` implements the same `write` beside it.
"""

import sqlite3
from collections.abc import Sequence
from contextlib import closing
from pathlib import Path
from typing import Protocol

from reliable_assets.simulator.atomic import replace_atomically
from reliable_assets.simulator.customers import Customer
from reliable_assets.simulator.orders import Order
from reliable_assets.simulator.timefmt import sql_ts

SCHEMA: tuple[str, ...] = (
    """CREATE TABLE customers (
        customer_id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        email TEXT NOT NULL,
        country TEXT NOT NULL,
        segment_hint TEXT NOT NULL,
        signup_date TEXT NOT NULL,
        updated_at TEXT NOT NULL
    )""",
    "CREATE INDEX customers_updated_at ON customers (updated_at)",
    # No foreign key on customer_id: the source really does hold orders of unknown customers.
    """CREATE TABLE orders (
        order_id TEXT PRIMARY KEY,
        customer_id INTEGER NOT NULL,
        order_ts TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        status TEXT NOT NULL,
        currency TEXT NOT NULL,
        total_amount REAL NOT NULL,
        is_deleted INTEGER NOT NULL
    )""",
    "CREATE INDEX orders_updated_at ON orders (updated_at)",
)


class SourceWriter(Protocol):
    def write(self, customers: Sequence[Customer], orders: Sequence[Order], as_of: int) -> str:
        """Replace the whole source with these rows; return where it went (for the summary).

        `as_of` is the simulated 'now' in epoch seconds, for stores that carry a timestamp.
        """
        ...


def customer_row(c: Customer) -> tuple[object, ...]:
    return (
        c.customer_id,
        c.name,
        c.email,
        c.country,
        c.segment_hint,
        c.signed_up_at.date().isoformat(),
        sql_ts(c.updated_at),
    )


def order_row(o: Order) -> tuple[object, ...]:
    return (
        o.order_id,
        o.customer_id,
        sql_ts(o.order_ts),
        sql_ts(o.updated_at),
        o.status,
        o.currency,
        o.total_amount,
        int(o.is_deleted),
    )


class SqliteSourceWriter:
    """Builds the database in a temp file and renames it into place: readers never see half a db."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def write(self, customers: Sequence[Customer], orders: Sequence[Order], as_of: int) -> str:
        def build(temp: Path) -> None:
            temp.unlink(missing_ok=True)  # leftover of a crashed run: start from an empty file
            with closing(sqlite3.connect(temp)) as conn, conn:
                for statement in SCHEMA:
                    conn.execute(statement)
                conn.executemany(
                    "INSERT INTO customers VALUES (?, ?, ?, ?, ?, ?, ?)", map(customer_row, customers)
                )
                conn.executemany("INSERT INTO orders VALUES (?, ?, ?, ?, ?, ?, ?, ?)", map(order_row, orders))

        # The mtime is the simulated 'now', so equal arguments give equal files, mtime included.
        replace_atomically(self.path, build, mtime=as_of)
        return str(self.path)
