"""Keep command output to what the user asked for."""

import warnings

import dagster as dg


def silence_dagster_previews() -> None:
    """Beta/preview notices about Dagster's own APIs are for this project's developers, not its users."""
    warnings.filterwarnings("ignore", category=dg.BetaWarning)
    warnings.filterwarnings("ignore", category=dg.PreviewWarning)
