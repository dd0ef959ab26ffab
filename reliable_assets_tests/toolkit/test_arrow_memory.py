"""Loading the project makes Arrow allocate with the system allocator, unless the environment says."""

import os
import subprocess
import sys

from reliable_assets.toolkit.arrow_memory import ARROW_POOL_ENV

PRINT_POOL = "import reliable_assets, pyarrow; print(pyarrow.default_memory_pool().backend_name)"


def _pool_after_import(**environment: str) -> str:
    env = {key: value for key, value in os.environ.items() if key != ARROW_POOL_ENV}
    done = subprocess.run(
        [sys.executable, "-c", PRINT_POOL],
        env={**env, **environment},
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def test_the_project_switches_arrow_to_the_system_allocator() -> None:
    assert _pool_after_import() == "system"


def test_an_explicit_pool_in_the_environment_wins() -> None:
    assert _pool_after_import(**{ARROW_POOL_ENV: "mimalloc"}) == "mimalloc"
