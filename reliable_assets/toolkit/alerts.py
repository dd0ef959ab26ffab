"""Alerts: a Slack-compatible webhook when one is configured, always the log and a table.

Each alert has a deterministic id (a failed run's id, a failed check's run and name, an asset's
missed deadline). The sink records what it sent in ``ops.alerts`` (upsert on ``alert_id``) and
never sends an id twice, so a sensor tick that is retried, or that sees the same failure again,
does not page anyone twice. Delivery is at least once: a crash between the POST and the record
can repeat one alert; a failed POST fails the sensor tick, whose cursor then does not move, so the
next tick tries again. The webhook URL is a secret (Slack's carry a token): it only ever comes
from ``ALERT_WEBHOOK_URL`` through ``dg.EnvVar`` and never appears in a message or a log line.
"""

# No `from __future__ import annotations`: Dagster/pydantic must see real types on config classes
# (a string `dg.ResourceDependency[...]` annotation fails validation).
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import dagster as dg
import pandas as pd
import requests
from pydantic import Field

from reliable_assets.toolkit.partition_filter import PartitionFilter
from reliable_assets.toolkit.warehouse import Warehouse

ALERTS_SCHEMA, ALERTS_TABLE = "ops", "alerts"
logger = logging.getLogger(__name__)


class AlertDeliveryError(RuntimeError):
    """The webhook did not take the alert; the message never contains the URL."""


@dataclass(frozen=True)
class Alert:
    alert_id: str  # deterministic: the same failure always gets the same id
    kind: str  # run_failure | check_failure | freshness | latency
    title: str
    details: Mapping[str, str] = field(default_factory=dict)

    def text(self) -> str:
        lines = [f"[reliable_assets] {self.title}"]
        lines += [f"• {name}: {value}" for name, value in self.details.items()]
        return "\n".join(lines)


class AlertSink(dg.ConfigurableResource):
    """Sends alerts once each: to ``webhook_url`` if set, to the log, and into ``ops.alerts``."""

    warehouse: dg.ResourceDependency[Warehouse]
    webhook_url: str | None = Field(
        default=None, description="Slack-compatible incoming webhook (pass via dg.EnvVar); unset: log only."
    )
    timeout_seconds: float = Field(default=10.0, gt=0)

    def send(self, alerts: Sequence[Alert]) -> list[Alert]:
        """Deliver the alerts not delivered before; returns those it delivered now."""
        delivered_before = self._delivered(alerts)
        fresh = [alert for alert in _unique(alerts) if alert.alert_id not in delivered_before]
        delivered = []
        for alert in fresh:
            logger.warning(alert.text())
            if self.webhook_url:
                self._post(alert)
            delivered.append(alert)
            self._record(alert)  # one by one: a failed POST later keeps the earlier ones recorded
        return delivered

    def _delivered(self, alerts: Sequence[Alert]) -> set[str]:
        if not alerts or not self.warehouse.table_exists(ALERTS_SCHEMA, ALERTS_TABLE):
            return set()
        ids = PartitionFilter.value_set("alert_id", sorted({alert.alert_id for alert in alerts}))
        return set(self.warehouse.read_table(ALERTS_SCHEMA, ALERTS_TABLE, partition=ids)["alert_id"])

    def _post(self, alert: Alert) -> None:
        assert self.webhook_url is not None
        try:
            response = requests.post(
                self.webhook_url, json={"text": alert.text()}, timeout=self.timeout_seconds
            )
        except requests.RequestException as error:
            # requests puts the URL in its messages: name the exception type only.
            raise AlertDeliveryError(
                f"Alert {alert.alert_id!r} not delivered: {type(error).__name__} reaching ALERT_WEBHOOK_URL."
                " The next sensor tick retries it."
            ) from None
        if response.status_code >= 300:
            raise AlertDeliveryError(
                f"Alert {alert.alert_id!r} not delivered: ALERT_WEBHOOK_URL answered HTTP"
                f" {response.status_code}. The next sensor tick retries it."
            )

    def _record(self, alert: Alert) -> None:
        row = {
            "alert_id": alert.alert_id,
            "kind": alert.kind,
            "title": alert.title,
            "details": json.dumps(dict(alert.details), sort_keys=True),
            "channel": "webhook" if self.webhook_url else "log",
            "sent_at": pd.Timestamp(datetime.now(UTC)),
        }
        self.warehouse.upsert(ALERTS_SCHEMA, ALERTS_TABLE, pd.DataFrame([row]), keys=["alert_id"])


def _unique(alerts: Sequence[Alert]) -> list[Alert]:
    return list({alert.alert_id: alert for alert in alerts}.values())
