"""Where `simulate` writes: the deployment's own source database and landing zone."""

import os

from dagster_aws.s3 import S3Resource

from reliable_assets import paths, settings
from reliable_assets.deployment_places import PSEUDONYM_KEY_VARIABLE, STAGING, s3_places
from reliable_assets.simulator.landing import LandingWriter, LocalLandingWriter
from reliable_assets.simulator.pg_source import PostgresSourceWriter
from reliable_assets.simulator.pseudonymized_source import PseudonymizedSourceWriter
from reliable_assets.simulator.s3_landing import S3LandingWriter
from reliable_assets.simulator.source_db import SourceWriter, SqliteSourceWriter
from reliable_assets.toolkit.pseudonyms import Pseudonymizer
from reliable_assets.toolkit.s3_clients import shared_s3_client


def writers_for_deployment() -> tuple[SourceWriter, LandingWriter]:
    """SQLite and the landing folder for `local`; PostgreSQL and S3 for `prod` and `staging`.

    Staging always gets pseudonyms, with no flag to forget: its data must never hold a real
    customer's name or email, whoever runs `simulate` there.
    """
    deployment = settings.current_deployment()
    if deployment == "local":
        return SqliteSourceWriter(paths.source_db_path()), LocalLandingWriter(paths.landing_dir())
    settings.require_environment(deployment, "SOURCE_DATABASE_URL", "LANDING_S3_BUCKET")
    source: SourceWriter = PostgresSourceWriter(os.environ["SOURCE_DATABASE_URL"])
    if deployment == STAGING:
        source = PseudonymizedSourceWriter(source, Pseudonymizer.from_environment(PSEUDONYM_KEY_VARIABLE))
    client = shared_s3_client(S3Resource())
    landing_prefix = s3_places(deployment, os.environ).landing
    return source, S3LandingWriter(client, os.environ["LANDING_S3_BUCKET"], landing_prefix)
