"""How a run executes its steps: `RELIABLE_ASSETS_EXECUTOR`, in-process by default.

Dagster's default executor starts a fresh Python process per step, and each one imports Dagster,
pandas and this code location (about 2 s here) before doing any work: a backfill chunk of eleven
steps paid more for process starts than for its data. Runs are the unit of parallelism instead:
two backfill chunks run side by side (`dagster.yaml`), and inside a run the segment models train
on a thread pool. `make bench` (bench_backfill) measures the choices; see the README, Backfills.

* `in_process` (default): every step in the run worker's own process.
* `multiprocess`: Dagster's default, one spawned process per step, at most one per core.
* `forkserver`: one process per step, forked from a server that imported this code location once.
"""

import os

import dagster as dg

EXECUTOR_ENV = "RELIABLE_ASSETS_EXECUTOR"
DEFAULT_EXECUTOR = "in_process"


class UnknownExecutorError(ValueError):
    """RELIABLE_ASSETS_EXECUTOR names no executor this project offers."""


def executor() -> dg.ExecutorDefinition:
    choice = os.environ.get(EXECUTOR_ENV, DEFAULT_EXECUTOR).strip() or DEFAULT_EXECUTOR
    if choice == "in_process":
        return dg.in_process_executor
    if choice == "multiprocess":
        return dg.multiprocess_executor
    if choice == "forkserver":
        return dg.multiprocess_executor.configured(
            {"start_method": {"forkserver": {"preload_modules": ["reliable_assets.definitions"]}}},
            name="forkserver_multiprocess",
        )
    raise UnknownExecutorError(
        f"{EXECUTOR_ENV}={choice!r} is not an executor of this project; use in_process (default),"
        " multiprocess or forkserver."
    )
