"""reliable_assets: the Dagster project (see README.md)."""

from reliable_assets.toolkit.arrow_memory import use_system_allocator

# Every process that loads the project (run workers above all) returns Arrow's freed memory.
use_system_allocator()
