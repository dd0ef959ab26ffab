"""Dagster's console logger, one JSON object per line on stderr (toolkit/json_log_formatter.py).

Its config is the stock console logger's (`log_level`, `name`), so run config written for
Dagster's `console` logger applies unchanged when this one takes the `console` key.
"""

import logging

import dagster as dg

from reliable_assets.toolkit.json_log_formatter import json_stderr_handler


@dg.logger(
    {
        "log_level": dg.Field(str, is_required=False, default_value="INFO", description="The threshold."),
        "name": dg.Field(str, is_required=False, default_value="dagster", description="The logger's name."),
    },
    description="The console logger, one JSON object per line on stderr.",
)
def json_console_logger(init_context: dg.InitLoggerContext) -> logging.Logger:
    config = init_context.logger_config
    # A logger of its own, outside logging's tree like Dagster's console logger: nothing propagates
    # to handlers installed by someone else.
    logger = logging.Logger(config["name"], level=config["log_level"].upper())
    logger.addHandler(json_stderr_handler())
    return logger


def use_json_console_for_every_run() -> None:
    """Make the JSON console the fallback logger of runs whose run config names no logger.

    Dagster falls back to `dagster._loggers.colored_console_logger` (through `default_system_loggers`
    and `default_loggers`, which read that module global when a run starts). No public API replaces
    this fallback: `Definitions(loggers=...)` reaches only runs whose config names the logger, and
    the instance's `python_logs` handlers only add output beside the colored lines. So the global is
    rebound here, in this process only; the public `dg.colored_console_logger` is left as it is, and
    `test_json_logs.py` pins the behaviour for the pinned Dagster version.
    """
    import dagster._loggers as dagster_loggers  # noqa: PLC0415  no public API replaces the fallback logger

    dagster_loggers.colored_console_logger = json_console_logger
