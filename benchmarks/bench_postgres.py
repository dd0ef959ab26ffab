"""PostgreSQL warehouse writes against a raw COPY and pandas.to_sql, on one server, in one run.

Server: ``RELIABLE_ASSETS_TEST_PG_URL`` if set, else a throwaway ``pgserver`` (PostgreSQL 16 from
a pip wheel) in a temp dir. Frame: 1M rows, one day, ten mixed-type columns (integers, text,
floats, a nullable integer, a boolean, a date, a naive and an aware timestamp, a low-cardinality
text column) - the shape of the project's fact tables.

Each timed write runs REPEATS times and the median is reported (the machine is shared; one run is
noise). Figures (rows per second unless named otherwise; printed, never asserted):
- raw COPY: the same rows pre-rendered as CSV (rendering not timed) into an empty table with the
  same column types - the baseline the targets are set against;
- raw binary COPY (extra figure): the same rows pre-encoded in PostgreSQL's binary COPY format,
  the format the warehouse sends; the ``*_vs_binary_copy`` ratios compare like with like;
- to_sql: ``DataFrame.to_sql`` through SQLAlchemy/psycopg2 on a 100k-row sample (a million rows
  would take minutes; rows/s is what is compared, and it does not grow with size);
- overwrite: ``PostgresWarehouse.replace_partition`` re-writing a partition that already holds
  the same 1M rows (the idempotent re-run: DELETE 1M + COPY 1M, one transaction);
- overwrite_first: the same call into an empty table (extra figure);
- overwrite_csv: the re-write with ``binary_copy=False`` (extra figure: what the CSV encoding gives);
- upsert: ``PostgresWarehouse.upsert`` of 1M rows whose keys are all stored already (every row
  an ON CONFLICT update: the expensive case); upsert_fresh: into an empty table (extra figure);
- peak memory of the overwrite: the process's peak RSS above its RSS just before the write
  (sampled every millisecond by a thread; RSS, not tracemalloc, because Arrow allocates outside
  Python's allocator), divided by ``frame.memory_usage(deep=True).sum()``.
"""

import datetime as dt
import gc
import io
import os
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import psycopg2
import sqlalchemy as sa

from reliable_assets.toolkit.partition_filter import PartitionFilter
from reliable_assets.toolkit.postgres_copy import BinaryEncoding, CopyEncoding, CsvEncoding
from reliable_assets.toolkit.postgres_warehouse import PostgresWarehouse

ROWS = 1_000_000
REPEATS = 3
TO_SQL_ROWS = 100_000
DAY = dt.datetime(2026, 1, 1)
BENCH_TYPES = (
    "bigint", "text", "double precision", "bigint", "bigint", "boolean", "date",
    "timestamp without time zone", "timestamp with time zone", "text",
)  # fmt: skip
BENCH_COLUMNS = (
    "order_id", "customer", "amount", "quantity", "discount", "is_gift", "order_date", "created_at",
    "loaded_at", "country",
)  # fmt: skip
TABLE_DDL = ", ".join(f"{name} {kind}" for name, kind in zip(BENCH_COLUMNS, BENCH_TYPES, strict=True))


def bench_frame(rows: int = ROWS, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    customers = np.array([f"customer-{i:06d}" for i in range(50_000)], dtype=object)
    discount = pd.array(rng.integers(0, 30, rows), dtype="Int64")
    discount[rng.random(rows) < 0.2] = pd.NA
    return pd.DataFrame(
        {
            "order_id": np.arange(rows, dtype="int64"),
            "customer": customers[rng.integers(0, len(customers), rows)],
            "amount": rng.gamma(2.0, 40.0, rows).round(2),
            "quantity": rng.integers(1, 10, rows),
            "discount": discount,
            "is_gift": rng.random(rows) < 0.1,
            "order_date": [DAY.date()] * rows,
            "created_at": DAY + pd.to_timedelta(rng.integers(0, 86_400_000_000, rows), unit="us"),
            "loaded_at": pd.Timestamp("2026-01-02 03:04:05", tz="UTC"),
            "country": pd.Categorical(rng.choice(["DE", "FR", "US", "GB", "JP"], rows)),
        }
    )


@contextmanager
def _server_url() -> Iterator[str]:
    url = os.environ.get("RELIABLE_ASSETS_TEST_PG_URL")
    if url:
        yield url
        return
    import pgserver  # noqa: PLC0415 - dev dependency, needed only when no server is given

    with tempfile.TemporaryDirectory() as folder:
        server = pgserver.get_server(  # type: ignore[attr-defined]
            Path(folder) / "pg", cleanup_mode="stop"
        )
        try:
            yield server.get_uri()
        finally:
            server.cleanup()


@contextmanager
def _fresh_database(url: str) -> Iterator[str]:
    name = f"bench_{os.getpid()}_{int(time.time())}"
    admin = psycopg2.connect(url.replace("postgresql+psycopg2://", "postgresql://"))
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
        yield _with_database(url, name)
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def _with_database(url: str, database: str) -> str:
    parsed = sa.make_url(url.replace("postgresql://", "postgresql+psycopg2://", 1))
    return parsed.set(database=database).render_as_string(hide_password=False)


def _timed(action: Callable[[], object]) -> float:
    gc.collect()
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def _pre_encoded(frame: pd.DataFrame, encoding: CopyEncoding) -> bytes:
    return encoding.header() + encoding.encode(frame) + encoding.trailer()


def _raw_copy(url: str, frame: pd.DataFrame, binary: bool = False) -> float:
    columns = list(frame.columns)
    table_types = dict(zip(columns, BENCH_TYPES, strict=True))
    encoding = BinaryEncoding(table_types, {}) if binary else CsvEncoding(columns, {})
    payload = _pre_encoded(frame, encoding)  # not timed
    connection = psycopg2.connect(url.replace("postgresql+psycopg2://", "postgresql://"))
    try:
        with connection.cursor() as cursor:
            cursor.execute("SET TIME ZONE 'UTC'")

            def copy() -> None:
                cursor.copy_expert(encoding.statement("raw_copy"), io.BytesIO(payload), size=1 << 20)
                connection.commit()

            timings = []
            for _ in range(REPEATS):  # each repetition into a new, empty table
                cursor.execute(f"DROP TABLE IF EXISTS raw_copy; CREATE TABLE raw_copy ({TABLE_DDL})")
                connection.commit()
                timings.append(_timed(copy))
            return statistics.median(timings)
    finally:
        connection.close()


def _to_sql(url: str, frame: pd.DataFrame) -> float:
    engine = sa.create_engine(url, connect_args={"options": "-c TimeZone=UTC"})
    try:
        return _timed(lambda: frame.to_sql("to_sql_target", engine, if_exists="append", index=False))
    finally:
        engine.dispose()


def _rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _peak_rss_during(action: Callable[[], object]) -> tuple[float, int]:
    """(seconds, peak RSS above the RSS before) of ``action``, sampled every millisecond."""
    gc.collect()
    before = _rss_bytes()
    peak = before
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _rss_bytes())
            time.sleep(0.001)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    try:
        action()
    finally:
        elapsed = time.perf_counter() - started
        done.set()
        sampler.join()
    return elapsed, max(peak, _rss_bytes()) - before


def run() -> dict[str, float]:
    frame = bench_frame()
    frame_bytes = int(frame.memory_usage(deep=True).sum())
    day = PartitionFilter.time_range("order_date", DAY, DAY + dt.timedelta(days=1))
    with _server_url() as server, _fresh_database(server) as url:
        warehouse = PostgresWarehouse(url=url)
        raw = _raw_copy(url, frame)
        raw_binary = _raw_copy(url, frame, binary=True)
        to_sql = _to_sql(url, frame.head(TO_SQL_ROWS))
        first = _timed(lambda: warehouse.replace_partition("bench", "overwrite", frame, day))
        overwrites, peaks = zip(
            *(
                _peak_rss_during(lambda: warehouse.replace_partition("bench", "overwrite", frame, day))
                for _ in range(REPEATS)
            ),
            strict=True,
        )
        overwrite, peak = statistics.median(overwrites), max(peaks)
        csv_warehouse = PostgresWarehouse(url=url, binary_copy=False)
        overwrite_csv = statistics.median(
            _timed(lambda: csv_warehouse.replace_partition("bench", "overwrite", frame, day))
            for _ in range(REPEATS)
        )
        fresh = _timed(lambda: warehouse.upsert("bench", "upsert", frame, ["order_id"]))
        upsert = statistics.median(
            _timed(lambda: warehouse.upsert("bench", "upsert", frame, ["order_id"])) for _ in range(REPEATS)
        )
    raw_rate, to_sql_rate, raw_binary_rate = ROWS / raw, TO_SQL_ROWS / to_sql, ROWS / raw_binary
    overwrite_rate, upsert_rate = ROWS / overwrite, ROWS / upsert
    return {
        "pg_raw_copy_rows_per_s": raw_rate,
        "pg_to_sql_rows_per_s": to_sql_rate,
        "pg_overwrite_rows_per_s": overwrite_rate,
        "pg_raw_binary_copy_rows_per_s": raw_binary_rate,
        "pg_overwrite_first_rows_per_s": ROWS / first,
        "pg_overwrite_csv_rows_per_s": ROWS / overwrite_csv,
        "pg_upsert_rows_per_s": upsert_rate,
        "pg_upsert_fresh_rows_per_s": ROWS / fresh,
        "pg_overwrite_vs_copy": overwrite_rate / raw_rate,
        "pg_overwrite_vs_to_sql": overwrite_rate / to_sql_rate,
        "pg_upsert_vs_copy": upsert_rate / raw_rate,
        "pg_overwrite_vs_binary_copy": overwrite_rate / raw_binary_rate,
        "pg_upsert_vs_binary_copy": upsert_rate / raw_binary_rate,
        "pg_write_peak_mem_vs_frame": peak / frame_bytes,
        "pg_bench_frame_mb": frame_bytes / 1e6,
    }


if __name__ == "__main__":
    for figure, value in run().items():
        print(f"{figure:<36} {value:>16,.4f}")
