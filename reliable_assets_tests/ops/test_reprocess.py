"""reprocess_dead_letters: after a fix, the now-valid records load and are marked reprocessed."""

from pathlib import Path

import dagster as dg
import pandas as pd

from reliable_assets import paths
from reliable_assets.definitions import defs
from reliable_assets.graph_runs import (
    DAILY_ASSETS,
    SNAPSHOT_ASSETS,
    execute_assets,
)
from reliable_assets.simulator.run import simulate
from reliable_assets.toolkit.duckdb_warehouse import DuckDBWarehouse
from reliable_assets.toolkit.partition_days import RANGE_END_TAG, RANGE_START_TAG
from reliable_assets_tests.conftest import SIM_DAY_LIST, small_simulation


def test_fixed_records_load_once_and_unfixable_ones_stay_pending(
    data_dir: Path, rates_api: str, instance: dg.DagsterInstance
) -> None:
    """Orders refused for a missing customer load once the customer is in dim_customers; negative
    totals and unknown currencies stay pending; a second run changes nothing."""
    summary = simulate(small_simulation(bad_rate=0.02))
    definitions = defs()
    day_range = {RANGE_START_TAG: SIM_DAY_LIST[0].isoformat(), RANGE_END_TAG: SIM_DAY_LIST[-1].isoformat()}
    assert execute_assets(definitions, instance, SNAPSHOT_ASSETS, "snapshot").success
    assert execute_assets(definitions, instance, DAILY_ASSETS, "daily", day_range).success
    bad_orders: dict[str, str] = summary.manifest["bad_records"]["orders"]  # type: ignore[index]
    missing = sorted(o for o, kind in bad_orders.items() if kind == "missing_customer")
    assert missing

    # The fix: the missing customers arrive in the dimension.
    warehouse = DuckDBWarehouse(path=str(paths.warehouse_path()))
    letters = warehouse.read_table("ops", "dead_letters")
    records = letters.loc[letters["error_type"] == "missing_customer", "record"]
    customer_ids = sorted({int(pd.read_json(f"[{r}]", orient="records")["customer_id"][0]) for r in records})
    dim = warehouse.read_table("warehouse", "dim_customers")
    extra = dim.head(len(customer_ids)).assign(customer_id=customer_ids)
    warehouse.upsert("warehouse", "dim_customers", extra, ["customer_id"])

    job = definitions.resolve_job_def("reprocess_dead_letters")
    assert job.execute_in_process(instance=instance).success
    fact_ids = set(warehouse.read_table("warehouse", "fact_orders")["order_id"])
    assert set(missing) <= fact_ids
    after = warehouse.read_table("ops", "dead_letters")
    status = dict(zip(after["error_type"] + ":" + after["dead_letter_id"], after["status"], strict=True))
    assert {k.split(":")[0] for k, v in status.items() if v == "reprocessed"} == {"missing_customer"}
    assert all(v == "pending" for k, v in status.items() if not k.startswith("missing_customer"))
    state = (
        warehouse.table_content_hash("warehouse", "fact_orders"),
        warehouse.table_content_hash("ops", "dead_letters"),
    )

    assert job.execute_in_process(instance=instance).success
    assert (
        warehouse.table_content_hash("warehouse", "fact_orders"),
        warehouse.table_content_hash("ops", "dead_letters"),
    ) == state
    # Re-running the partitions does not bring the reprocessed letters back as pending.
    assert execute_assets(definitions, instance, DAILY_ASSETS, "daily again", day_range).success
    again = warehouse.read_table("ops", "dead_letters")
    assert len(again) == len(after)
