"""Row-count anomaly checks whose history is the row counts Dagster recorded per partition.

A daily asset whose row count per day is set by the test, published through versioned_output
(which records ``row_count`` per partition) and publish_audited, on a real test instance.
"""

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
import pytest

from reliable_assets.toolkit.duckdb_warehouse import DuckDBWarehouse
from reliable_assets.toolkit.quality_gate import publish_audited
from reliable_assets.toolkit.row_count_history import row_count_anomaly_checks, row_count_anomaly_spec
from reliable_assets.toolkit.versioned_output import versioned_output

DAILY = dg.DailyPartitionsDefinition(start_date="2026-01-01")
KEY = dg.AssetKey(["mart", "visits"])


class Discard(dg.ConfigurableIOManager):
    def handle_output(self, context: dg.OutputContext, obj: pd.DataFrame) -> None:
        """Nothing to keep: the history under test lives in Dagster's event log."""

    def load_input(self, context: dg.InputContext) -> Any:
        raise NotImplementedError("nothing reads this asset in these tests")


def _asset(rows_per_day: Mapping[str, int]) -> dg.AssetsDefinition:
    @dg.asset(
        key=KEY,
        partitions_def=DAILY,
        backfill_policy=dg.BackfillPolicy.single_run(),
        metadata={"partition_expr": "day"},
        check_specs=[row_count_anomaly_spec(KEY.path, DAILY)],
        output_required=False,
        io_manager_key="discard",
    )
    def visits(context: dg.AssetExecutionContext, warehouse: DuckDBWarehouse) -> Any:
        frame = pd.DataFrame(
            {"day": [pd.Timestamp(key) for key in context.partition_keys for _ in range(rows_per_day[key])]}
        )
        anomaly = row_count_anomaly_checks(context, frame)
        yield from publish_audited(
            context, warehouse, lambda: versioned_output(context, frame), frame, anomaly
        )

    return visits


def _days(first: int, last: int) -> list[str]:
    return [f"2026-01-{day:02d}" for day in range(first, last + 1)]


@pytest.fixture
def run(tmp_path: Path) -> Iterator[Any]:
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:

        def materialize(rows_per_day: Mapping[str, int]) -> dict[str, dg.AssetCheckEvaluation]:
            keys = sorted(rows_per_day)
            result = dg.materialize(
                [_asset(rows_per_day)],
                instance=instance,
                resources={
                    "warehouse": DuckDBWarehouse(path=str(tmp_path / "w.duckdb")),
                    "discard": Discard(),
                },
                partition_key=keys[0] if len(keys) == 1 else None,
                tags={
                    "dagster/asset_partition_range_start": keys[0],
                    "dagster/asset_partition_range_end": keys[-1],
                }
                if len(keys) > 1
                else None,
            )
            assert result.success  # the anomaly check warns, it never blocks
            return {str(e.partition): e for e in result.get_asset_check_evaluations() if e.partition}

        yield materialize


def test_history_is_read_back_per_partition_and_a_collapse_is_flagged(run: Any) -> None:
    """Invariant: a ten-day range records each day's count; day 11 at the usual volume passes
    against those ten counts, day 12 at 3 % of it fails as a WARN without blocking."""
    quiet = run(dict.fromkeys(_days(1, 10), 100) | {"2026-01-10": 104})
    assert all(e.passed for e in quiet.values())
    assert quiet["2026-01-03"].metadata["history"].value == [100, 100]  # its own range's earlier days

    usual = run({"2026-01-11": 98})["2026-01-11"]
    assert usual.passed
    assert usual.metadata["history"].value == [100] * 9 + [104]

    collapsed = run({"2026-01-12": 3})["2026-01-12"]
    assert not collapsed.passed
    assert collapsed.severity == dg.AssetCheckSeverity.WARN
    assert collapsed.metadata["median"].value == 100


def test_a_day_inside_a_range_is_judged_against_the_days_before_it(run: Any) -> None:
    """Invariant: in a range run, a day's history includes the range's earlier days, and the
    latest publication of a re-run day replaces its earlier count."""
    run(dict.fromkeys(_days(1, 10), 100))
    run({"2026-01-05": 90})  # a re-run of day 5 with other data: its count is now 90
    results = run({"2026-01-11": 100, "2026-01-12": 2})
    assert results["2026-01-11"].passed
    assert not results["2026-01-12"].passed
    assert results["2026-01-12"].metadata["history"].value == [
        100,
        100,
        100,
        100,
        90,
        100,
        100,
        100,
        100,
        100,
        100,
    ]


def test_quiet_while_history_is_short(run: Any) -> None:
    """Edge: fewer than 7 earlier partitions: the check passes and says it cannot judge yet."""
    results = run({"2026-01-01": 100, "2026-01-02": 1})
    assert results["2026-01-02"].passed
    assert "judging needs" in str(results["2026-01-02"].description)
