"""`Text` accepts and refuses exactly what pandera's `str` does, and reports the same failures."""

from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pytest
from pandera.typing import Series

from reliable_assets.toolkit.pandera_text import Text


class AsText(pa.DataFrameModel):
    value: Series[Text] = pa.Field(nullable=True)


class AsStr(pa.DataFrameModel):
    value: Series[str] = pa.Field(nullable=True)


class NotNullText(pa.DataFrameModel):
    value: Series[Text]


class NotNullStr(pa.DataFrameModel):
    value: Series[str]


def _failures(model: type[pa.DataFrameModel], values: list[Any]) -> list[dict[str, Any]]:
    frame = pd.DataFrame({"value": pd.Series(values, dtype=object)})
    try:
        model.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as error:
        cases = error.failure_cases[["check", "failure_case", "index"]].astype(str)
        return sorted(cases.to_dict("records"), key=str)
    return []


COLUMNS = [
    ["a", "b", "a"],
    [],
    [None, None],
    ["a", None, np.nan, pd.NA, pd.NaT],
    [np.str_("a"), "b"],
    ["a", 1, 2.5, True],
    ["a", b"bytes", None],
    [1, 2, 3],
    ["a", ["nested"], {"k": "v"}],
]


@pytest.mark.parametrize("values", COLUMNS, ids=range(len(COLUMNS)))
def test_text_and_str_fail_the_same_values(values: list[Any]) -> None:
    assert _failures(AsText, values) == _failures(AsStr, values)
    assert _failures(NotNullText, values) == _failures(NotNullStr, values)


def test_a_non_string_is_reported_with_its_value_and_row() -> None:
    failures = _failures(AsText, ["a", 7, "b", b"x"])
    # pandas renders the bytes b"x" as "x" in the failure cases' astype(str).
    assert {(case["failure_case"], case["index"]) for case in failures} == {("7", "1"), ("x", "3")}


def test_text_is_described_as_str() -> None:
    assert str(AsText.to_schema().columns["value"].dtype) == str(AsStr.to_schema().columns["value"].dtype)
