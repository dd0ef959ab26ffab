"""The error of a bad setting, in a module of its own so that light commands (the CLI's
`simulate`, `rates-api`) can raise it without importing Dagster through `settings`."""


class InvalidSettingError(ValueError):
    """An environment variable holds a value the project cannot use."""
