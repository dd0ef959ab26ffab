"""`RELIABLE_ASSETS_LOG_FORMAT`: `text` (default: Dagster's colored console, as ever) or `json`.

`json` makes a run's console output one JSON object per line (toolkit/json_log_formatter.py):
every job's `console` logger becomes the JSON one, and the project's own Python loggers
(`reliable_assets.*`), Python warnings and the stream handlers Dagster's CLI put on its `dagster`
logger get the same formatter. Read when the code location loads, like every other setting; this
module loads no Dagster, so the CLI's light commands use it too.
"""

import logging
import os
import warnings
from typing import TYPE_CHECKING

from reliable_assets.setting_errors import InvalidSettingError
from reliable_assets.toolkit.json_log_formatter import JsonLineFormatter, StderrHandler, json_stderr_handler

if TYPE_CHECKING:
    import dagster as dg

LOG_FORMAT_ENV_VAR = "RELIABLE_ASSETS_LOG_FORMAT"
LOG_FORMATS = ("text", "json")
PROJECT_LOGGER = "reliable_assets"
DAGSTER_LOGGER = "dagster"
WARNINGS_LOGGER = "py.warnings"


def log_format() -> str:
    """`text` unless the variable says `json`; any other value fails, naming the variable."""
    text = os.environ.get(LOG_FORMAT_ENV_VAR, "").strip()
    if text.lower() in ("", "text"):
        return "text"
    if text.lower() == "json":
        return "json"
    raise InvalidSettingError(
        f"{LOG_FORMAT_ENV_VAR}={text!r} is not a log format of this project; use 'json' (one JSON"
        " object per line) or 'text' (the default, also when unset)."
    )


def run_loggers() -> dict[str, "dg.LoggerDefinition"]:
    """The loggers of every job: none of our own for `text` (Dagster's defaults), the JSON console
    under Dagster's `console` key for `json`.

    Dagster uses a job's loggers only for runs whose run config names them (`loggers: {console:
    ...}`); every other run, from the CLI, the UI or a sensor, gets the fallback console logger.
    So `json` also rebinds that fallback (`use_json_console_for_every_run`).
    """
    if log_format() == "text":
        return {}
    from reliable_assets.toolkit.json_console_logger import (  # noqa: PLC0415 (loads dagster)
        json_console_logger,
        use_json_console_for_every_run,
    )

    use_json_console_for_every_run()
    return {"console": json_console_logger}


def configure_python_logging() -> None:
    """In `json` mode, JSON lines for the project's loggers, warnings and Dagster's CLI handlers;
    in `text` mode, nothing changes. Safe to call more than once."""
    if log_format() == "text":
        return
    for name in (PROJECT_LOGGER, WARNINGS_LOGGER):
        logger = logging.getLogger(name)
        if not any(isinstance(handler, StderrHandler) for handler in logger.handlers):
            logger.addHandler(json_stderr_handler())
        logger.propagate = False  # else Python's last-resort handler prints it again, as text
    # `dagster dev`, the daemon and code servers put stream handlers on the `dagster` logger.
    for handler in logging.getLogger(DAGSTER_LOGGER).handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setFormatter(JsonLineFormatter())
    # Python prints a warning as several lines of text (Dagster's CLI reroutes them to its own
    # logger); as records of `py.warnings` each is one JSON line, as logging.captureWarnings does.
    warnings.showwarning = _log_warning


def _log_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: object = None,
    line: str | None = None,
) -> None:
    text = warnings.formatwarning(message, category, filename, lineno, line).strip()
    logging.getLogger(WARNINGS_LOGGER).warning("%s", text)
