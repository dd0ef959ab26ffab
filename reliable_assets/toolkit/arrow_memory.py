"""Arrow allocates through the C library's malloc, which gives freed memory back to the system.

pyarrow's default pool (mimalloc) keeps what it freed for reuse, so a run worker's resident size
stays at the high-water mark of every Parquet read, write and content hash it made. A 14-day raw
chunk, in process, peaked at 786-805 MiB with mimalloc and 722-724 MiB with the system
allocator, at the same speed (see README, Backfills). An explicit `ARROW_DEFAULT_MEMORY_POOL` in
the environment wins.
"""

import os

import pyarrow as pa

ARROW_POOL_ENV = "ARROW_DEFAULT_MEMORY_POOL"


def use_system_allocator() -> None:
    if not os.environ.get(ARROW_POOL_ENV):
        pa.set_memory_pool(pa.system_memory_pool())
