"""Every asset check the assets declare, evaluated on what is published: `reliable-assets check`.

Each checked asset says where its published data is (a file per partition in the raw or model
store, or a warehouse table) and which of its checks are computed from that data. Two checks are
computed for any asset that declares them, from Dagster's records rather than the data:
``row_count_anomaly`` (the published partition's rows against the counts recorded for the
trailing partitions) and ``freshness_check`` (the SLA'd assets' time-partition freshness).
Every result must carry a check name its asset declares (so ``--record`` fills in the very rows
the UI shows), and the test suite holds that every declared check is evaluated.
"""

import io
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal

import dagster as dg
import pandas as pd

from reliable_assets.ml.checks import registry_checks, trained_checks
from reliable_assets.ops.sla import SLA_AFTER_DAY_END
from reliable_assets.partitions import PARTITIONS_START, daily
from reliable_assets.raw.checks import contract_results, landed_day, landed_lines_reconciled
from reliable_assets.toolkit.dead_letters import COLUMNS as DEAD_LETTER_COLUMNS
from reliable_assets.toolkit.file_layout import asset_file_relpath
from reliable_assets.toolkit.file_listing import partition_keys_present
from reliable_assets.toolkit.files import FileStore
from reliable_assets.toolkit.landing_zone import LandingZone
from reliable_assets.toolkit.partition_filter import PartitionFilter, ValueSet
from reliable_assets.toolkit.runless_checks import (
    FRESHNESS_CHECK,
    daily_partition_freshness,
    recorded_row_count_anomaly,
)
from reliable_assets.toolkit.sql import qualified_name, quote_identifier
from reliable_assets.toolkit.warehouse import Warehouse
from reliable_assets.toolkit.warehouse_io_manager import table_location
from reliable_assets.warehouse.checks import TABLE_CHECKS, References
from reliable_assets.warehouse.reconciliation import not_reprocessed, source_rows_reconciled
from reliable_assets.warehouse.shadow import matches_published, published_revenue

ROW_COUNT_ANOMALY = "row_count_anomaly"
# Rows of the report that are not checks of the asset: nothing published to check.
TABLE_EXISTS, FILE_EXISTS, PARTITION_PRESENT = "table_exists", "file_exists", "partition_present"


@dataclass(frozen=True)
class CheckRow:
    """One line of the report: a check of an asset partition ("-" when unpartitioned)."""

    asset: str
    partition: str
    check: str
    severity: str
    passed: bool
    failing_rows: int
    skipped: bool = False
    # What --record stores; None for rows that are no declared check (nothing published, skipped).
    result: dg.AssetCheckResult | None = field(default=None, compare=False, repr=False)

    @property
    def outcome(self) -> str:
        return "skip" if self.skipped else "pass" if self.passed else "FAIL"

    @property
    def error_failure(self) -> bool:
        return not self.passed and not self.skipped and self.severity == "ERROR"


@dataclass(frozen=True)
class DeclaredAsset:
    """What the code location declares about a checked asset."""

    key: dg.AssetKey
    partitions_def: dg.PartitionsDefinition | None
    partition_expr: str | None
    specs: Mapping[str, dg.AssetCheckSpec]
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class Published:
    """Where the deployment publishes, and the Dagster instance (None without DAGSTER_HOME)."""

    warehouse: Warehouse
    raw_store: FileStore
    model_store: FileStore
    landing_zone: LandingZone
    instance: dg.DagsterInstance | None
    now: datetime
    references: References = field(init=False)

    def __post_init__(self) -> None:
        self.references = References(self.warehouse)

    def store(self, which: Literal["raw", "model"]) -> FileStore:
        return self.raw_store if which == "raw" else self.model_store

    def dead_letters(self, asset: str, partition: str) -> pd.DataFrame:
        """Every dead letter recorded for the asset's partition, whatever its status."""
        if not self.warehouse.table_exists("ops", "dead_letters"):
            return pd.DataFrame(columns=DEAD_LETTER_COLUMNS)
        return self.warehouse.read_table(
            "ops",
            "dead_letters",
            partition=PartitionFilter(
                (ValueSet("asset_key", (asset,)), ValueSet("partition_key", (partition,)))
            ),
        )

    def raw_frame(self, asset: str, partition: str) -> pd.DataFrame | None:
        """A daily raw asset's published Parquet file of ``partition``, None if there is none."""
        key = dg.AssetKey.from_user_string(asset)
        frame = read_file(self.raw_store, FileSource("raw", "parquet"), key, daily, partition)
        return frame if isinstance(frame, pd.DataFrame) else None


@dataclass(frozen=True)
class FileSource:
    """One file per partition (file_layout.py) in the raw or the model store."""

    store: Literal["raw", "model"]
    extension: Literal["parquet", "json"]


@dataclass(frozen=True)
class TableSource:
    schema: str
    table: str


@dataclass(frozen=True)
class NamedTableSource:
    """The table the asset's ``warehouse_table`` metadata names: the shadow's depends on the
    candidate the code location was loaded with."""


Evaluate = Callable[[Published, str | None, Any], list[dg.AssetCheckResult]]


@dataclass(frozen=True)
class CheckedAsset:
    """An asset, where its published data is, and its checks computed from that data."""

    key: str
    source: FileSource | TableSource | NamedTableSource
    evaluate: Evaluate

    @property
    def group(self) -> str:
        return self.key.split("/", 1)[0]


def read_file(
    store: FileStore,
    source: FileSource,
    key: dg.AssetKey,
    partitions_def: dg.PartitionsDefinition | None,
    partition: str | None,
) -> pd.DataFrame | dict[str, Any] | None:
    """The file the asset's IO manager wrote for ``partition`` (file_layout.py), None if absent."""
    relpath = asset_file_relpath(key, source.extension, partitions_def, partition)
    if not store.exists(relpath):
        return None
    content = store.read_bytes(relpath)
    if source.extension == "json":
        document: dict[str, Any] = json.loads(content)
        return document
    return pd.read_parquet(io.BytesIO(content))


# -- the checks each asset computes from its published data ----------------------------------------


def _day(partition: str | None) -> date:
    return date.fromisoformat(str(partition))


def _contracts(asset: str) -> Evaluate:
    return lambda _published, _partition, frame: contract_results(asset, frame)


def _raw_events(
    published: Published, partition: str | None, frame: pd.DataFrame
) -> list[dg.AssetCheckResult]:
    day = _day(partition)
    letters = published.dead_letters("raw/events", day.isoformat())
    reconciled = landed_lines_reconciled(
        landed_day(published.landing_zone, day),
        raw_rows=len(frame),
        dead_lettered=len(not_reprocessed(letters)),
    )
    return [*contract_results("raw/events", frame), reconciled]


def _table(table: str) -> Evaluate:
    checks = TABLE_CHECKS[table]
    return lambda published, _partition, frame: checks.evaluate(frame, published.references)


def _fact_orders(
    published: Published, partition: str | None, frame: pd.DataFrame
) -> list[dg.AssetCheckResult]:
    day = _day(partition)
    raw_orders = published.raw_frame("raw/orders", day.isoformat())
    reconciled = source_rows_reconciled(
        published.warehouse,
        day,
        raw_orders if raw_orders is not None else pd.DataFrame(columns=["order_id"]),
        frame,
        published.dead_letters("warehouse/fact_orders", day.isoformat()),
    )
    if raw_orders is None:
        reconciled = reconciled.with_metadata({**reconciled.metadata, "raw_partition": "missing"})
    return [*TABLE_CHECKS["fact_orders"].evaluate(frame, published.references), reconciled]


def _revenue_shadow(
    published: Published, partition: str | None, frame: pd.DataFrame
) -> list[dg.AssetCheckResult]:
    start = pd.Timestamp(_day(partition))
    published_rows = published_revenue(published.warehouse, start, start + pd.Timedelta(days=1))
    return [
        *TABLE_CHECKS["daily_revenue"].evaluate(frame, published.references),
        matches_published(frame, published_rows),
    ]


CHECKED_ASSETS: tuple[CheckedAsset, ...] = (
    CheckedAsset("raw/customers", FileSource("raw", "parquet"), _contracts("raw/customers")),
    CheckedAsset("raw/events", FileSource("raw", "parquet"), _raw_events),
    CheckedAsset("raw/fx_rates", FileSource("raw", "parquet"), _contracts("raw/fx_rates")),
    CheckedAsset("raw/orders", FileSource("raw", "parquet"), _contracts("raw/orders")),
    CheckedAsset("warehouse/daily_events", TableSource("warehouse", "daily_events"), _table("daily_events")),
    CheckedAsset(
        "warehouse/daily_revenue", TableSource("warehouse", "daily_revenue"), _table("daily_revenue")
    ),
    CheckedAsset("warehouse/revenue_shadow", NamedTableSource(), _revenue_shadow),
    CheckedAsset(
        "warehouse/dim_customers", TableSource("warehouse", "dim_customers"), _table("dim_customers")
    ),
    CheckedAsset("warehouse/fact_orders", TableSource("warehouse", "fact_orders"), _fact_orders),
    CheckedAsset(
        "warehouse/user_features", TableSource("warehouse", "user_features"), _table("user_features")
    ),
    CheckedAsset(
        "ml/model_registry", TableSource("ml", "model_registry"), lambda _p, _k, rows: registry_checks(rows)
    ),
    CheckedAsset(
        "ml/segment_models", FileSource("model", "json"), lambda _p, _k, models: trained_checks(models)
    ),
)
CHECKED_GROUPS = tuple(dict.fromkeys(asset.group for asset in CHECKED_ASSETS))


# -- evaluation ------------------------------------------------------------------------------------


def declared_asset(definitions: dg.Definitions, key: str) -> DeclaredAsset:
    """The asset's partitions, partition column and every check declared on it (freshness included)."""
    asset_key = dg.AssetKey.from_user_string(key)
    assets_def = definitions.get_assets_def(asset_key)
    specs = {spec.name: spec for spec in assets_def.check_specs if spec.asset_key == asset_key}
    for checks_def in definitions.asset_checks or []:
        if isinstance(checks_def, dg.AssetChecksDefinition):
            specs.update({s.name: s for s in checks_def.check_specs if s.asset_key == asset_key})
    expr = assets_def.metadata_by_key[asset_key].get("partition_expr")
    return DeclaredAsset(
        asset_key,
        assets_def.partitions_def,
        expr if isinstance(expr, str) else None,
        specs,
        assets_def.metadata_by_key[asset_key],
    )


def _failing_rows(result: dg.AssetCheckResult) -> int:
    metadata = result.metadata or {}
    for name in ("failing_rows", "unaccounted"):  # a reconciliation reports its unaccounted rows
        value = metadata.get(name)
        if isinstance(value, dg.IntMetadataValue) and value.value:
            return abs(int(value.value))
    return 0


def _rows(declared: DeclaredAsset, partition: str, results: Sequence[dg.AssetCheckResult]) -> list[CheckRow]:
    label = declared.key.to_user_string()
    rows = []
    for result in results:
        name = result.check_name or ""
        if name not in declared.specs:  # a drift between this module and the asset's check specs
            raise RuntimeError(f"{label} declares no check {name!r}; declared: {sorted(declared.specs)}")
        rows.append(
            CheckRow(
                label,
                partition,
                name,
                result.severity.value,
                result.passed,
                _failing_rows(result),
                result=result,
            )
        )
    return rows


def _skipped(declared: DeclaredAsset, partition: str, check: str) -> CheckRow:
    severity = dg.AssetCheckSeverity.WARN.value
    return CheckRow(declared.key.to_user_string(), partition, check, severity, True, 0, skipped=True)


def _absent(declared: DeclaredAsset, partition: str, check: str) -> CheckRow:
    return CheckRow(declared.key.to_user_string(), partition, check, "ERROR", False, 0)


def _present_partitions(
    asset: CheckedAsset, declared: DeclaredAsset, published: Published
) -> list[str] | None:
    """The partition keys with published data; None when the asset's table does not exist."""
    source = asset.source
    if isinstance(source, FileSource):
        names = partition_keys_present(published.store(source.store), declared.key, source.extension)
        return [name for name in names if _is_day(name)]
    schema, table = _table_of(source, declared)
    if not published.warehouse.table_exists(schema, table):
        return None
    column = quote_identifier(declared.partition_expr)
    values = published.warehouse.query(
        f"SELECT DISTINCT {column} AS partition_value FROM {qualified_name(schema, table)}"
    )["partition_value"]
    return sorted({pd.Timestamp(value).date().isoformat() for value in values.dropna()})


def _is_day(name: str) -> bool:
    try:
        return date.fromisoformat(name).isoformat() == name and name >= PARTITIONS_START
    except ValueError:
        return False


def _read(asset: CheckedAsset, declared: DeclaredAsset, published: Published, partition: str | None) -> Any:
    """The published data of the partition (the whole asset when None); None when there is none."""
    source = asset.source
    if isinstance(source, FileSource):
        store = published.store(source.store)
        return read_file(store, source, declared.key, declared.partitions_def, partition)
    schema, table = _table_of(source, declared)
    if not published.warehouse.table_exists(schema, table):
        return None
    if partition is None:
        return published.warehouse.read_table(schema, table)
    start = datetime.combine(date.fromisoformat(partition), datetime.min.time())
    frame = published.warehouse.read_table(
        schema,
        table,
        partition=PartitionFilter.time_range(str(declared.partition_expr), start, start + timedelta(days=1)),
    )
    return None if frame.empty else frame


def _table_of(source: TableSource | NamedTableSource, declared: DeclaredAsset) -> tuple[str, str]:
    if isinstance(source, TableSource):
        return source.schema, source.table
    return table_location(declared.key, declared.metadata)


def _row_count_anomaly(
    declared: DeclaredAsset, published: Published, partition: str, data: Any
) -> dg.AssetCheckResult | None:
    if published.instance is None or declared.partitions_def is None:
        return None
    return recorded_row_count_anomaly(
        published.instance, declared.key, declared.partitions_def, partition, len(data), ROW_COUNT_ANOMALY
    )


def evaluate_asset(
    asset: CheckedAsset, declared: DeclaredAsset, published: Published, keys: Sequence[str] | None
) -> list[CheckRow]:
    """Every declared check of the asset: on each selected partition present (``keys`` None: every
    one), then its freshness when due within the selection."""
    if declared.partitions_def is None:
        data = _read(asset, declared, published, None)
        if data is None:
            missing = FILE_EXISTS if isinstance(asset.source, FileSource) else TABLE_EXISTS
            return [_absent(declared, "-", missing)]
        return _rows(declared, "-", asset.evaluate(published, None, data))
    present = _present_partitions(asset, declared, published)
    if present is None:
        return [_absent(declared, "-", TABLE_EXISTS)]
    rows: list[CheckRow] = []
    if keys is None and not present:
        rows.append(_absent(declared, "-", PARTITION_PRESENT))
    for partition in present if keys is None else keys:
        data = _read(asset, declared, published, partition) if partition in present else None
        if data is None:
            rows.append(_absent(declared, partition, PARTITION_PRESENT))
            continue
        results = asset.evaluate(published, partition, data)
        if ROW_COUNT_ANOMALY in declared.specs:
            anomaly = _row_count_anomaly(declared, published, partition, data)
            if anomaly is None:
                rows.append(_skipped(declared, partition, ROW_COUNT_ANOMALY))
            else:
                results.append(anomaly)
        rows.extend(_rows(declared, partition, results))
    return rows + freshness_rows(declared, published, keys)


def freshness_rows(
    declared: DeclaredAsset, published: Published, keys: Sequence[str] | None
) -> list[CheckRow]:
    """The SLA'd asset's freshness: is the partition due by now there? Evaluated when no partition
    was selected or the selection holds the partition due; it is a statement about now."""
    label = declared.key.to_user_string()
    sla = SLA_AFTER_DAY_END.get(label)
    if FRESHNESS_CHECK not in declared.specs:
        return []
    if sla is None:
        raise RuntimeError(f"{label} declares {FRESHNESS_CHECK} but has no SLA in ops/sla.py")
    if published.instance is None:
        return [_skipped(declared, "-", FRESHNESS_CHECK)]
    expected, result = daily_partition_freshness(
        published.instance, declared.key, sla, published.now, PARTITIONS_START
    )
    if keys is not None and expected not in keys:
        return []
    return _rows(declared, "-", [result])
