"""Where staging and prod keep their S3 data: staging's keys are always under staging/, prod's never."""

import pytest

from reliable_assets.deployment_places import s3_places, separation_problems


@pytest.mark.parametrize("landing_prefix", ["", "landing", "/landing/zone/", "raw"])
def test_every_staging_prefix_is_under_staging_and_none_of_prod_is(landing_prefix: str) -> None:
    """Whatever LANDING_S3_PREFIX says, staging cannot be pointed at prod's keys in a shared bucket."""
    environ = {"LANDING_S3_PREFIX": landing_prefix}
    staging, prod = s3_places("staging", environ), s3_places("prod", environ)
    for place in (staging.landing, staging.raw, staging.models):
        assert place == "staging" or place.startswith("staging/")
    for place in (prod.landing, prod.models):
        assert not place.startswith("staging")
    assert prod.raw == ""  # prod's layout as it was: raw/… and models/… at the bucket's top
    assert staging.landing.removeprefix("staging/") == prod.landing or staging.landing == "staging"


def test_staging_databases_must_carry_the_staging_prefix() -> None:
    environ = {
        "WAREHOUSE_POSTGRES_URL": "postgresql+psycopg2://u:pw@h/staging_dwh",
        "SOURCE_DATABASE_URL": "postgresql://u:pw@h:5432/",
    }
    assert separation_problems("staging", environ) == [
        "SOURCE_DATABASE_URL points at database '', but a staging database's name must start with"
        " 'staging_' so staging can never write prod's: create one such as 'staging_warehouse' and"
        " point SOURCE_DATABASE_URL at it"
    ]
    assert separation_problems("prod", {"SOURCE_DATABASE_URL": "postgresql://u@h/shop"}) == []
