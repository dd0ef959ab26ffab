"""Use a Dagster API that is still marked beta/preview/superseded, on purpose and quietly.

Dagster warns on every load when a project uses such an API, and those lines land in the user's
`dagster asset list` and `materialize` output, where nothing can be done about them. Each call
site that opts in says why in a comment; the notices are silenced there and nowhere else.
"""

import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg

NOTICES = (dg.BetaWarning, dg.PreviewWarning, dg.SupersessionWarning)


@contextmanager
def opted_in() -> Iterator[None]:
    with warnings.catch_warnings():
        for category in NOTICES:
            warnings.simplefilter("ignore", category)
        yield
