"""ml/segment_models: all five segments of a day in one run, and a failing segment fails alone."""

import json
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
import pytest

from reliable_assets import paths
from reliable_assets.ml import assets as ml_assets
from reliable_assets.ml import segmentation
from reliable_assets.partitions import SEGMENTS
from reliable_assets_tests import graph_state
from reliable_assets_tests.conftest import SIM_DAY_LIST

BROKEN = "churned"


def _day_models(day: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(
        (Path(paths.raw_dir()) / "ml" / "segment_models" / f"{day}.json").read_text()
    )
    return document


def test_one_failing_segment_is_reported_alone_and_the_others_publish(
    simulated: Path, instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A segment whose training raises becomes a `failed` record with its error, its own check
    fails, the run and the other four segments carry on, and the registry does not promote it.
    (The failure is injected by wrapping the training function: no real data makes numpy's
    least squares raise.)"""
    from reliable_assets.definitions import defs
    from reliable_assets.graph_runs import materialize_graph

    assert all(o.success for o in materialize_graph(defs(), instance, SIM_DAY_LIST, log_level="WARNING"))
    day = SIM_DAY_LIST[1].isoformat()
    before = _day_models(day)
    assert set(before) == set(SEGMENTS)
    train = segmentation.train_segment_model

    def failing(rows: pd.DataFrame, segment: str, model_date: str) -> dict[str, Any]:
        if segment == BROKEN:
            raise ZeroDivisionError("planted")
        return train(rows, segment, model_date)

    monkeypatch.setattr(ml_assets, "train_segment_model", failing)
    keys = [dg.AssetKey(["ml", "segment_models"]), dg.AssetKey(["ml", "model_registry"])]
    job = defs().get_repository_def().get_implicit_job_def_for_assets(keys)
    assert job is not None
    result = job.execute_in_process(instance=instance, partition_key=day, asset_selection=keys)
    assert result.success
    checks = {
        e.check_name: e
        for e in result.get_asset_check_evaluations()
        if e.asset_key.path[-1] == "segment_models"
    }
    assert not checks[f"{BROKEN}_trained"].passed
    assert checks[f"{BROKEN}_trained"].metadata["error"].value == "ZeroDivisionError: planted"
    assert all(checks[f"{segment}_trained"].passed for segment in SEGMENTS if segment != BROKEN)

    after = _day_models(day)
    assert after[BROKEN]["status"] == "failed"
    assert after[BROKEN]["error"] == "ZeroDivisionError: planted"
    assert {s: m for s, m in after.items() if s != BROKEN} == {s: m for s, m in before.items() if s != BROKEN}
    registry = graph_state.warehouse().read_table("ml", "model_registry")
    today = registry.loc[registry["model_date"] == pd.Timestamp(day)].set_index("segment")
    assert today.loc[BROKEN, "status"] == "failed"
    assert not today.loc[BROKEN, "promoted"]
    assert len(today) == len(SEGMENTS)
