"""`landing_zone_sensor` for `raw/events`: the landing layout, and simulated landing files on S3
(moto over HTTP) starting the day runs that then load them."""

import io
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from reliable_assets.raw.assets import events
from reliable_assets.raw.sensors import event_day_for_key, landing_zone_sensor
from reliable_assets.settings import local_resources
from reliable_assets.simulator.landing import LocalLandingWriter
from reliable_assets.simulator.run import simulate
from reliable_assets.simulator.s3_landing import S3LandingWriter
from reliable_assets.toolkit.dead_letters import DeadLetterQueue
from reliable_assets.toolkit.duckdb_warehouse import DuckDBWarehouse
from reliable_assets.toolkit.landing_zone import LandingZone, LocalLandingZone
from reliable_assets.toolkit.landing_zone_sensor import FILES_TAG, LandingCursor
from reliable_assets.toolkit.s3_io_managers import S3ParquetIOManager
from reliable_assets.toolkit.s3_landing_zone import S3LandingZone
from reliable_assets_tests.conftest import SIM_DAY_LIST, small_simulation
from reliable_assets_tests.s3_server import S3Bucket, s3_bucket_fixture, s3_endpoint_fixture  # noqa: F401


@pytest.mark.parametrize(
    ("key", "day"),
    [
        ("events/2024-03-01/events-2024-03-01T05.jsonl", "2024-03-01"),
        ("events/2024-03-01/nested/any-name.json", "2024-03-01"),  # raw/events reads the whole folder
        ("events/2024-02-30/events-x.jsonl", None),  # not a date
        ("events/2024-03-01", None),
        ("orders/2024-03-01/x.jsonl", None),
    ],
)
def test_landing_keys_map_to_their_day(key: str, day: str | None) -> None:
    """Invariant: every file in events/<day>/ belongs to that day's partition; nothing else does."""
    assert event_day_for_key(key) == day


def test_sensor_contract(data_dir: Path) -> None:
    """Invariant: the sensor is named as DESIGN.md says, targets raw/events, runs by default and
    loads with the local deployment's resources."""
    assert landing_zone_sensor.name == "landing_zone_sensor"
    assert landing_zone_sensor.default_status == dg.DefaultSensorStatus.RUNNING
    defs = dg.Definitions(assets=[events], sensors=[landing_zone_sensor], resources=local_resources())
    assert landing_zone_sensor.job_name is not None
    job = defs.resolve_job_def(landing_zone_sensor.job_name)
    assert job.asset_layer.executable_asset_keys == {dg.AssetKey(["raw", "events"])}


def _tick(zone: LandingZone, cursor: str | None) -> dg.SensorResult:
    with dg.build_sensor_context(
        cursor=cursor, instance=dg.DagsterInstance.ephemeral(), resources={"landing_zone": zone}
    ) as context:
        result = landing_zone_sensor(context)
    assert isinstance(result, dg.SensorResult)
    return result


def test_simulated_landing_on_s3_starts_one_run_per_day_and_the_run_loads_it(
    s3: S3Bucket, data_dir: Path, tmp_path: Path
) -> None:
    """Invariant: the simulator writes the same bytes to S3 as to the folder; the sensor requests
    one raw/events run per simulated day, and the requested run loads the day from S3 into S3;
    simulating the same world again changes no ETag, so no run is requested."""
    writer = S3LandingWriter(s3.client, s3.name, prefix="landing")
    simulate(small_simulation(), landing_writer=writer)
    local_root = tmp_path / "local-landing"
    simulate(small_simulation(), landing_writer=LocalLandingWriter(local_root))
    zone = S3LandingZone(bucket=s3.name, prefix="landing", s3=s3.resource())
    local = LocalLandingZone(root=str(local_root))
    assert [f.key for f in zone.list_files("events")] == [f.key for f in local.list_files("events")]
    assert all(zone.read_bytes(f.key) == local.read_bytes(f.key) for f in local.list_files("events"))

    first = _tick(zone, None)
    days = [str(r.partition_key) for r in first.run_requests or []]
    assert days == [day.isoformat() for day in SIM_DAY_LIST]
    files_per_day = {d: str(len(zone.list_files(f"events/{d}"))) for d in days}
    assert {str(r.partition_key): r.tags[FILES_TAG] for r in first.run_requests or []} == files_per_day
    assert sorted(LandingCursor.decode(first.cursor).partitions) == days

    simulate(small_simulation(), landing_writer=writer)
    again = _tick(zone, first.cursor)
    assert again.run_requests == []
    assert again.cursor == first.cursor

    warehouse = DuckDBWarehouse(path=str(tmp_path / "dwh.duckdb"))
    run = dg.materialize(
        [events],
        partition_key=days[0],
        resources={
            "landing_zone": zone,
            "dead_letters": DeadLetterQueue(warehouse=warehouse),
            "warehouse": warehouse,
            "raw_io_manager": S3ParquetIOManager(bucket=s3.name, s3=s3.resource()),
        },
    )
    assert run.success
    body = s3.client.get_object(Bucket=s3.name, Key=f"raw/events/{days[0]}.parquet")["Body"].read()
    assert len(pd.read_parquet(io.BytesIO(body))) > 0


def test_s3_writer_removes_stale_files_of_a_day(s3: S3Bucket) -> None:
    """Invariant: like the local writer, re-writing a day leaves exactly the files of this run."""
    s3.put("events/2024-03-01/events-2024-03-01T23.jsonl", b"stale")
    s3.put("events/2024-03-01/notes.txt", b"not the simulator's")
    S3LandingWriter(s3.client, s3.name).write_day(SIM_DAY_LIST[0], [])
    assert s3.list_keys("events/") == ["events/2024-03-01/notes.txt"]
