"""`make demo`: simulate the last 7 complete UTC days, materialize the whole graph, print a summary.

Runs through Dagster (in-process runs recorded in the instance under DAGSTER_HOME), so the UI
opened afterwards with `make dev` shows every run, materialization and check of the demo.
"""

import os
import sys
from datetime import UTC, date, datetime, timedelta

import dagster as dg

from reliable_assets import paths
from reliable_assets.graph_runs import RunOutcome, materialize_graph
from reliable_assets.quiet import silence_dagster_previews
from reliable_assets.simulator.config import SimulationConfig
from reliable_assets.simulator.rates_api import serve_rates_api
from reliable_assets.simulator.run import simulate
from reliable_assets.toolkit.dead_letters import DeadLetterQueue
from reliable_assets.toolkit.warehouse import Warehouse

DEMO_DAYS = 7


def last_complete_days(count: int, today: date | None = None) -> list[date]:
    """The `count` UTC days before today, oldest first."""
    today = today or datetime.now(UTC).date()
    return [today - timedelta(days=offset) for offset in range(count, 0, -1)]


def summary_lines(
    outcomes: list[RunOutcome], warehouse: Warehouse, dead_letters: DeadLetterQueue
) -> list[str]:
    """Rows and content hash per table, dead letters by kind, and every check result."""
    lines = ["", "Warehouse tables (rows, content hash without audit columns):"]
    for schema, table in warehouse.list_tables():
        rows = len(warehouse.read_table(schema, table))
        name = f"{schema}.{table}"
        lines.append(f"  {name:<32} {rows:>7}  {warehouse.table_content_hash(schema, table)[:16]}")
    letters = dead_letters.read()
    lines.append(f"Dead letters: {len(letters)}")
    if len(letters):
        counts = letters.groupby(["asset_key", "error_type"]).size().reset_index(name="letters")
        lines.extend(
            f"  {row.asset_key:<24} {row.error_type:<20} {row.letters}" for row in counts.itertuples()
        )
    evaluations = [e for outcome in outcomes for e in outcome.checks]
    failed = [e for e in evaluations if not e.passed]
    lines.append(f"Asset checks: {len(evaluations)} evaluated, {len(failed)} failed")
    lines.extend(
        f"  FAILED {e.asset_key.to_user_string()}:{e.check_name} ({e.severity.value}) {e.partition or ''}"
        for e in failed
    )
    return lines


def main() -> int:
    silence_dagster_previews()
    from reliable_assets.definitions import defs as load_definitions  # noqa: PLC0415 (after the filters)

    days = last_complete_days(DEMO_DAYS)
    print(f"Simulating {days[0]} .. {days[-1]} into {paths.data_dir()}")
    for line in simulate(SimulationConfig(start=days[0], days=len(days))).lines():
        print(f"  {line}")
    with serve_rates_api(port=0) as rates_url:
        os.environ["RATES_API_URL"] = rates_url
        definitions = load_definitions()
        with dg.DagsterInstance.get() as instance:
            outcomes = materialize_graph(definitions, instance, days, log_level="WARNING")
    print("\nRuns:")
    for outcome in outcomes:
        print(f"  {'ok    ' if outcome.success else 'FAILED'} {outcome.label:<44} {outcome.run_id}")
    resources = definitions.resources or {}
    for line in summary_lines(outcomes, resources["warehouse"], resources["dead_letters"]):
        print(line)
    print(
        f"\nData: {paths.data_dir()} (warehouse {paths.warehouse_path().name}, raw layer lake/, landing/)"
        f"\nDagster instance: {os.environ.get('DAGSTER_HOME')}"
        "\nOpen the UI on these runs: make dev, then http://127.0.0.1:3000"
    )
    return 0 if all(outcome.success for outcome in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
