"""SLAs as freshness policies and per-partition freshness checks."""

from datetime import timedelta
from pathlib import Path

import dagster as dg
import pytest

from reliable_assets.definitions import defs
from reliable_assets.ops.freshness import deadline_cron, partition_freshness_checks
from reliable_assets.ops.sla import SLA_AFTER_DAY_END


def test_deadlines_become_daily_crons_and_odd_ones_are_refused() -> None:
    """7 h after the day ends is 07:00 UTC; a deadline that is not whole hours of the next day is an error."""
    assert deadline_cron(timedelta(hours=7)) == "0 7 * * *"
    with pytest.raises(ValueError, match="whole hours"):
        deadline_cron(timedelta(hours=7, minutes=30))
    with pytest.raises(ValueError, match="whole hours"):
        deadline_cron(timedelta(hours=30))


def test_every_sla_asset_carries_its_policy_and_a_partition_freshness_check(data_dir: Path) -> None:
    """Each asset with an SLA gets a cron freshness policy at its deadline and a freshness check."""
    definitions = defs()
    specs = {spec.key.to_user_string(): spec for spec in definitions.resolve_all_asset_specs()}
    checked = {key.asset_key.to_user_string() for key in definitions.resolve_asset_graph().asset_check_keys}
    for key, sla in SLA_AFTER_DAY_END.items():
        policy = specs[key].freshness_policy
        assert policy is not None, key
        assert getattr(policy, "deadline_cron", None) == deadline_cron(sla), key
        assert key in checked
    assert specs["raw/orders"].freshness_policy is None


def test_a_missing_partition_fails_the_freshness_check_with_warn(data_dir: Path) -> None:
    """Nothing materialized: the last completed day of daily_revenue is missing, so its check fails (WARN)."""
    (check,) = [
        c
        for c in partition_freshness_checks()
        if dg.AssetKey(["warehouse", "daily_revenue"]) in {k.asset_key for k in c.check_keys}
    ]
    job = dg.define_asset_job("freshness_only", selection=dg.AssetSelection.checks(check))
    definitions = dg.Definitions.merge(defs(), dg.Definitions(jobs=[job]))
    with dg.instance_for_test() as instance:
        result = definitions.resolve_job_def("freshness_only").execute_in_process(instance=instance)
    (evaluation,) = result.get_asset_check_evaluations()
    assert not evaluation.passed
    assert evaluation.severity == dg.AssetCheckSeverity.WARN
