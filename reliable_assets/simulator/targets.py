"""Where `simulate` writes: the deployment's own source database and landing zone."""

import os

from dagster_aws.s3 import S3Resource

from reliable_assets import paths, settings
from reliable_assets.simulator.landing import LandingWriter, LocalLandingWriter
from reliable_assets.simulator.pg_source import PostgresSourceWriter
from reliable_assets.simulator.s3_landing import S3LandingWriter
from reliable_assets.simulator.source_db import SourceWriter, SqliteSourceWriter
from reliable_assets.toolkit.s3_clients import shared_s3_client


def writers_for_deployment() -> tuple[SourceWriter, LandingWriter]:
    """SQLite and the landing folder for `local`; PostgreSQL and S3 for `prod`."""
    if settings.current_deployment() == "local":
        return SqliteSourceWriter(paths.source_db_path()), LocalLandingWriter(paths.landing_dir())
    settings.require_env("SOURCE_DATABASE_URL", "LANDING_S3_BUCKET")
    client = shared_s3_client(S3Resource())
    landing = S3LandingWriter(
        client, os.environ["LANDING_S3_BUCKET"], os.environ.get("LANDING_S3_PREFIX", "")
    )
    return PostgresSourceWriter(os.environ["SOURCE_DATABASE_URL"]), landing
