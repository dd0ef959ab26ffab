"""S3ParquetIOManager and S3JsonIOManager through real Dagster runs against moto's S3 server."""

import datetime as dt
import hashlib
import io
from typing import Any

import dagster as dg
import pandas as pd

from reliable_assets.toolkit.s3_io_managers import S3JsonIOManager, S3ParquetIOManager
from reliable_assets_tests.s3_server import S3Bucket, s3_bucket_fixture, s3_endpoint_fixture  # noqa: F401

DAILY = dg.DailyPartitionsDefinition(start_date="2026-01-01")
RANGE_TAGS = {
    "dagster/asset_partition_range_start": "2026-01-01",
    "dagster/asset_partition_range_end": "2026-01-03",
}


@dg.asset(key=["raw", "events"], partitions_def=DAILY, backfill_policy=dg.BackfillPolicy.single_run(),
          metadata={"partition_expr": "event_day"})  # fmt: skip
def events(context: dg.AssetExecutionContext) -> pd.DataFrame:
    days = [key for key in context.partition_keys if key != "2026-01-02"]  # 01-02: no rows
    return pd.DataFrame({"event_day": [dt.date.fromisoformat(d) for d in days for _ in (0, 1)],
                         "n": [i for _ in days for i in (0, 1)]})  # fmt: skip


@dg.asset(partitions_def=DAILY, ins={"events": dg.AssetIn(key=["raw", "events"])})
def event_count(events: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"rows": [len(events)]})


def _resources(s3: S3Bucket) -> dict[str, Any]:
    return {"io_manager": S3ParquetIOManager(bucket=s3.name, prefix="", s3=s3.resource())}


def _object(s3: S3Bucket, key: str) -> bytes:
    body: bytes = s3.client.get_object(Bucket=s3.name, Key=key)["Body"].read()
    return body


def test_partition_round_trip_records_path_and_object_hash(s3: S3Bucket) -> None:
    """Invariant: one partition is one object at raw/<asset>/<day>.parquet; the output metadata
    names its s3:// URI and the SHA-256 of the published bytes; a downstream run reads it back."""
    result = dg.materialize([events], partition_key="2026-01-03", resources=_resources(s3))
    key = "raw/events/2026-01-03.parquet"
    metadata = result.get_asset_materialization_events()[0].materialization.metadata
    assert metadata["path"].value == f"s3://{s3.name}/{key}"
    assert metadata["file_sha256"].value == hashlib.sha256(_object(s3, key)).hexdigest()
    dg.materialize([events, event_count], selection=[event_count], partition_key="2026-01-03",
                   resources=_resources(s3))  # fmt: skip
    assert pd.read_parquet(io.BytesIO(_object(s3, "event_count/2026-01-03.parquet")))["rows"].tolist() == [2]
    assert not [k for k in s3.list_keys() if ".staging" in k]


def test_range_run_writes_one_object_per_day(s3: S3Bucket) -> None:
    """Invariant: a single-run range writes one object per partition (an empty day too, with the
    schema) and records one hash per partition."""
    result = dg.materialize([events], tags=RANGE_TAGS, resources=_resources(s3))
    assert s3.list_keys() == [f"raw/events/2026-01-0{d}.parquet" for d in (1, 2, 3)]
    empty = pd.read_parquet(io.BytesIO(_object(s3, "raw/events/2026-01-02.parquet")))
    assert list(empty.columns) == ["event_day", "n"]
    assert empty.empty
    hashes = result.get_asset_materialization_events()[0].materialization.metadata["file_sha256"].value
    assert isinstance(hashes, dict)
    assert sorted(hashes) == ["2026-01-01", "2026-01-02", "2026-01-03"]


def test_missing_partition_fails_naming_the_object_and_the_fix(s3: S3Bucket) -> None:
    """Invariant: reading a partition never written fails with the asset, the partition, its
    s3:// URI and how to fix it."""
    result = dg.materialize([events, event_count], selection=[event_count], partition_key="2026-01-02",
                            resources=_resources(s3), raise_on_error=False)  # fmt: skip
    assert not result.success
    error = result.get_step_failure_events()[0].step_failure_data.error
    assert error is not None
    message = error.to_string()
    assert "'2026-01-02'" in message
    assert f"s3://{s3.name}/raw/events/2026-01-02.parquet" in message
    assert "allow_missing_partitions" in message


def test_json_documents_per_multi_partition_under_a_prefix(s3: S3Bucket) -> None:
    """Invariant: S3JsonIOManager stores one document per (day, segment) under its prefix."""
    by_segment = dg.MultiPartitionsDefinition(
        {"date": DAILY, "segment": dg.StaticPartitionsDefinition(["a"])}
    )

    @dg.asset(key=["ml", "models"], partitions_def=by_segment)
    def models() -> dict[str, Any]:
        return {"weights": [0.5, 1.5]}

    manager = S3JsonIOManager(bucket=s3.name, prefix="models", s3=s3.resource())
    key = dg.MultiPartitionKey({"date": "2026-01-01", "segment": "a"})
    dg.materialize([models], partition_key=key, resources={"io_manager": manager})
    assert s3.list_keys() == ["models/ml/models/date=2026-01-01/segment=a/part.json"]
    assert _object(s3, s3.list_keys()[0]) == b'{\n  "weights": [\n    0.5,\n    1.5\n  ]\n}'
