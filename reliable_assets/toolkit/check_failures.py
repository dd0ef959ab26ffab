"""Failed asset check evaluations since a cursor, read from the instance's check history.

OSS Dagster has no alert on failed checks. The instance keeps one execution record per check
evaluation (per partition for partitioned checks), with an increasing id; a record is created as
PLANNED when its step starts and later turns SUCCEEDED or FAILED in place. So the cursor is a
watermark below which every record is settled, and a record still PLANNED holds the watermark
back until it settles (or until it is a day old: a crashed run never settles its plans).
"""

import time
from collections.abc import Iterable
from dataclasses import dataclass

import dagster as dg

PAGE = 200
SETTLE_SECONDS = 24 * 3600


@dataclass(frozen=True)
class FailedCheck:
    key: dg.AssetCheckKey
    run_id: str
    partition: str | None
    evaluation: dg.AssetCheckEvaluation | None


def failed_checks_since(
    instance: dg.DagsterInstance, keys: Iterable[dg.AssetCheckKey], watermark: int | None
) -> tuple[list[FailedCheck], int]:
    """Failed evaluations of ``keys`` above ``watermark``, and the next watermark.

    ``watermark`` None is a first look: nothing is reported, the watermark starts at the newest
    record, so enabling the sensor does not replay old failures. Failures above a record that is
    still PLANNED are reported again next time; alert ids make that harmless.
    """
    records = [
        record
        for key in keys
        for record in instance.event_log_storage.get_asset_check_execution_history(key, limit=PAGE)
        if watermark is None or record.id > watermark
    ]
    newest = max((record.id for record in records), default=watermark or 0)
    if watermark is None:
        return [], newest
    now = time.time()
    unsettled = [
        record.id
        for record in records
        if record.status.value == "PLANNED" and now - record.create_timestamp < SETTLE_SECONDS
    ]
    failed = [
        FailedCheck(
            record.key,
            record.run_id,
            record.partition,
            record.event.asset_check_evaluation if record.event else None,
        )
        for record in sorted(records, key=lambda r: r.id)
        if record.status.value == "FAILED"
    ]
    return failed, min(unsettled) - 1 if unsettled else newest
