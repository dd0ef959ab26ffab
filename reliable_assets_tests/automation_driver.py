"""Plays the daemon's part with Dagster's public test APIs, at a chosen time.

Each round evaluates the project's data sensors (`build_sensor_context` + the sensor) and its
automation conditions (`dg.evaluate_automation_conditions`, cursor carried over, as the
automation sensor does), then executes what they requested as in-process runs of the implicit
asset jobs, until a round requests nothing. What ran is kept, labelled by who asked for it.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import dagster as dg

from reliable_assets.graph_runs import execute_assets
from reliable_assets.toolkit.partition_days import RANGE_END_TAG, RANGE_START_TAG


@dataclass
class DrivenRun:
    requested_by: str
    assets: tuple[str, ...]
    partitions: str | None
    success: bool


@dataclass
class AutomationDriver:
    defs: dg.Definitions
    instance: dg.DagsterInstance
    sensor_names: Sequence[str]
    runs: list[DrivenRun] = field(default_factory=list)
    _automation_cursor: Any = None
    _sensor_cursors: dict[str, str | None] = field(default_factory=dict)

    def settle(self, now: datetime, max_rounds: int = 12) -> list[DrivenRun]:
        """Evaluate and execute until nothing more is requested; the runs of this call."""
        start = len(self.runs)
        for _ in range(max_rounds):
            executed = self._sensor_round() + self._automation_round(now)
            if not executed:
                return self.runs[start:]
        raise AssertionError(f"automation still requesting after {max_rounds} rounds: {self.runs[start:]}")

    def _sensor_round(self) -> int:
        executed = 0
        for name in self.sensor_names:
            sensor = self.defs.get_sensor_def(name)
            with dg.build_sensor_context(
                instance=self.instance,
                cursor=self._sensor_cursors.get(name),
                definitions=self.defs,
                resources=self.defs.resources,
            ) as context:
                result = sensor(context)
            assert isinstance(result, dg.SensorResult), name
            self._sensor_cursors[name] = result.cursor
            for request in result.run_requests or []:
                keys = self._request_keys(sensor, request)
                tags = dict(request.tags)
                label = request.partition_key or _range_label(tags)
                self._execute(name, keys, request.partition_key, tags, label)
                executed += 1
        return executed

    def _automation_round(self, now: datetime) -> int:
        result = dg.evaluate_automation_conditions(
            defs=self.defs, instance=self.instance, evaluation_time=now, cursor=self._automation_cursor
        )
        self._automation_cursor = result.cursor
        graph = self.defs.resolve_asset_graph()
        unpartitioned: list[str] = []
        by_partition: dict[str, list[str]] = {}
        for key in sorted(graph.get_all_asset_keys()):
            for partition in result.get_requested_partitions(key):
                if partition is None:
                    unpartitioned.append(key.to_user_string())
                else:
                    by_partition.setdefault(partition, []).append(key.to_user_string())
        if unpartitioned:
            self._execute("automation", unpartitioned, None, {}, None)
        for partition, keys in sorted(by_partition.items()):
            self._execute("automation", keys, partition, {}, partition)
        return len(by_partition) + bool(unpartitioned)

    def _request_keys(self, sensor: dg.SensorDefinition, request: dg.RunRequest) -> list[str]:
        if request.asset_selection:
            return [key.to_user_string() for key in request.asset_selection]
        # A sensor with an asset-selection target gets an implicit job of those assets.
        assert sensor.job_name is not None, f"{sensor.name} requests runs without assets"
        job = self.defs.resolve_job_def(sensor.job_name)
        return sorted(key.to_user_string() for key in job.asset_layer.executable_asset_keys)

    def _execute(
        self, who: str, keys: list[str], partition: str | None, tags: dict[str, str], label: str | None
    ) -> None:
        outcome = execute_assets(
            self.defs, self.instance, keys, who, tags=tags, partition_key=partition, log_level="WARNING"
        )
        self.runs.append(DrivenRun(who, tuple(keys), label, outcome.success))
        assert outcome.success, f"{who} run of {keys} for {label} failed"


def _range_label(tags: dict[str, str]) -> str | None:
    if RANGE_START_TAG in tags:
        return f"{tags[RANGE_START_TAG]}...{tags[RANGE_END_TAG]}"
    return None
