"""Asset checks from a pandera model: one check per model, reported, never raised.

dagster-pandera turns a failed schema into a crashed step with a text blob; here the model becomes
one blocking asset check (`schema_contract`) whose result names, per column, the pandera checks
that failed, how many rows failed them and a few failing values, so the UI says exactly what was
wrong where. One check per model, not one per column: each result is an event-log write per
partition, and per-column checks made 50 of a day's 62 check results, the largest single cost of
a year's backfill (see the README, Backfills).
"""

from collections.abc import Sequence

import dagster as dg
import pandas as pd
import pandera.pandas as pa

from reliable_assets.toolkit.partition_checks import check_spec

CONTRACT_CHECK = "schema_contract"
SAMPLE_VALUES = 5
# Failures of the frame as a whole (a missing column, say) are reported under this name.
TABLE_LEVEL = "(table)"


def contract_description(model: type[pa.DataFrameModel]) -> str:
    """Every column's contract in one line each: its type and rules."""
    lines = ["every column present"]
    for column, definition in model.to_schema().columns.items():
        rules = [str(check) for check in definition.checks]
        rules += ["not null"] if not definition.nullable else []
        rules += ["unique"] if definition.unique else []
        lines.append(f"{column}: {definition.dtype}" + (f", {', '.join(rules)}" if rules else ""))
    return "; ".join(lines)


def pandera_check_specs(
    model: type[pa.DataFrameModel],
    asset_key: Sequence[str],
    blocking: bool = True,
    partitions_def: dg.PartitionsDefinition | None = None,
) -> list[dg.AssetCheckSpec]:
    """The spec to declare on the asset (`check_specs=`); pass the asset's `partitions_def` so
    results are kept per partition (see partition_checks.py)."""
    return [
        check_spec(
            CONTRACT_CHECK,
            asset_key,
            blocking=blocking,
            partitions_def=partitions_def,
            description=contract_description(model),
        )
    ]


def pandera_check_results(
    model: type[pa.DataFrameModel],
    frame: pd.DataFrame,
    severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.ERROR,
) -> list[dg.AssetCheckResult]:
    """Validate lazily and turn pandera's failure cases into one result, detailed per column."""
    try:
        model.validate(frame, lazy=True)
        failures = pd.DataFrame(columns=["schema_context", "column", "check", "failure_case", "index"])
    except pa.errors.SchemaErrors as error:
        failures = error.failure_cases
    # Table-level failures (a missing column, say) carry the schema's name, not a column's.
    table_level = failures["schema_context"].eq("DataFrameSchema") | failures["column"].isna()
    where = failures["column"].where(~table_level, TABLE_LEVEL).astype(str)
    failed_checks: dict[str, list[str]] = {}
    failing_samples: dict[str, list[str]] = {}
    failing_rows_by_column: dict[str, int] = {}
    for column, mine in failures.groupby(where, sort=True):
        name = str(column)
        failed_checks[name] = sorted({str(check) for check in mine["check"]})
        failing_samples[name] = [str(value) for value in mine["failure_case"].head(SAMPLE_VALUES)]
        failing_rows_by_column[name] = int(mine["index"].nunique())
    return [
        dg.AssetCheckResult(
            check_name=CONTRACT_CHECK,
            passed=failures.empty,
            severity=severity,
            metadata={
                "failing_rows": dg.MetadataValue.int(int(failures["index"].nunique())),
                "rows_checked": dg.MetadataValue.int(len(frame)),
                "failing_columns": dg.MetadataValue.json(sorted(failed_checks)),
                "failed_checks": dg.MetadataValue.json(failed_checks),
                "failing_rows_by_column": dg.MetadataValue.json(failing_rows_by_column),
                "failing_samples": dg.MetadataValue.json(failing_samples),
            },
        )
    ]
