"""Asset checks from a pandera model: one check per column contract, reported, never raised.

dagster-pandera turns a failed schema into a crashed step with a text blob; here each column of
the model becomes its own asset check whose result carries the failing-row count, the pandera
checks that failed and a few failing values, so the UI says exactly what was wrong where.
"""

from collections.abc import Sequence

import dagster as dg
import pandas as pd
import pandera.pandas as pa

from reliable_assets.toolkit.partition_checks import check_spec

SAMPLE_VALUES = 5
TABLE_LEVEL = "columns_present"


def check_names(model: type[pa.DataFrameModel]) -> list[str]:
    """`<column>_contract` per column of the model, plus one for the table-level contract."""
    return [TABLE_LEVEL, *(f"{column}_contract" for column in model.to_schema().columns)]


def pandera_check_specs(
    model: type[pa.DataFrameModel],
    asset_key: Sequence[str],
    blocking: bool = True,
    partitions_def: dg.PartitionsDefinition | None = None,
) -> list[dg.AssetCheckSpec]:
    """The specs to declare on the asset (`check_specs=`), one per contract; pass the asset's
    `partitions_def` so results are kept per partition (see partition_checks.py)."""
    schema = model.to_schema()
    specs = [
        check_spec(
            TABLE_LEVEL,
            asset_key,
            blocking=blocking,
            partitions_def=partitions_def,
            description="every column present",
        )
    ]
    for column, definition in schema.columns.items():
        rules = [str(check) for check in definition.checks]
        rules += ["not null"] if not definition.nullable else []
        rules += ["unique"] if definition.unique else []
        description = f"{column}: {definition.dtype}" + (f", {', '.join(rules)}" if rules else "")
        specs.append(
            check_spec(
                f"{column}_contract",
                asset_key,
                blocking=blocking,
                partitions_def=partitions_def,
                description=description,
            )
        )
    return specs


def pandera_check_results(
    model: type[pa.DataFrameModel],
    frame: pd.DataFrame,
    severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.ERROR,
) -> list[dg.AssetCheckResult]:
    """Validate lazily and turn pandera's failure cases into one result per contract."""
    try:
        model.validate(frame, lazy=True)
        failures = pd.DataFrame(columns=["schema_context", "column", "check", "failure_case", "index"])
    except pa.errors.SchemaErrors as error:
        failures = error.failure_cases
    results = []
    for name in check_names(model):
        column = None if name == TABLE_LEVEL else name.removesuffix("_contract")
        # Table-level failures (a missing column, say) carry the schema's name, not a column's.
        table_level = failures["schema_context"].eq("DataFrameSchema") | failures["column"].isna()
        mine = (
            failures.loc[table_level]
            if column is None
            else failures.loc[~table_level & (failures["column"] == column)]
        )
        results.append(
            dg.AssetCheckResult(
                check_name=name,
                passed=mine.empty,
                severity=severity,
                metadata={
                    "failing_rows": dg.MetadataValue.int(int(mine["index"].nunique()) if len(mine) else 0),
                    "rows_checked": dg.MetadataValue.int(len(frame)),
                    "failed_checks": dg.MetadataValue.json(sorted({str(c) for c in mine["check"]})),
                    "failing_samples": dg.MetadataValue.json(
                        [str(v) for v in mine["failure_case"].head(SAMPLE_VALUES)]
                    ),
                },
            )
        )
    return results
