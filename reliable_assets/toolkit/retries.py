"""Retry only where a retry helps (DESIGN.md guarantee 5), decided by `faults.classify`.

Dagster's `RetryPolicy` retries every exception alike, a code bug included, so no asset of this
project has one. Instead:

* `retried_if_transient` wraps an asset's body: a transient error asks Dagster for a step retry
  (`dg.RetryRequested`) after an exponential, jittered wait that honours a server's
  `Retry-After`, at most `STEP_RETRIES.max_retries` times; anything else fails the step at once,
  with no retry of any kind, and a message that says what went wrong and that retrying will not
  fix it. The attempt number goes into the output metadata (`step_attempt`).
* `call_retried_if_transient` re-runs one call: the IO managers' reads and writes, which run
  outside the asset's body. A warehouse write is one transaction and a file is written whole, so
  a write that met a serialization failure or a dropped connection is safe to run again.

Instance-level run retries (`dagster.yaml`, `retry_on_asset_or_op_failure: false`) only re-run
crashed run workers, never a step that failed.
"""

import functools
import inspect
import logging
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import dagster as dg

from reliable_assets.toolkit.faults import Fault, classify
from reliable_assets.toolkit.http_client import backoff_delay

logger = logging.getLogger(__name__)
T = TypeVar("T")
STEP_ATTEMPT_METADATA = "step_attempt"
DURATION_METADATA = "duration_s"
# Module-level so a test can drive durations with a fake clock instead of sleeping.
_clock: Callable[[], float] = time.monotonic


@dataclass(frozen=True)
class Backoff:
    """Bounded exponential backoff with full jitter; a server's `Retry-After` wins if longer."""

    max_retries: int
    base_delay_s: float
    max_delay_s: float

    def delay(self, attempt: int, fault: Fault, rng: random.Random) -> float:
        jittered = backoff_delay(attempt, self.base_delay_s, self.max_delay_s, rng)
        return max(jittered, fault.retry_after_s or 0.0)


STEP_RETRIES = Backoff(max_retries=3, base_delay_s=2.0, max_delay_s=30.0)
MAX_STEP_WAIT_S = 300.0
WRITE_RETRIES = Backoff(max_retries=4, base_delay_s=0.2, max_delay_s=5.0)
_rng = random.Random()  # noqa: S311 (jitter, not security)


class PermanentFailure(dg.Failure):
    """A step error a retry cannot fix, or no longer worth retrying: fails with no retry allowed."""

    def __init__(self, description: str) -> None:
        super().__init__(description=description, allow_retries=False)


def retried_if_transient(compute: Callable[..., Any]) -> Callable[..., Any]:
    """Decorate an asset's compute function (under `@dg.asset`); generators stay generators."""

    def settle(context: dg.AssetExecutionContext, error: Exception) -> BaseException:
        if isinstance(error, dg.Failure | dg.RetryRequested):
            return error  # already decided by the asset (e.g. missing landing files)
        fault = classify(error)
        what = f"{context.op_def.name} (attempt {context.retry_number + 1})"
        if not fault.transient:
            return PermanentFailure(
                f"{what} failed: {fault.reason}. Not retried: the same input fails the same way; fix"
                " the cause named here (data, configuration or code), then re-run the partition."
            )
        if context.retry_number >= STEP_RETRIES.max_retries:
            return PermanentFailure(
                f"{what} gave up after {context.retry_number + 1} attempts, each with a transient"
                f" fault; last: {fault.reason}. The dependency may be down: re-run once it is back."
            )
        wait = STEP_RETRIES.delay(context.retry_number + 1, fault, _rng)
        if wait > MAX_STEP_WAIT_S:  # a server that asks for more: not worth holding a run slot
            return PermanentFailure(
                f"{what}: the server asked to wait {wait:.0f} s ({fault.reason}), longer than a step"
                f" waits ({MAX_STEP_WAIT_S:.0f} s); re-run the partition after that."
            )
        context.log.warning(f"{what}: transient fault, step retried in {wait:.1f} s: {fault.reason}")
        return dg.RetryRequested(max_retries=STEP_RETRIES.max_retries, seconds_to_wait=wait)

    def context_of(args: tuple[Any, ...], kwargs: dict[str, Any]) -> dg.AssetExecutionContext:
        context = kwargs.get("context", args[0] if args else None)
        if not isinstance(context, dg.AssetExecutionContext):
            raise TypeError(f"{compute.__name__} must take the asset context as its first argument")
        return context

    if inspect.isgeneratorfunction(compute):

        @functools.wraps(compute)
        def generator(*args: Any, **kwargs: Any) -> Iterator[Any]:
            context = context_of(args, kwargs)
            started = _clock()
            try:
                for item in compute(*args, **kwargs):
                    yield _with_attempt(item, context, started)
            except Exception as error:
                raise settle(context, error) from error

        return generator

    @functools.wraps(compute)
    def function(*args: Any, **kwargs: Any) -> Any:
        context = context_of(args, kwargs)
        started = _clock()
        try:
            return _with_attempt(compute(*args, **kwargs), context, started)
        except Exception as error:
            raise settle(context, error) from error

    return function


def _with_attempt(item: Any, context: dg.AssetExecutionContext, started: float) -> Any:
    """Outputs carry the step attempt that produced them and how long its body took to produce
    them (checks included; the IO manager's write comes after the output and is not in it)."""
    if isinstance(item, dg.Output):
        attempt = context.retry_number + 1
        duration = dg.MetadataValue.float(round(_clock() - started, 3))
        metadata = {**(item.metadata or {}), STEP_ATTEMPT_METADATA: attempt, DURATION_METADATA: duration}
        return item.with_metadata(metadata)
    return item


def call_retried_if_transient(
    call: Callable[[], T],
    what: str,
    backoff: Backoff = WRITE_RETRIES,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[T, int]:
    """`call()`'s result and the attempts it took; transient faults retried, others raised at once."""
    for attempt in range(1, backoff.max_retries + 2):
        try:
            return call(), attempt
        except Exception as error:
            fault = classify(error)
            if not fault.transient or attempt > backoff.max_retries:
                raise
            wait = backoff.delay(attempt, fault, _rng)
            logger.warning(
                "%s: transient fault (attempt %d), retried in %.2f s: %s", what, attempt, wait, fault.reason
            )
            sleep(wait)
    raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover
