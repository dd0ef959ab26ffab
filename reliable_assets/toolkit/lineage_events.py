"""OpenLineage run events for the asset steps of a Dagster run, read from its event log.

Each asset step of a run is one OpenLineage job run: job = the asset key (`raw/events`), run id =
a UUID derived from the Dagster run id and the step key (the same on every reading, so a re-sent
event is the same event), START at STEP_START, COMPLETE at STEP_SUCCESS, FAIL at STEP_FAILURE or,
for a step that was still running when its run failed or was cancelled (a crashed run worker),
FAIL/ABORT at the run's end. Each event carries the step's inputs (its upstream assets' datasets)
and outputs (its own), and the time Dagster recorded, not the time it was sent.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import dagster as dg

from reliable_assets.toolkit.lineage_datasets import Dataset

if TYPE_CHECKING:
    from openlineage.client.event_v2 import RunEvent

# States by OpenLineage's names (RunState values). The client library is imported where events are
# built, not here: every process that loads the code location (each run worker) imports this
# module, and openlineage.client alone costs about 0.2 s of start-up there.
STEP_EVENTS = {
    dg.DagsterEventType.STEP_START: "START",
    dg.DagsterEventType.STEP_SUCCESS: "COMPLETE",
    dg.DagsterEventType.STEP_FAILURE: "FAIL",
}
RUN_ENDS = {dg.DagsterEventType.RUN_FAILURE: "FAIL", dg.DagsterEventType.RUN_CANCELED: "ABORT"}
READ_TYPES = set(STEP_EVENTS) | set(RUN_ENDS)
STEP_RUN_NAMESPACE = uuid.UUID("6c1f6f0e-4a4e-4f55-9b1e-2d0d3c1a7a11")  # fixed: run ids stay stable


@dataclass(frozen=True)
class AssetStep:
    """What one step of a job materializes, and its datasets."""

    job_name: str
    inputs: tuple[Dataset, ...]
    outputs: tuple[Dataset, ...]


def step_run_id(dagster_run_id: str, step_key: str) -> str:
    return str(uuid.uuid5(STEP_RUN_NAMESPACE, f"{dagster_run_id}/{step_key}"))


def run_events(
    records: Sequence[dg.EventLogRecord], steps: Mapping[str, AssetStep], namespace: str, run_id: str
) -> Iterator[tuple[int, RunEvent]]:
    """`(storage id, event)` for the asset steps in `records` (one run's, in order). A step left
    open by a failed or cancelled run is closed with the run-end record's storage id."""
    open_steps: dict[str, AssetStep] = {}
    for record in records:
        entry = record.event_log_entry
        event = entry.dagster_event
        if event is None:
            continue
        if event.event_type in RUN_ENDS:
            for open_key, open_step in open_steps.items():
                yield (
                    record.storage_id,
                    _event(
                        RUN_ENDS[event.event_type],
                        entry.timestamp,
                        namespace,
                        run_id,
                        open_key,
                        open_step,
                        f"the run ended ({event.event_type.name}) before the step finished",
                    ),
                )
            open_steps.clear()
            continue
        step = steps.get(event.step_key or "")
        if step is None:
            continue  # not an asset step (a check-only step, say)
        state = STEP_EVENTS[event.event_type]
        if state == "START":
            open_steps[event.step_key or ""] = step
        else:
            open_steps.pop(event.step_key or "", None)
        error = _root_error(event) if state == "FAIL" else None
        yield (
            record.storage_id,
            _event(state, entry.timestamp, namespace, run_id, event.step_key or "", step, error),
        )


def _event(
    state: str,
    timestamp: float,
    namespace: str,
    run_id: str,
    step_key: str,
    step: AssetStep,
    error: str | None,
) -> RunEvent:
    from openlineage.client.event_v2 import (  # noqa: PLC0415 (see STEP_EVENTS)
        InputDataset,
        Job,
        OutputDataset,
        Run,
        RunEvent,
        RunState,
    )
    from openlineage.client.facet_v2 import RunFacet, error_message_run, job_type_job  # noqa: PLC0415

    run_facets: dict[str, RunFacet] = {}
    if error is not None:
        run_facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
            message=error, programmingLanguage="python"
        )
    return RunEvent(
        eventType=RunState(state),
        eventTime=datetime.fromtimestamp(timestamp, UTC).isoformat(),
        run=Run(runId=step_run_id(run_id, step_key), facets=run_facets),
        job=Job(
            namespace=namespace,
            name=step.job_name,
            facets={
                "jobType": job_type_job.JobTypeJobFacet(
                    processingType="BATCH", integration="DAGSTER", jobType="ASSET"
                )
            },
        ),
        inputs=[InputDataset(namespace=d.namespace, name=d.name) for d in step.inputs],
        outputs=[OutputDataset(namespace=d.namespace, name=d.name) for d in step.outputs],
    )


def _root_error(event: dg.DagsterEvent) -> str:
    """The user's own exception (Dagster wraps it in its step error)."""
    error = event.step_failure_data.error
    while error is not None and error.cause is not None:
        error = error.cause
    return f"{error.cls_name}: {error.message.strip()}" if error is not None else "step failed"
