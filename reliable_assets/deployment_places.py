"""Where the remote deployments (staging, prod) keep their data, and the names that keep them apart.

Staging runs prod's code on prod's kind of parts, possibly on the same PostgreSQL server and in
the same bucket; names separate the two, checked when the code location loads and when
`simulate` starts: every database staging uses is named `staging_…` and every S3 key it writes
is under `staging/`. Prod refuses both, so an environment file copied from one to the other fails
at load instead of writing pseudonymized data into prod or real data into staging.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from reliable_assets.toolkit.s3_file_store import join_key

STAGING = "staging"
STAGING_DATABASE_PREFIX = "staging_"
STAGING_S3_ROOT = "staging"
DATABASE_URL_VARIABLES = ("WAREHOUSE_POSTGRES_URL", "SOURCE_DATABASE_URL")
PSEUDONYM_KEY_VARIABLE = "STAGING_PSEUDONYM_KEY"


@dataclass(frozen=True)
class S3Places:
    """Key prefixes inside the landing and raw buckets."""

    landing: str
    raw: str
    models: str


def s3_places(deployment: str, environ: Mapping[str, str]) -> S3Places:
    """Prod's layout as it always was; staging's the same, one `staging/` folder down."""
    root = STAGING_S3_ROOT if deployment == STAGING else ""
    return S3Places(
        landing=join_key(root, environ.get("LANDING_S3_PREFIX", "")),
        raw=join_key(root),
        models=join_key(root, "models"),
    )


def database_name(url: str) -> str:
    """The database a `postgresql://` URL names ('' when it names none)."""
    return unquote(urlsplit(url).path.lstrip("/"))


def separation_problems(deployment: str, environ: Mapping[str, str]) -> list[str]:
    """What in the environment would let `deployment` touch the other deployment's data."""
    problems = []
    for variable in DATABASE_URL_VARIABLES:
        url = environ.get(variable)
        if not url:
            continue  # a missing variable is reported on its own
        # Only the database name is quoted back: the URL may hold a password.
        database = database_name(url)
        staging_named = database.startswith(STAGING_DATABASE_PREFIX)
        if deployment == STAGING and not staging_named:
            problems.append(
                f"{variable} points at database {database!r}, but a staging database's name must start"
                f" with {STAGING_DATABASE_PREFIX!r} so staging can never write prod's: create one such"
                f" as '{STAGING_DATABASE_PREFIX}{database or 'warehouse'}' and point {variable} at it"
            )
        elif deployment != STAGING and staging_named:
            problems.append(
                f"{variable} points at database {database!r}, a staging database (its name starts with"
                f" {STAGING_DATABASE_PREFIX!r}): point {deployment} at its own database, or set"
                f" DAGSTER_DEPLOYMENT=staging"
            )
    landing_root = join_key(environ.get("LANDING_S3_PREFIX", "")).split("/")[0]
    if deployment != STAGING and landing_root == STAGING_S3_ROOT:
        problems.append(
            f"LANDING_S3_PREFIX is under {STAGING_S3_ROOT}/, where staging keeps its pseudonymized"
            f" files: give {deployment} a landing prefix outside it"
        )
    return problems
