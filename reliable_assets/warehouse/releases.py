"""Promote and roll back what consumers of daily revenue read: `promote_daily_revenue`,
`rollback_daily_revenue` (Launchpad, or `dagster job execute -m reliable_assets.definitions -j ...`).

Each job is one transaction on the warehouse (toolkit/view_release.py): the view
`warehouse.daily_revenue_current` is pointed at one version's table and the release is logged in
`ops.releases` with who, when, from and to which version, and the run. Both are idempotent.
"""

import getpass
import os

import dagster as dg
from pydantic import Field

from reliable_assets.toolkit.view_release import Release, ReleaseError
from reliable_assets.toolkit.warehouse import Warehouse
from reliable_assets.warehouse.revenue_versions import (
    CONSUMER_VIEW,
    UnknownRevenueVersionError,
    candidate_version,
    release_target,
)

# Set by Dagster+ on runs a user launched; OSS leaves it out, and the run worker's user is used.
USER_TAG = "dagster/user"


class ReleaseConfig(dg.Config):
    released_by: str = Field(
        default="",
        description="Who releases, for ops.releases; empty: the run's dagster/user tag, else the OS user.",
    )


class PromoteConfig(ReleaseConfig):
    version: str = Field(
        default="",
        description="The revenue logic version to serve; empty: the shadow's candidate"
        " (DAILY_REVENUE_CANDIDATE).",
    )


def _released_by(context: dg.OpExecutionContext, config: ReleaseConfig) -> str:
    if config.released_by.strip():
        return config.released_by.strip()
    tagged = context.run.tags.get(USER_TAG)
    if tagged:
        return tagged
    try:
        return getpass.getuser()
    except OSError:  # no user name in the environment (a container without one, say)
        return os.environ.get("USER", "unknown")


def _outcome(context: dg.OpExecutionContext, release: Release) -> dg.Output[int]:
    """The release's number as the op's output, what it did in the log and the output's metadata."""
    if release.changed:
        what = (
            f"{CONSUMER_VIEW.view_name} now serves {release.target.version} ({release.target.table_name}),"
            f" was {release.source.version} ({release.source.table_name})"
        )
    else:
        what = (
            f"no change: {CONSUMER_VIEW.view_name} already serves {release.target.version}"
            f" ({release.target.table_name})"
        )
    context.log.info(f"{release.action} #{release.number} by {release.released_by}: {what}")
    return dg.Output(
        release.number,
        metadata={
            "changed": release.changed,
            "from_version": release.source.version,
            "to_version": release.target.version,
            "to_table": release.target.table_name,
            "released_by": release.released_by,
        },
    )


def _refused(error: Exception) -> dg.Failure:
    """A refused release changed nothing; retrying would be refused again."""
    return dg.Failure(description=str(error), allow_retries=False)


@dg.op(description="Point warehouse.daily_revenue_current at one version's table, logged in ops.releases.")
def promote_daily_revenue_view(
    context: dg.OpExecutionContext, config: PromoteConfig, warehouse: Warehouse
) -> dg.Output[int]:
    try:
        target = release_target(config.version.strip() or candidate_version())
        release = CONSUMER_VIEW.promote(warehouse, target, _released_by(context, config), context.run_id)
    except (ReleaseError, UnknownRevenueVersionError) as error:
        raise _refused(error) from error
    return _outcome(context, release)


@dg.op(description="Point warehouse.daily_revenue_current back at what it served before the last promotion.")
def rollback_daily_revenue_view(
    context: dg.OpExecutionContext, config: ReleaseConfig, warehouse: Warehouse
) -> dg.Output[int]:
    try:
        release = CONSUMER_VIEW.rollback(warehouse, _released_by(context, config), context.run_id)
    except ReleaseError as error:
        raise _refused(error) from error
    return _outcome(context, release)


@dg.job(description="Serve a daily revenue logic version to consumers (default: the shadow's candidate).")
def promote_daily_revenue() -> None:
    promote_daily_revenue_view()


@dg.job(description="Undo the last promotion of daily revenue; a no-op when there is none to undo.")
def rollback_daily_revenue() -> None:
    rollback_daily_revenue_view()


@dg.success_hook(required_resource_keys={"warehouse"})
def consumer_view_exists(context: dg.HookContext) -> None:
    """Once the published table is written, its consumers' view exists (made on the first write)."""
    if CONSUMER_VIEW.ensure(context.resources.warehouse):
        context.log.info(f"Created {CONSUMER_VIEW.view_name} on {CONSUMER_VIEW.baseline.table_name}.")
