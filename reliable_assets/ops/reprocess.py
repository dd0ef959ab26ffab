"""`reprocess_dead_letters`: after a fix, load the dead-lettered records that are now valid.

Order versions refused for a reason that a fix can remove (a customer added to the dimension, a
currency the rates API now knows) are validated again with the same cleaning code as
`fact_orders`, upserted with the same version guard, and marked `reprocessed`. Records that are
still invalid stay `pending` with their error. Malformed event lines cannot be repaired here: the
upstream must re-deliver the file, which the landing-zone sensor then picks up.
"""

import json

import dagster as dg
import pandas as pd

from reliable_assets.raw.resources import RatesApi
from reliable_assets.toolkit.dead_letters import PENDING, DeadLetterQueue
from reliable_assets.toolkit.warehouse import Warehouse
from reliable_assets.toolkit.warehouse_io_manager import with_audit_columns
from reliable_assets.warehouse.orders import clean_orders

FACT_ORDERS = "warehouse/fact_orders"


def _rates_for(days: list[pd.Timestamp], rates_api: RatesApi) -> pd.DataFrame:
    rows = [
        {"rate_date": day, "currency": currency, "units_per_usd": rate}
        for day in days
        for currency, rate in rates_api.rates_for(day.date()).items()
    ]
    return pd.DataFrame(rows, columns=["rate_date", "currency", "units_per_usd"])


@dg.op(description="Re-validate pending fact_orders dead letters; load the ones that now pass.")
def reprocess_order_dead_letters(
    context: dg.OpExecutionContext, dead_letters: DeadLetterQueue, warehouse: Warehouse, rates_api: RatesApi
) -> dg.Output[int]:
    letters = dead_letters.read(FACT_ORDERS)
    pending = letters.loc[letters["status"] == PENDING]
    if pending.empty:
        return dg.Output(0, metadata={"pending": 0, "reprocessed": 0})
    records = pd.DataFrame([json.loads(record) for record in pending["record"]])
    records["extract_date"] = pd.to_datetime(records["extract_date"])
    customers = warehouse.read_table("warehouse", "dim_customers")
    fixed, still_bad, _ = clean_orders(
        records,
        _rates_for(sorted(records["extract_date"].unique()), rates_api),
        set(customers.loc[~customers["is_deleted"].astype(bool), "customer_id"].astype(int)),
    )
    if len(fixed):
        warehouse.upsert(
            "warehouse",
            "fact_orders",
            with_audit_columns(fixed, context.run.run_id),
            ["order_id"],
            version_column="extract_date",
        )
    loaded = set(fixed["order_id"])
    ids = [i for i, r in zip(pending["dead_letter_id"], records["order_id"], strict=True) if r in loaded]
    dead_letters.mark(ids, "reprocessed", context.run.run_id)
    still = pd.Series([r.error_type for r in still_bad]).value_counts().to_dict() if still_bad else {}
    return dg.Output(
        len(ids),
        metadata={"pending": len(pending), "reprocessed": len(ids), "still_pending_by_error": still},
    )


@dg.job(description="Load dead-lettered records that a fix has made valid; mark them reprocessed.")
def reprocess_dead_letters() -> None:
    reprocess_order_dead_letters()
