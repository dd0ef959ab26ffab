"""The raw layer: what the sources said, one Parquet file per partition, nothing interpreted yet."""

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

import dagster as dg
import pandas as pd
from pydantic import Field

from reliable_assets.partitions import chunked_backfill, daily
from reliable_assets.raw.event_lines import Rejected, events_frame, parse_event_file
from reliable_assets.raw.resources import RatesApi
from reliable_assets.raw.schemas import RawCustomers, RawEvents, RawFxRates, RawOrders
from reliable_assets.toolkit.dead_letters import DeadLetter, DeadLetterQueue
from reliable_assets.toolkit.frame_checks import reconciliation_check
from reliable_assets.toolkit.http_client import RetriedFault
from reliable_assets.toolkit.landing_zone import LandingZone
from reliable_assets.toolkit.pandera_checks import pandera_check_results, pandera_check_specs
from reliable_assets.toolkit.partition_checks import check_spec
from reliable_assets.toolkit.partition_days import partition_days
from reliable_assets.toolkit.quality_gate import AuditedEvents, publish_audited
from reliable_assets.toolkit.retries import retried_if_transient
from reliable_assets.toolkit.row_count_history import row_count_anomaly_checks, row_count_anomaly_spec
from reliable_assets.toolkit.source_database import SourceDatabase
from reliable_assets.toolkit.versioned_output import versioned_output
from reliable_assets.toolkit.warehouse import Warehouse

SOURCE_TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"
ORDERS_SQL = """
SELECT order_id, customer_id, order_ts, updated_at, status, currency, total_amount, is_deleted
FROM orders
WHERE updated_at >= :window_start AND updated_at < :window_end
ORDER BY order_id
"""


class OrdersExtractConfig(dg.Config):
    overlap_minutes: int = Field(
        default=60,
        ge=0,
        description="Re-read this much of the previous day, so rows committed late are not missed.",
    )


@dg.asset(
    code_version="v1",
    key=["raw", "orders"],
    check_specs=[
        *pandera_check_specs(RawOrders, ["raw", "orders"], partitions_def=daily),
        row_count_anomaly_spec(["raw", "orders"], daily),
    ],
    output_required=False,
    group_name="raw",
    io_manager_key="raw_io_manager",
    partitions_def=daily,
    backfill_policy=chunked_backfill,
    pool="source_db",
    metadata={"partition_expr": "extract_date"},
    kinds={"sqlite", "parquet"},
)
@retried_if_transient
def orders(
    context: dg.AssetExecutionContext,
    config: OrdersExtractConfig,
    source_db: SourceDatabase,
    warehouse: Warehouse,
) -> AuditedEvents:
    """Order versions changed during the day (by `updated_at`, plus the overlap window before it)."""
    frames = []
    for day in partition_days(context):
        day_start = datetime.combine(day, time(), tzinfo=UTC)
        window_start = day_start - timedelta(minutes=config.overlap_minutes)
        rows = source_db.query(
            ORDERS_SQL,
            {
                "window_start": window_start.strftime(SOURCE_TIMESTAMP_FORMAT),
                "window_end": (day_start + timedelta(days=1)).strftime(SOURCE_TIMESTAMP_FORMAT),
            },
        )
        frames.append(rows.assign(extract_date=pd.Timestamp(day)))
    extracted = pd.concat(frames, ignore_index=True)
    anomaly = row_count_anomaly_checks(context, extracted)
    yield from publish_audited(
        context,
        warehouse,
        lambda: versioned_output(
            context,
            extracted,
            watermark=str(extracted["updated_at"].max()) if len(extracted) else "none",
            overlap_minutes=config.overlap_minutes,
        ),
        extracted,
        lambda key, rows: [*pandera_check_results(RawOrders, rows), *anomaly(key, rows)],
    )


@dg.asset(
    code_version="v1",
    key=["raw", "events"],
    check_specs=[
        *pandera_check_specs(RawEvents, ["raw", "events"], partitions_def=daily),
        check_spec("landed_lines_reconciled", ["raw", "events"], blocking=True, partitions_def=daily),
        row_count_anomaly_spec(["raw", "events"], daily),
    ],
    output_required=False,
    group_name="raw",
    io_manager_key="raw_io_manager",
    partitions_def=daily,
    backfill_policy=chunked_backfill,
    metadata={"partition_expr": "event_date"},
    kinds={"parquet"},
)
@retried_if_transient
def events(
    context: dg.AssetExecutionContext,
    landing_zone: LandingZone,
    dead_letters: DeadLetterQueue,
    warehouse: Warehouse,
) -> AuditedEvents:
    """The day's landed clickstream files, deduplicated by `event_id`; bad lines become dead letters."""
    parsed, tally, rejected = _landed_events(context, landing_zone)
    frame, duplicates = events_frame(parsed)
    del parsed  # checks, hashing and the write need only the typed frame
    anomaly = row_count_anomaly_checks(context, frame)

    def reconciled(key: str | None, rows: pd.DataFrame) -> list[dg.AssetCheckResult]:
        # Parsed lines of a day's files carry that day (the parser refuses others), so the day's
        # duplicates are its parsed lines that did not make it into its rows.
        counted = tally[str(key)]
        accounted = {
            "loaded": len(rows),
            "duplicates_dropped": counted.parsed - len(rows),
            "dead_lettered": len(rejected[str(key)]),
        }
        return [
            *pandera_check_results(RawEvents, rows),
            reconciliation_check("landed_lines_reconciled", counted.landed, accounted),
            *anomaly(key, rows),
        ]

    def record_dead_letters() -> None:
        # Every day of the run is a key (days without bad lines too), so each one's old letters go.
        dead_letters.replace_for_partitions(
            "raw/events",
            {key: [_line_dead_letter(line) for line in lines] for key, lines in rejected.items()},
            run_id=context.run.run_id,
        )

    yield from publish_audited(
        context,
        warehouse,
        lambda: versioned_output(
            context,
            frame,
            landing_files=sum(counted.files for counted in tally.values()),
            duplicates_dropped=duplicates,
            dead_letters=sum(len(lines) for lines in rejected.values()),
        ),
        frame,
        reconciled,
        on_publish=record_dead_letters,
    )


@dataclass
class LineTally:
    """One day's landing files and their non-blank lines, counted apart from the parser."""

    files: int
    landed: int = 0
    parsed: int = 0


def _landed_events(
    context: dg.AssetExecutionContext, landing_zone: LandingZone
) -> tuple[pd.DataFrame, dict[str, LineTally], dict[str, list[Rejected]]]:
    """Every day's parsed events in landing order, and each day's line tally and rejected lines."""
    pieces: list[pd.DataFrame] = []
    tally: dict[str, LineTally] = {}
    rejected: dict[str, list[Rejected]] = {}
    for day in partition_days(context):
        landed = landing_zone.list_files(f"events/{day.isoformat()}")
        if not landed:
            raise dg.Failure(
                description=(
                    f"No landing files under events/{day.isoformat()}/ for partition {day}. "
                    "Has the upstream delivered? landing_zone_sensor starts this run once files arrive."
                ),
                allow_retries=False,
            )
        key, counted = day.isoformat(), LineTally(files=len(landed))
        rejected[key] = []
        for landing_file in landed:
            content = landing_zone.read_bytes(landing_file.key)
            # Counted apart from the parser, so a parser that loses lines cannot hide it.
            counted.landed += sum(1 for line in content.splitlines() if line.strip())
            good, bad = parse_event_file(content, landing_file.key, day)
            pieces.append(good)
            counted.parsed += len(good)
            rejected[key].extend(bad)
        tally[key] = counted
    # The per-file frames go with this call, so the events are held once, combined.
    return pd.concat(pieces, ignore_index=True), tally, rejected


def _line_dead_letter(rejected: Rejected) -> DeadLetter:
    return DeadLetter(
        record={"source": rejected.source, "line_number": rejected.line_number, "line": rejected.line},
        error_type=rejected.error_type,
        error_message=rejected.error_message,
    )


@dg.asset(
    code_version="v1",
    key=["raw", "fx_rates"],
    check_specs=pandera_check_specs(RawFxRates, ["raw", "fx_rates"], partitions_def=daily),
    output_required=False,
    group_name="raw",
    io_manager_key="raw_io_manager",
    partitions_def=daily,
    backfill_policy=chunked_backfill,
    pool="rates_api",
    metadata={"partition_expr": "rate_date"},
    kinds={"api", "parquet"},
)
@retried_if_transient
def fx_rates(context: dg.AssetExecutionContext, rates_api: RatesApi, warehouse: Warehouse) -> AuditedEvents:
    """Units of each currency per US dollar, per day, from the rates API."""
    rows: list[dict[str, object]] = []
    retried: list[RetriedFault] = []
    for day in partition_days(context):
        # A 401/403, a bad request or a nonsensical payload fail at once (faults.classify).
        rates = rates_api.rates_for(day, on_retry=retried.append)
        rows.extend(
            {"rate_date": pd.Timestamp(day), "currency": currency, "units_per_usd": rate}
            for currency, rate in sorted(rates.items())
        )
    frame = pd.DataFrame(rows, columns=["rate_date", "currency", "units_per_usd"])
    yield from publish_audited(
        context,
        warehouse,
        lambda: versioned_output(
            context,
            frame,
            http_retries=len(retried),
            http_429s=sum(1 for fault in retried if fault.status == 429),
            http_retry_wait_s=round(sum(fault.waited_s for fault in retried), 3),
        ),
        frame,
        lambda _, rows: pandera_check_results(RawFxRates, rows),
    )


@dg.asset(
    code_version="v1",
    key=["raw", "customers"],
    check_specs=pandera_check_specs(RawCustomers, ["raw", "customers"]),
    output_required=False,
    group_name="raw",
    io_manager_key="raw_io_manager",
    pool="source_db",
    kinds={"sqlite", "parquet"},
)
@retried_if_transient
def customers(
    context: dg.AssetExecutionContext, source_db: SourceDatabase, warehouse: Warehouse
) -> AuditedEvents:
    """A full snapshot of the source `customers` table (the warehouse diffs snapshots)."""
    snapshot = source_db.query(
        "SELECT customer_id, name, email, country, signup_date, updated_at"
        " FROM customers ORDER BY customer_id"
    )
    yield from publish_audited(
        context,
        warehouse,
        lambda: versioned_output(context, snapshot),
        snapshot,
        lambda _, rows: pandera_check_results(RawCustomers, rows),
    )
