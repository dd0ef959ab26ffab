"""Retry only where a retry helps.

Step retries (exponential backoff with jitter, bounded) are for transient faults. Errors that a
retry cannot fix are turned into `dg.Failure(allow_retries=False)`, so the step fails at once with
a message that says what to fix instead of burning its retries.
"""

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg

TRANSIENT_RETRY_POLICY = dg.RetryPolicy(
    max_retries=3, delay=2.0, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)


@contextmanager
def fail_permanently_on(*permanent_errors: type[BaseException]) -> Iterator[None]:
    """Inside the block, the given error types fail the step with no retry."""
    try:
        yield
    except permanent_errors as error:
        raise dg.Failure(description=f"{type(error).__name__}: {error}", allow_retries=False) from error
