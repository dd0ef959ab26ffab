"""When the source extracts run: a daily cron automation condition on each, on by default.

`raw/orders`, `raw/fx_rates` and `raw/customers` read sources that announce nothing, so they run
on a clock shortly after each UTC day closes, for the day that just closed; `raw/events` is
started by the landing-zone sensor instead. Everything downstream follows by automation. The
cron is `RELIABLE_ASSETS_SOURCE_CRON` (default 00:15 UTC): a deployment whose sources settle
later moves it.
"""

import os

import dagster as dg

SOURCE_CRON_ENV = "RELIABLE_ASSETS_SOURCE_CRON"
DEFAULT_SOURCE_CRON = "15 0 * * *"
SOURCE_EXTRACTS = frozenset({"raw/orders", "raw/fx_rates", "raw/customers"})


class InvalidSourceCronError(ValueError):
    """RELIABLE_ASSETS_SOURCE_CRON is not a cron expression."""


def source_cron() -> str:
    cron = os.environ.get(SOURCE_CRON_ENV, DEFAULT_SOURCE_CRON).strip()
    fields = cron.split()
    if len(fields) != 5 or not all(set(field) <= set("0123456789*/,-") for field in fields):
        raise InvalidSourceCronError(
            f"{SOURCE_CRON_ENV}={cron!r} is not a five-field cron expression (minute hour day month"
            f" weekday, e.g. {DEFAULT_SOURCE_CRON!r}); fix or unset it."
        )
    return cron


def with_source_schedule(spec: dg.AssetSpec) -> dg.AssetSpec:
    """Give the source extracts their daily cron condition; leave every other asset alone."""
    if spec.key.to_user_string() not in SOURCE_EXTRACTS:
        return spec
    return spec.replace_attributes(
        automation_condition=dg.AutomationCondition.on_cron(source_cron(), cron_timezone="UTC")
    )
