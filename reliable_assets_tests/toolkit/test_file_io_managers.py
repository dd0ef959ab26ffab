"""ParquetIOManager and JsonIOManager through real Dagster runs."""

import datetime as dt
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd

from reliable_assets.toolkit.file_io_managers import JsonIOManager, ParquetIOManager

DAILY = dg.DailyPartitionsDefinition(start_date="2026-01-01")
SINGLE_RUN = dg.BackfillPolicy.single_run()
DAILY_BY_SEGMENT = dg.MultiPartitionsDefinition(
    {"day": DAILY, "segment": dg.StaticPartitionsDefinition(["a", "b"])}
)
RANGE_TAGS = {
    "dagster/asset_partition_range_start": "2026-01-01",
    "dagster/asset_partition_range_end": "2026-01-03",
}


def _rows(day: str, n: int = 2) -> pd.DataFrame:
    return pd.DataFrame({"event_day": [dt.date.fromisoformat(day)] * n, "n": range(n)})


@dg.asset(key=["raw", "events"], partitions_def=DAILY, backfill_policy=dg.BackfillPolicy.single_run(),
          metadata={"partition_expr": "event_day"})  # fmt: skip
def events(context: dg.AssetExecutionContext) -> pd.DataFrame:
    # 2026-01-02 has no rows: its file must still be written (empty, with the schema).
    return pd.concat([_rows(key) for key in context.partition_keys if key != "2026-01-02"], ignore_index=True)


seen_order: list[list[str]] = []


def _downstream(allow_missing: bool) -> dg.AssetsDefinition:
    @dg.asset(key=["mart", "event_count"], partitions_def=DAILY, backfill_policy=SINGLE_RUN,
              metadata={"partition_expr": "event_day"},
              ins={"events": dg.AssetIn(key=["raw", "events"],
                                        metadata={"allow_missing_partitions": allow_missing})})  # fmt: skip
    def event_count(events: pd.DataFrame) -> pd.DataFrame:
        seen_order.append([str(day) for day in events["event_day"]])
        return events.groupby("event_day", as_index=False).size()

    return event_count


def _run(base: Path, assets: list[Any], **kwargs: Any) -> dg.ExecuteInProcessResult:
    return dg.materialize(assets, resources={"io_manager": ParquetIOManager(base_dir=str(base))}, **kwargs)


def _failure(result: dg.ExecuteInProcessResult) -> str:
    assert not result.success
    error = result.get_step_failure_events()[0].step_failure_data.error
    assert error is not None
    return error.to_string()


def test_range_run_writes_one_file_per_day_and_no_temp_files(tmp_path: Path) -> None:
    """Invariant: a single-run range writes one Parquet file per partition (empty day included,
    with the schema), replaced atomically with no temp files left; path and rows are recorded."""
    result = _run(tmp_path, [events], tags=RANGE_TAGS)
    folder = tmp_path / "raw" / "events"
    assert sorted(p.name for p in folder.iterdir()) == [f"2026-01-0{d}.parquet" for d in (1, 2, 3)]
    empty = pd.read_parquet(folder / "2026-01-02.parquet")
    assert list(empty.columns) == ["event_day", "n"]
    assert empty.empty
    assert len(pd.read_parquet(folder / "2026-01-03.parquet")) == 2
    metadata = result.get_asset_materialization_events()[0].materialization.metadata
    assert metadata["rows"].value == 4
    assert metadata["files"].value == 3
    _run(tmp_path, [events], partition_key="2026-01-01")
    assert sorted(p.name for p in folder.iterdir()) == [f"2026-01-0{d}.parquet" for d in (1, 2, 3)]


def test_rows_outside_the_range_are_refused(tmp_path: Path) -> None:
    """Invariant: a row that belongs to no partition of the run is refused, nothing written."""

    @dg.asset(key=["raw", "events"], partitions_def=DAILY, metadata={"partition_expr": "event_day"})
    def leaky() -> pd.DataFrame:
        return _rows("2026-01-05")

    result = _run(tmp_path, [leaky], partition_key="2026-01-01", raise_on_error=False)
    assert "outside the target partition" in _failure(result)
    assert not (tmp_path / "raw").exists()


def test_missing_partition_fails_clearly_unless_allowed(tmp_path: Path) -> None:
    """Invariant: loading partitions concatenates them in key order; a missing one fails naming the
    asset, the partition and the fix, unless the input sets allow_missing_partitions."""
    _run(tmp_path, [events], partition_key="2026-01-03")
    _run(tmp_path, [events], partition_key="2026-01-01")
    strict = _run(tmp_path, [events, _downstream(False)], selection=[_downstream(False)],
                  tags=RANGE_TAGS, raise_on_error=False)  # fmt: skip
    message = _failure(strict)
    assert "raw/events" in message
    assert "'2026-01-02'" in message
    assert "allow_missing_partitions" in message
    lenient = _downstream(True)
    _run(tmp_path, [events, lenient], selection=[lenient], tags=RANGE_TAGS)
    assert seen_order[-1] == ["2026-01-01", "2026-01-01", "2026-01-03", "2026-01-03"]
    counted = tmp_path / "mart" / "event_count"
    assert pd.read_parquet(counted / "2026-01-03.parquet")["size"].tolist() == [2]
    assert pd.read_parquet(counted / "2026-01-02.parquet").empty


def test_unpartitioned_asset_round_trips_and_missing_file_is_explained(tmp_path: Path) -> None:
    """Invariant: an unpartitioned asset is one file; a consumer of a never-written one is told to
    materialize it first."""

    @dg.asset(key=["raw", "customers"])
    def customers() -> pd.DataFrame:
        return pd.DataFrame({"id": [1, 2]})

    @dg.asset
    def customer_total(customers: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({"total": [int(customers["id"].sum())]})

    assert "materialize raw/customers first" in _failure(
        _run(tmp_path, [customers, customer_total], selection=[customer_total], raise_on_error=False)
    )
    _run(tmp_path, [customers, customer_total])
    assert (tmp_path / "raw" / "customers.parquet").is_file()
    assert pd.read_parquet(tmp_path / "customer_total.parquet")["total"].tolist() == [3]


def test_json_models_per_multi_partition(tmp_path: Path) -> None:
    """Invariant: JsonIOManager stores one document per (day, segment) under dim=value folders and
    loads it back unchanged."""

    @dg.asset(key=["ml", "models"], partitions_def=DAILY_BY_SEGMENT, io_manager_key="models")
    def models(context: dg.AssetExecutionContext) -> dict[str, Any]:
        return {"segment": context.partition_key.keys_by_dimension["segment"], "weights": [0.5, 1.5]}

    @dg.asset(
        partitions_def=DAILY_BY_SEGMENT,
        ins={"models": dg.AssetIn(key=["ml", "models"])},
        io_manager_key="models",
    )
    def model_summary(models: dict[str, Any]) -> dict[str, Any]:
        return {"segment": models["segment"], "weights": sum(models["weights"])}

    resources = {"models": JsonIOManager(base_dir=str(tmp_path))}
    key = dg.MultiPartitionKey({"day": "2026-01-01", "segment": "b"})
    dg.materialize([models, model_summary], partition_key=key, resources=resources)
    stored = tmp_path / "ml" / "models" / "day=2026-01-01" / "segment=b" / "part.json"
    assert stored.is_file()
    summary = tmp_path / "model_summary" / "day=2026-01-01" / "segment=b" / "part.json"
    assert summary.read_text() == '{\n  "segment": "b",\n  "weights": 2.0\n}'
    not_a_dict = dg.asset(name="not_a_dict", io_manager_key="models")(lambda: [1, 2])
    refused = dg.materialize([not_a_dict], resources=resources, raise_on_error=False)
    assert "JsonIOManager stores JSON-serialisable dicts" in _failure(refused)
