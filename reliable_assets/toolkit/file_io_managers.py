"""IO managers that keep one file per partition in a :class:`FileStore` (layout: file_layout.py).

The format (Parquet, JSON) and the store (local folder here, S3 in ``s3_io_managers.py``) are
independent: each concrete IO manager combines one format mixin with one store. Each file is
replaced atomically, and its SHA-256 is recorded as ``file_sha256`` output metadata. A single-run
range writes one file per partition of the range; loading several partitions concatenates them in
key order. A missing partition is an error unless
the input opts in with ``dg.AssetIn(metadata={"allow_missing_partitions": True})``.
"""

# No `from __future__ import annotations`: Dagster/pydantic must see real types on config classes
# (a string `dg.ResourceDependency[...]` annotation fails validation).
import hashlib
import io
import json
from abc import abstractmethod
from collections.abc import Mapping
from functools import partial
from typing import Any, ClassVar

import dagster as dg
import pandas as pd

from reliable_assets.toolkit.file_layout import asset_file_relpath
from reliable_assets.toolkit.files import FileStore, LocalFileStore
from reliable_assets.toolkit.io_context import asset_label, context_partitions, metadata_value
from reliable_assets.toolkit.partition_selection import (
    RowsOutsidePartitionError,
    filters_per_partition,
    partition_filter_for,
    refuse_rows_outside,
)
from reliable_assets.toolkit.retries import call_retried_if_transient

ALLOW_MISSING_PARTITIONS = "allow_missing_partitions"


class MissingPartitionError(FileNotFoundError):
    """An input partition (or unpartitioned asset) whose file has never been written."""


class FileIOManager(dg.ConfigurableIOManager):
    """Path logic, atomic writes and missing-partition handling shared by formats and stores."""

    extension: ClassVar[str]

    @abstractmethod
    def _files_for_output(
        self, context: dg.OutputContext, obj: Any, keys: list[str] | None
    ) -> list[tuple[str | None, bytes, dict[str, Any]]]:
        """``(partition key or None, file content, metadata)`` per file to write."""

    @abstractmethod
    def _combine(self, loaded: list[tuple[str | None, bytes]], requested: list[str] | None) -> Any:
        """Turn the files read for an input (``requested``: its partition keys) into its value."""

    @abstractmethod
    def _store(self) -> FileStore:
        """Where the files live."""

    def handle_output(self, context: dg.OutputContext, obj: Any) -> None:
        partitions = context_partitions(context)
        store = self._store()
        uris: list[str] = []
        hashes: dict[str, str] = {}
        totals: dict[str, int] = {}
        for key, content, file_metadata in self._files_for_output(
            context, obj, partitions.keys if partitions else None
        ):
            relpath = asset_file_relpath(
                context.asset_key, self.extension, partitions.definition if partitions else None, key
            )
            # Each file is written whole (rename, or one S3 PUT): re-running a write is safe.
            call_retried_if_transient(partial(store.write_bytes, relpath, content), f"write of {relpath}")
            uris.append(store.uri(relpath))
            hashes[key or ""] = hashlib.sha256(content).hexdigest()
            for name, value in file_metadata.items():
                totals[name] = totals.get(name, 0) + value
        single = len(uris) == 1
        metadata: dict[str, Any] = {
            "path": uris[0] if single else dg.MetadataValue.json(uris),
            # What was published, byte for byte (the data version is the asset's content hash).
            "file_sha256": next(iter(hashes.values())) if single else dg.MetadataValue.json(hashes),
        }
        context.add_output_metadata({**metadata, "files": len(uris), **totals})

    def load_input(self, context: dg.InputContext) -> Any:
        partitions = context_partitions(context)
        store = self._store()
        label = asset_label(context.asset_key)
        allow_missing = bool(metadata_value(context.definition_metadata, ALLOW_MISSING_PARTITIONS, False))
        loaded: list[tuple[str | None, bytes]] = []
        keys: list[str | None] = list(partitions.keys) if partitions else [None]
        for key in keys:
            relpath = asset_file_relpath(
                context.asset_key, self.extension, partitions.definition if partitions else None, key
            )
            if store.exists(relpath):
                content, _ = call_retried_if_transient(
                    partial(store.read_bytes, relpath), f"read of {relpath}"
                )
                loaded.append((key, content))
            elif key is not None and allow_missing:
                context.log.warning(f"{label}: partition {key} is missing ({store.uri(relpath)}); skipped.")
            else:
                raise MissingPartitionError(_missing_message(context.asset_key, key, store.uri(relpath)))
        return self._combine(loaded, partitions.keys if partitions else None)


class _LocalFileIOManager(FileIOManager):
    base_dir: str

    def _store(self) -> FileStore:
        return LocalFileStore(self.base_dir)


class ParquetFormat:
    """pandas frames as Parquet files; a range run is split by the ``partition_expr`` column."""

    extension: ClassVar[str] = "parquet"

    def _files_for_output(
        self, context: dg.OutputContext, obj: Any, keys: list[str] | None
    ) -> list[tuple[str | None, bytes, dict[str, Any]]]:
        label = asset_label(context.asset_key)
        if not isinstance(obj, pd.DataFrame):
            raise TypeError(f"{label}: ParquetIOManager stores pandas DataFrames, got {type(obj).__name__}")
        if keys is None:
            return [(None, _to_parquet(obj), {"rows": len(obj)})]
        partition_expr = metadata_value(context.definition_metadata, "partition_expr")
        if len(keys) == 1 and partition_expr is None:
            return [(keys[0], _to_parquet(obj), {"rows": len(obj)})]
        partitions_def = context.asset_partitions_def
        refuse_rows_outside(obj, partition_filter_for(partitions_def, keys, partition_expr, label), label)
        files: list[tuple[str | None, bytes, dict[str, Any]]] = []
        assigned = 0
        for key, key_filter in filters_per_partition(partitions_def, keys, partition_expr, label):
            # A day of the range without rows still gets a file (empty, with the schema).
            rows = obj.loc[key_filter.mask(obj)].reset_index(drop=True)
            assigned += len(rows)
            files.append((key, _to_parquet(rows), {"rows": len(rows)}))
        if assigned != len(obj):  # only possible if partitions overlap: a row would be written twice
            raise RowsOutsidePartitionError(
                f"{label}: {assigned} rows assigned to partitions, frame has {len(obj)}"
            )
        return files

    def _combine(self, loaded: list[tuple[str | None, bytes]], requested: list[str] | None) -> pd.DataFrame:
        frames = [pd.read_parquet(io.BytesIO(content)) for _, content in loaded]
        if not frames:
            return pd.DataFrame()
        if len(frames) == 1:
            return frames[0]
        return pd.concat(frames, ignore_index=True)


class JsonFormat:
    """JSON-serialisable dicts (small model files, manifests).

    A range output must be ``{partition_key: document}`` covering the range; an input of several
    partitions receives that shape too, an input of one partition the document itself.
    """

    extension: ClassVar[str] = "json"

    def _files_for_output(
        self, context: dg.OutputContext, obj: Any, keys: list[str] | None
    ) -> list[tuple[str | None, bytes, dict[str, Any]]]:
        label = asset_label(context.asset_key)
        if not isinstance(obj, Mapping):
            raise TypeError(
                f"{label}: JsonIOManager stores JSON-serialisable dicts, got {type(obj).__name__}"
            )
        if keys is None or len(keys) == 1:
            return [(keys[0] if keys else None, _to_json(obj), {})]
        if sorted(map(str, obj)) != sorted(keys):
            raise ValueError(
                f"{label}: a range run of {len(keys)} partitions must return {{partition_key: document}}"
                " with exactly the range's keys"
            )
        return [(key, _to_json(obj[key]), {}) for key in keys]

    def _combine(self, loaded: list[tuple[str | None, bytes]], requested: list[str] | None) -> Any:
        documents = {key: json.loads(content) for key, content in loaded}
        if requested is None or len(requested) == 1:
            # One document (None if its partition was missing and the input allows that).
            return next(iter(documents.values()), None)
        return documents


class ParquetIOManager(ParquetFormat, _LocalFileIOManager):
    """Parquet files under ``base_dir`` (temporary file, then rename)."""


class JsonIOManager(JsonFormat, _LocalFileIOManager):
    """JSON files under ``base_dir`` (temporary file, then rename)."""


def _to_parquet(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False, engine="pyarrow")
    return buffer.getvalue()


def _to_json(document: Any) -> bytes:
    return json.dumps(document, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False).encode()


def _missing_message(asset_key: dg.AssetKey, partition_key: str | None, uri: str) -> str:
    selection = asset_key.to_user_string()
    if partition_key is None:
        return (
            f"{asset_label(asset_key)} has not been materialized ({uri} is missing):"
            f" materialize {selection} first."
        )
    return (
        f"{asset_label(asset_key)}: partition {partition_key!r} has not been materialized ({uri} is missing)."
        f" Materialize it first (dagster asset materialize --select {selection} --partition {partition_key}),"
        f" or let this input skip missing partitions with"
        f" dg.AssetIn(metadata={{'{ALLOW_MISSING_PARTITIONS}': True}})."
    )
