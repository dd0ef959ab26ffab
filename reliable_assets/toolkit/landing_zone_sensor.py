"""A sensor that starts one run per partition whose landing files are new or changed, and never
skips a file.

Why not the usual cursor
------------------------
The common S3 sensor keeps the highest ``LastModified`` seen (or the last key) and lists only what
is newer. That skips files: an upload that started earlier finishes later (S3 stamps the *start*),
several files share one second-resolution timestamp, writers' clocks differ, a late file for an
old day sorts before the last key. And it emits ``run_key=<file key>``, so a re-upload of a file
with new content repeats a run key, which Dagster silently drops: the new data is never loaded.

The cursor here
---------------
Every tick lists the whole prefix (the ``LandingZone`` paginates) and groups the files by the
partition ``partition_for_key`` assigns them. Per partition, the cursor keeps

    partition -> [generation, digest]

where ``digest`` is a 80-bit BLAKE2b hash of the partition's sorted ``(key, version)`` pairs
(``version`` is the S3 ETag, or size+mtime on disk) and ``generation`` counts the digest's changes.
A partition whose digest differs from the cursor's (a new file, a changed one, a removed one) gets
one ``RunRequest`` with ``run_key = "<partition>:<generation>:<digest>"``:

* the digest changes with any file's content, so a re-upload gets a new run key and a new run;
  an unchanged set of files gives the same digest, so it never starts a second run;
* nothing depends on timestamps or key order, so late, out-of-order and same-second files are seen;
* the generation keeps run keys unique when a partition's content goes back to an earlier state
  (A -> B -> A), which a digest alone would repeat (and Dagster would drop);
* if the daemon dies after submitting runs but before storing the cursor, the retried tick
  computes the same keys and Dagster de-duplicates them: no double runs.

Trade-offs: the cursor grows with the number of *partitions* present, not files (about 40 bytes
each, so a thousand days is ~40 kB; thousands of files per day cost nothing), and a partition
drops out of it when its files are gone (retention). It cannot say *which* file changed, only that
the partition did, which is all one run per partition needs. Each tick lists the whole prefix
(~1 request per 1,000 objects): keep the zone bounded with a lifecycle rule, or point ``prefix``
at the recent part. After a manual cursor reset every partition is re-evaluated at generation 1;
run keys already used are dropped by Dagster, so a reset does not re-run unchanged partitions
(except the rare partition whose files went back to the content of its first run).

Files of a partition that does not exist yet (today's, for a daily definition) are held back,
left out of the cursor, and requested on the first tick after the partition exists.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import dagster as dg

from reliable_assets.toolkit.landing_zone import LandingFile, LandingZone

CURSOR_FORMAT_VERSION = 1
FILES_TAG = "landing_zone/files"
GENERATION_TAG = "landing_zone/generation"


class LandingCursorError(ValueError):
    """A cursor this sensor did not write (or an incompatible format)."""


@dataclass(frozen=True)
class PartitionState:
    generation: int
    digest: str


@dataclass(frozen=True)
class LandingCursor:
    partitions: Mapping[str, PartitionState] = field(default_factory=dict)

    def encode(self) -> str:
        entries = {key: [s.generation, s.digest] for key, s in sorted(self.partitions.items())}
        return json.dumps({"v": CURSOR_FORMAT_VERSION, "partitions": entries}, separators=(",", ":"))

    @classmethod
    def decode(cls, cursor: str | None) -> LandingCursor:
        if not cursor:
            return cls()
        try:
            document = json.loads(cursor)
            if document["v"] != CURSOR_FORMAT_VERSION:
                raise LandingCursorError(f"unknown cursor format version {document['v']!r}")
            states = {
                str(key): PartitionState(int(generation), str(digest))
                for key, (generation, digest) in document["partitions"].items()
            }
        except (ValueError, KeyError, TypeError) as error:
            raise LandingCursorError(
                f"Landing-zone sensor cursor {cursor[:80]!r} is not one this sensor wrote ({error}). "
                "Clear the cursor in the UI (Sensors > the sensor > Cursor) to start afresh."
            ) from error
        return cls(states)


def files_digest(files: Iterable[LandingFile]) -> str:
    """A hash of the files' (key, version) pairs in key order; length-prefixed, so unambiguous."""
    digest = hashlib.blake2b(digest_size=10)
    for landing_file in sorted(files, key=lambda f: f.key):
        digest.update(f"{len(landing_file.key)}:{landing_file.key}{len(landing_file.version)}:".encode())
        digest.update(landing_file.version.encode())
    return digest.hexdigest()


@dataclass(frozen=True)
class TickPlan:
    run_requests: list[dg.RunRequest]
    cursor: LandingCursor
    files_seen: int
    held_back: dict[str, int]  # partition -> files, for partitions that do not exist yet


def plan_tick(
    files: Iterable[LandingFile],
    cursor: LandingCursor,
    partition_for_key: Callable[[str], str | None],
    partition_exists: Callable[[str], bool] = lambda _: True,
) -> TickPlan:
    """The run requests and the next cursor for one listing (pure: no I/O, easy to test)."""
    grouped: dict[str, list[LandingFile]] = {}
    seen = 0
    for landing_file in files:
        partition = partition_for_key(landing_file.key)
        if partition is not None:
            grouped.setdefault(partition, []).append(landing_file)
            seen += 1
    states: dict[str, PartitionState] = {}
    held_back: dict[str, int] = {}
    requests: list[dg.RunRequest] = []
    for partition, partition_files in sorted(grouped.items()):
        if not partition_exists(partition):
            held_back[partition] = len(partition_files)
            continue
        digest = files_digest(partition_files)
        previous = cursor.partitions.get(partition)
        if previous is not None and previous.digest == digest:
            states[partition] = previous
            continue
        state = PartitionState((previous.generation if previous else 0) + 1, digest)
        states[partition] = state
        requests.append(
            dg.RunRequest(
                run_key=f"{partition}:{state.generation}:{digest}",
                partition_key=partition,
                tags={FILES_TAG: str(len(partition_files)), GENERATION_TAG: str(state.generation)},
            )
        )
    # Partitions that vanished from the listing drop out; held-back ones were never recorded.
    return TickPlan(requests, LandingCursor(states), seen, held_back)


def build_landing_zone_sensor(
    *,
    name: str,
    target: Any,  # whatever `@dg.sensor(target=...)` accepts: a selection, assets or a job
    prefix: str,
    partition_for_key: Callable[[str], str | None],
    partitions_def: dg.PartitionsDefinition | None = None,
    minimum_interval_seconds: int = 30,
    default_status: dg.DefaultSensorStatus = dg.DefaultSensorStatus.STOPPED,
    description: str | None = None,
) -> dg.SensorDefinition:
    """A sensor over the `LandingZone` resource bound to the key `landing_zone` (folder or S3).

    `partition_for_key` maps a file key (relative to the zone) to its partition key, or None for
    files the target does not read. With `partitions_def`, files of a partition that does not
    exist yet are held back until it does.
    """
    exists = partitions_def.has_partition_key if partitions_def is not None else (lambda _: True)

    @dg.sensor(
        name=name,
        target=target,
        minimum_interval_seconds=minimum_interval_seconds,
        default_status=default_status,
        description=description or f"Runs each partition whose landing files under {prefix!r} changed.",
    )
    def _landing_zone_sensor(
        context: dg.SensorEvaluationContext, landing_zone: LandingZone
    ) -> dg.SensorResult:
        plan = plan_tick(
            landing_zone.list_files(prefix), LandingCursor.decode(context.cursor), partition_for_key, exists
        )
        if plan.held_back:
            context.log.info(
                f"Holding back {sum(plan.held_back.values())} files of partitions that do not exist yet: "
                f"{sorted(plan.held_back)}"
            )
        cursor = plan.cursor.encode()
        if plan.run_requests:
            return dg.SensorResult(run_requests=plan.run_requests, cursor=cursor)
        return dg.SensorResult(
            skip_reason=(
                f"No new or changed files under {prefix!r} ({plan.files_seen} files in"
                f" {len(plan.cursor.partitions)} partitions, {len(plan.held_back)} partitions held back)."
            ),
            cursor=cursor,
        )

    return _landing_zone_sensor
