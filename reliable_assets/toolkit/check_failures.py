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
from typing import Any

import dagster as dg

PAGE = 200
SETTLE_SECONDS = 24 * 3600


@dataclass(frozen=True)
class FailedCheck:
    record_id: int  # the execution record's id: a failure seen twice is the same record
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
    # Paged newest first down to the watermark (only the newest for a first look): a burst of
    # evaluations between two looks is never cut at one page.
    storage = instance.event_log_storage
    records: list[Any] = []  # AssetCheckExecutionRecord, which `dagster` does not export
    for key in keys:
        cursor = None
        while True:
            page = storage.get_asset_check_execution_history(
                key, limit=1 if watermark is None else PAGE, cursor=cursor
            )
            records.extend(record for record in page if watermark is None or record.id > watermark)
            if watermark is None or len(page) < PAGE or page[-1].id <= watermark:
                break
            cursor = page[-1].id
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
            record.id,
            record.key,
            record.run_id,
            record.partition,
            record.event.asset_check_evaluation if record.event else None,
        )
        for record in sorted(records, key=lambda r: r.id)
        if record.status.value == "FAILED"
    ]
    return failed, min(unsettled) - 1 if unsettled else newest
