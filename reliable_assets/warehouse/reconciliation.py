"""`source_rows_reconciled` of warehouse/fact_orders, recomputed after the fact from what is published.

Inside a run, fact_orders reconciles the raw/orders rows of each extract day with the rows it is
about to write, the rows it dead-letters and the versions a later extract *of the same run*
supersedes. Once published, later runs have upserted over those rows (fact_orders keeps one row
per `order_id`, the one from the latest extract day), so the check that still holds compares, per
extract day D:

    raw/orders rows of D (the published Parquet partition)
      = fact_orders rows whose extract_date is D            (loaded, and still the latest version)
      + dead letters of warehouse/fact_orders for D that were not reprocessed (pending, resolved)
      + raw rows of D, not dead-lettered, whose order's fact row comes from an extract after D
                                                            (superseded by a later extract)

A reprocessed dead letter is not counted as a dead letter: its record was loaded, so it is
counted as loaded (or superseded) like any other row.
"""

import json
from datetime import date, datetime, timedelta

import dagster as dg
import pandas as pd

from reliable_assets.toolkit.frame_checks import reconciliation_check
from reliable_assets.toolkit.partition_filter import PartitionFilter, TimeRange, ValueSet
from reliable_assets.toolkit.warehouse import Warehouse

SOURCE_ROWS_RECONCILED = "source_rows_reconciled"
REPROCESSED = "reprocessed"  # the status ops/reprocess.py gives a dead letter whose record loaded
_END_OF_TIME = datetime(9999, 12, 31)
_IDS_PER_QUERY = 1000  # bound parameters per query, far below PostgreSQL's limit


def not_reprocessed(dead_letters: pd.DataFrame) -> pd.DataFrame:
    """The dead letters whose record is still out of the table (pending or resolved)."""
    return dead_letters.loc[dead_letters["status"].astype("string") != REPROCESSED]


def later_extracted(warehouse: Warehouse, order_ids: list[str], day: date) -> set[str]:
    """Which of ``order_ids`` have their fact_orders row from an extract day after ``day``."""
    found: set[str] = set()
    after = datetime.combine(day + timedelta(days=1), datetime.min.time())
    for start in range(0, len(order_ids), _IDS_PER_QUERY):
        chunk = tuple(order_ids[start : start + _IDS_PER_QUERY])
        rows = warehouse.read_table(
            "warehouse",
            "fact_orders",
            partition=PartitionFilter(
                (TimeRange("extract_date", after, _END_OF_TIME), ValueSet("order_id", chunk))
            ),
        )
        found.update(rows["order_id"].astype(str))
    return found


def source_rows_reconciled(
    warehouse: Warehouse,
    day: date,
    raw_orders: pd.DataFrame,
    fact_rows: pd.DataFrame,
    dead_letters: pd.DataFrame,
) -> dg.AssetCheckResult:
    """The module docstring's equation for extract day ``day``: ``raw_orders`` is the published
    raw partition, ``fact_rows`` the fact_orders rows of that extract day, ``dead_letters`` the
    day's dead letters of warehouse/fact_orders (any status)."""
    refused = not_reprocessed(dead_letters)
    refused_ids = {str(json.loads(record).get("order_id")) for record in refused["record"]}
    loaded_ids = set(fact_rows["order_id"].astype(str))
    raw_ids = raw_orders["order_id"].dropna().astype(str)
    candidates = sorted(set(raw_ids) - refused_ids - loaded_ids)
    later = later_extracted(warehouse, candidates, day) if candidates else set()
    result = reconciliation_check(
        SOURCE_ROWS_RECONCILED,
        len(raw_orders),
        {
            "loaded": len(fact_rows),
            "dead_lettered": len(refused),
            "superseded_by_later_extracts": int(raw_ids.isin(later).sum()),
        },
    )
    return result.with_metadata(
        {**result.metadata, "reprocessed_dead_letters": len(dead_letters) - len(refused)}
    )
