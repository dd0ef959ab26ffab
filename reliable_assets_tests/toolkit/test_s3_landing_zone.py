"""S3LandingZone against moto's S3 server over HTTP: the same contract as the local folder."""

import pytest
from dagster_aws.s3 import S3Resource

from reliable_assets.toolkit.s3_landing_zone import S3LandingZone
from reliable_assets_tests.s3_server import S3Bucket, s3_bucket_fixture, s3_endpoint_fixture  # noqa: F401


def test_lists_a_prefix_as_a_folder_with_relative_sorted_keys(s3: S3Bucket) -> None:
    """Invariant: keys come back relative to the zone's prefix, sorted, only inside the asked
    folder (not its siblings sharing a name prefix), without hidden staging/temp objects."""
    for key in ("landing/events/2024-03-01/b.jsonl", "landing/events/2024-03-01/a.jsonl",
                "landing/events/2024-03-010/x.jsonl", "landing/events/2024-03-01/.a.jsonl.tmp",
                "elsewhere/events/2024-03-01/c.jsonl"):  # fmt: skip
        s3.put(key, b"x")
    zone = S3LandingZone(bucket=s3.name, prefix="landing/", s3=s3.resource())
    assert [f.key for f in zone.list_files("events/2024-03-01")] == [
        "events/2024-03-01/a.jsonl",
        "events/2024-03-01/b.jsonl",
    ]
    assert len(zone.list_files("events")) == 3
    assert zone.list_files("nothing/here") == []
    assert zone.read_bytes("events/2024-03-01/a.jsonl") == b"x"
    with pytest.raises(ValueError, match=r"\.\."):
        zone.read_bytes("../elsewhere/events/2024-03-01/c.jsonl")


def test_version_is_the_etag_new_bytes_change_it_same_bytes_do_not(s3: S3Bucket) -> None:
    """Invariant: a file's version changes when its bytes change and only then."""
    zone = S3LandingZone(bucket=s3.name, s3=s3.resource())
    s3.put("events/2024-03-01/a.jsonl", b"one")
    first = zone.list_files("events")[0]
    s3.put("events/2024-03-01/a.jsonl", b"one")
    assert zone.list_files("events")[0].version == first.version
    s3.put("events/2024-03-01/a.jsonl", b"two")
    changed = zone.list_files("events")[0]
    assert changed.version != first.version
    assert changed.size == 3


def test_configured_through_aws_environment_variables_only(
    s3: S3Bucket, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Invariant: `S3Resource()` with no arguments reaches the server named by AWS_ENDPOINT_URL
    (the prod wiring: only standard AWS_* variables)."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3.endpoint)
    s3.put("events/2024-03-01/a.jsonl", b"x")
    zone = S3LandingZone(bucket=s3.name, s3=S3Resource())
    assert [f.key for f in zone.list_files("events")] == ["events/2024-03-01/a.jsonl"]
