"""The landing-zone sensor on a real S3 API (moto over HTTP) and on a local folder.

Every case is asserted on the run requests and on the cursor. The S3 zone lives under a prefix
of its bucket; `LastModified` is set by the server's clock, frozen where a case needs equal or
backward timestamps. The local zone gets the same timestamps through file mtimes.
"""

import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest

from reliable_assets.toolkit.landing_zone import LandingFile, LandingZone, LocalLandingZone
from reliable_assets.toolkit.landing_zone_sensor import (
    GENERATION_TAG,
    LandingCursor,
    LandingCursorError,
    build_landing_zone_sensor,
    plan_tick,
)
from reliable_assets.toolkit.s3_landing_zone import S3LandingZone
from reliable_assets_tests.s3_server import S3Bucket, s3_bucket_fixture, s3_endpoint_fixture  # noqa: F401

DAILY = dg.DailyPartitionsDefinition(start_date="2024-01-01")
T0 = datetime(2024, 3, 10, 12, 0, 0)  # naive UTC, as moto's clock
INSTANCE = dg.DagsterInstance.ephemeral()  # the sensor never writes to it; one per module is enough


def day_of(key: str) -> str | None:
    parts = key.split("/")
    return parts[1] if len(parts) == 3 and parts[0] == "in" else None


SENSOR = build_landing_zone_sensor(
    name="files_sensor",
    target=dg.AssetSelection.assets("ingested"),
    prefix="in",
    partition_for_key=day_of,
    partitions_def=DAILY,
)


class Zone:
    """Puts files with a chosen arrival time into one landing zone, S3 or local."""

    def __init__(self, resource: LandingZone, put: Callable[[str, bytes, datetime], None]) -> None:
        self.resource = resource
        self._put = put

    def put(self, key: str, body: bytes, at: datetime = T0) -> None:
        self._put(key, body, at)

    def tick(self, cursor: str | None) -> dg.SensorResult:
        with dg.build_sensor_context(
            cursor=cursor, instance=INSTANCE, resources={"landing_zone": self.resource}
        ) as context:
            result = SENSOR(context)
        assert isinstance(result, dg.SensorResult)
        return result


@pytest.fixture(params=["s3", "local"])
def zone(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Zone:
    if request.param == "local":

        def put_local(key: str, body: bytes, at: datetime) -> None:
            path = tmp_path / key
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(body)
            stamp = at.replace(tzinfo=UTC).timestamp()
            os.utime(path, (stamp, stamp))

        return Zone(LocalLandingZone(root=str(tmp_path)), put_local)
    bucket: S3Bucket = request.getfixturevalue("s3")

    def put_s3(key: str, body: bytes, at: datetime) -> None:
        with bucket.freeze_server_clock(monkeypatch, at):
            bucket.put(f"zone/{key}", body)

    return Zone(S3LandingZone(bucket=bucket.name, prefix="zone", s3=bucket.resource()), put_s3)


def requested(result: dg.SensorResult) -> dict[str, str]:
    """partition -> run_key of the tick's run requests."""
    return {str(r.partition_key): str(r.run_key) for r in result.run_requests or []}


def generations(result: dg.SensorResult) -> dict[str, int]:
    return {k: s.generation for k, s in LandingCursor.decode(result.cursor).partitions.items()}


def test_new_files_give_one_run_per_partition_and_unchanged_files_none(zone: Zone) -> None:
    """Invariant: new files start one run per day (run key = day, generation, digest); a tick with
    nothing new requests nothing and leaves the cursor as it was."""
    for hour in range(3):
        zone.put(f"in/2024-03-01/f{hour}.jsonl", b"a")
    zone.put("in/2024-03-02/f0.jsonl", b"b")
    zone.put("other/2024-03-02/ignored.txt", b"c")  # outside the prefix
    first = zone.tick(None)
    keys = requested(first)
    assert sorted(keys) == ["2024-03-01", "2024-03-02"]
    assert keys["2024-03-01"].startswith("2024-03-01:1:")
    tags = {str(r.partition_key): r.tags for r in first.run_requests or []}
    assert tags["2024-03-01"]["landing_zone/files"] == "3"
    assert generations(first) == {"2024-03-01": 1, "2024-03-02": 1}
    second = zone.tick(first.cursor)
    assert requested(second) == {}
    assert second.skip_reason is not None
    assert second.cursor == first.cursor


def test_reupload_with_new_content_gets_a_new_run_key(zone: Zone) -> None:
    """Invariant: a file replaced with new bytes re-runs its day under a run key never used before
    (Dagster drops repeated keys), even when the content goes back to an earlier state."""
    zone.put("in/2024-03-01/f0.jsonl", b"v1")
    zone.put("in/2024-03-02/f0.jsonl", b"other day")
    first = zone.tick(None)
    zone.put("in/2024-03-01/f0.jsonl", b"v2 - longer", at=T0 + timedelta(minutes=1))
    second = zone.tick(first.cursor)
    assert list(requested(second)) == ["2024-03-01"]
    assert requested(second)["2024-03-01"] != requested(first)["2024-03-01"]
    assert generations(second) == {"2024-03-01": 2, "2024-03-02": 1}
    zone.put("in/2024-03-01/f0.jsonl", b"v1")  # back to the first bytes (and first mtime)
    third = zone.tick(second.cursor)
    run_keys = {requested(r)["2024-03-01"] for r in (first, second, third)}
    assert len(run_keys) == 3
    assert generations(third)["2024-03-01"] == 3


def test_late_file_for_an_old_day_reruns_that_day_only(zone: Zone) -> None:
    """Invariant: a file landing days later for an old day re-runs that day and no other."""
    for day in ("01", "02", "03"):
        zone.put(f"in/2024-03-{day}/f0.jsonl", b"x", at=T0)
    first = zone.tick(None)
    zone.put("in/2024-03-01/f9-late.jsonl", b"late", at=T0 + timedelta(days=3))
    second = zone.tick(first.cursor)
    assert list(requested(second)) == ["2024-03-01"]
    assert generations(second) == {"2024-03-01": 2, "2024-03-02": 1, "2024-03-03": 1}


def test_out_of_order_and_backdated_files_are_not_skipped(zone: Zone) -> None:
    """Invariant: a file whose key sorts before and whose timestamp is older than everything already
    seen (an upload that started first, finished last) still starts a run."""
    zone.put("in/2024-03-05/f9.jsonl", b"newest first", at=T0)
    first = zone.tick(None)
    zone.put("in/2024-03-05/f0.jsonl", b"older", at=T0 - timedelta(hours=1))
    zone.put("in/2024-03-04/f0.jsonl", b"older day", at=T0 - timedelta(hours=2))
    second = zone.tick(first.cursor)
    assert sorted(requested(second)) == ["2024-03-04", "2024-03-05"]
    assert generations(second) == {"2024-03-04": 1, "2024-03-05": 2}


def test_files_sharing_a_timestamp_are_not_skipped(zone: Zone) -> None:
    """Invariant: files with the same timestamp as files already seen are not skipped, whether they
    land in a day already run or in a new one."""
    zone.put("in/2024-03-01/a.jsonl", b"a", at=T0)
    first = zone.tick(None)
    zone.put("in/2024-03-01/b.jsonl", b"b", at=T0)
    zone.put("in/2024-03-02/a.jsonl", b"c", at=T0)
    stamps = {f.modified for f in zone.resource.list_files("in")}
    assert len(stamps) == 1  # really the same instant
    second = zone.tick(first.cursor)
    assert sorted(requested(second)) == ["2024-03-01", "2024-03-02"]
    assert generations(second) == {"2024-03-01": 2, "2024-03-02": 1}


def test_partitions_not_yet_existing_are_held_back(zone: Zone) -> None:
    """Invariant: files of a day that is not a partition yet are neither requested nor recorded, so
    they are requested once the partition exists."""
    future = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()
    zone.put(f"in/{future}/f0.jsonl", b"early")
    zone.put("in/2024-03-01/f0.jsonl", b"x")
    result = zone.tick(None)
    assert list(requested(result)) == ["2024-03-01"]
    assert future not in LandingCursor.decode(result.cursor).partitions


def test_removed_day_leaves_the_cursor_without_a_run(zone: Zone, tmp_path: Path) -> None:
    """Invariant: a day whose files are all gone (retention) drops out of the cursor, no run."""
    zone.put("in/2024-03-01/f0.jsonl", b"x")
    zone.put("in/2024-03-02/f0.jsonl", b"y")
    first = zone.tick(None)
    if isinstance(zone.resource, LocalLandingZone):
        (tmp_path / "in/2024-03-01/f0.jsonl").unlink()
    else:
        assert isinstance(zone.resource, S3LandingZone)
        zone.resource.client().delete_object(Bucket=zone.resource.bucket, Key="zone/in/2024-03-01/f0.jsonl")
    second = zone.tick(first.cursor)
    assert requested(second) == {}
    assert generations(second) == {"2024-03-02": 1}


def test_same_bytes_reuploaded_to_s3_start_no_run(s3: S3Bucket, monkeypatch: pytest.MonkeyPatch) -> None:
    """Invariant: on S3 an upload of identical bytes (same ETag) later on is not a change."""
    zone = Zone(S3LandingZone(bucket=s3.name, prefix="", s3=s3.resource()), lambda k, b, at: s3.put(k, b))
    zone.put("in/2024-03-01/f0.jsonl", b"same")
    first = zone.tick(None)
    zone.put("in/2024-03-01/f0.jsonl", b"same")
    second = zone.tick(first.cursor)
    assert requested(second) == {}
    assert second.cursor == first.cursor


def test_thousands_of_files_in_one_tick_give_one_request_per_day(s3: S3Bucket) -> None:
    """Invariant: 3,003 objects (four 1,000-key pages) are listed whole and grouped into one run
    request per day, and the cursor stays small (per day, not per file)."""
    s3.seed({f"in/2024-03-0{d}/f{i:04}.jsonl": f"{d}-{i}".encode() for d in (1, 2, 3) for i in range(1001)})
    zone = Zone(S3LandingZone(bucket=s3.name, s3=s3.resource()), lambda k, b, at: None)
    result = zone.tick(None)
    assert sorted(requested(result)) == ["2024-03-01", "2024-03-02", "2024-03-03"]
    assert {r.tags["landing_zone/files"] for r in result.run_requests or []} == {"1001"}
    assert result.cursor is not None
    assert len(result.cursor) < 300
    s3.put("in/2024-03-02/f0500.jsonl", b"changed in the middle of page two")
    second = zone.tick(result.cursor)
    assert list(requested(second)) == ["2024-03-02"]
    assert [r.tags[GENERATION_TAG] for r in second.run_requests or []] == ["2"]


def test_retried_tick_repeats_its_run_keys_and_foreign_cursor_is_refused() -> None:
    """Invariant: the same listing and cursor give the same run keys (a tick retried after a daemon
    crash is de-duplicated by Dagster); a cursor this sensor did not write fails loudly."""
    files = [
        LandingFile(f"in/2024-03-01/f{i}", 1, datetime(2024, 3, 1, tzinfo=UTC), f"e{i}") for i in range(3)
    ]
    plans = [plan_tick(files, LandingCursor(), day_of) for _ in range(2)]
    assert [r.run_key for r in plans[0].run_requests] == [r.run_key for r in plans[1].run_requests]
    with pytest.raises(LandingCursorError, match="Clear the cursor"):
        LandingCursor.decode("2024-03-01T00:00:00")
