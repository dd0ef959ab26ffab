"""The versions of the daily revenue logic, and where each version's rows live.

`warehouse/daily_revenue` runs the current version into its own table; the shadow asset runs a
candidate (``DAILY_REVENUE_CANDIDATE``) into a table of that version alone, so switching
candidates never mixes two versions in one table. Consumers read the view
`warehouse.daily_revenue_current`, which promote and rollback point at one version's table.
"""

import os
from collections.abc import Callable
from functools import partial

import pandas as pd

from reliable_assets.toolkit.view_release import ConsumerView, ReleaseTarget
from reliable_assets.warehouse.features import REVENUE_COLUMNS, billable, daily_revenue, paid

RevenueLogic = Callable[[pd.DataFrame, pd.DataFrame], pd.DataFrame]

REVENUE_LOGIC: dict[str, RevenueLogic] = {
    # Every order neither cancelled nor deleted counts, from the day it is placed.
    "v1": partial(daily_revenue, counted=billable),
    # Paid orders only: an order still `placed` is not revenue until it is paid.
    "v2": partial(daily_revenue, counted=paid),
}
CURRENT_VERSION = "v1"  # what warehouse/daily_revenue runs; its code_version
CANDIDATE_ENV_VAR = "DAILY_REVENUE_CANDIDATE"
DEFAULT_CANDIDATE = "v2"
SHADOW_SCHEMA = "shadow"

CONSUMER_VIEW = ConsumerView(
    schema="warehouse",
    name="daily_revenue_current",
    columns=tuple(REVENUE_COLUMNS),
    baseline=ReleaseTarget(CURRENT_VERSION, "warehouse", "daily_revenue"),
    coverage_column="revenue_date",
)


class UnknownRevenueVersionError(ValueError):
    """A revenue logic version the registry does not have."""


def require_version(version: str, where: str) -> str:
    if version not in REVENUE_LOGIC:
        raise UnknownRevenueVersionError(
            f"{where}={version!r} is not a daily revenue logic version; use one of"
            f" {sorted(REVENUE_LOGIC)} (warehouse/revenue_versions.py)."
        )
    return version


def candidate_version() -> str:
    """The version the shadow runs: ``DAILY_REVENUE_CANDIDATE``, else the registry's candidate."""
    text = os.environ.get(CANDIDATE_ENV_VAR, "").strip() or DEFAULT_CANDIDATE
    return require_version(text, CANDIDATE_ENV_VAR)


def shadow_target(version: str) -> ReleaseTarget:
    """The shadow's table of ``version``: one table per version."""
    return ReleaseTarget(version, SHADOW_SCHEMA, f"daily_revenue_{version}")


def release_target(version: str) -> ReleaseTarget:
    """Where consumers would read ``version`` from: the current version from the asset's own
    table, any other from the shadow's table of that version."""
    require_version(version, "version")
    return CONSUMER_VIEW.baseline if version == CURRENT_VERSION else shadow_target(version)
