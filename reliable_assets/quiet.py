"""Keep command output to what the user asked for."""

import warnings

import dagster as dg


def silence_dagster_previews() -> None:
    """Beta, preview and supersession notices about Dagster itself are for our developers, not users."""
    for category in (dg.BetaWarning, dg.PreviewWarning, dg.SupersessionWarning):
        warnings.filterwarnings("ignore", category=category)
