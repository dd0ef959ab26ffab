"""Blue-green releases behind a view: which version's table consumers read, switched in one step.

Each version of a table's logic writes a physical table of its own; consumers read one view.
A release replaces the view's definition and appends a row to ``ops.releases`` in a single
transaction (DuckDB and PostgreSQL both run DDL inside transactions), so a reader sees the old
version whole or the new one whole, and a crash leaves view and log as they were. Releases never
write to the versions' tables, so a rollback returns consumers to exactly the rows they read
before. ``CREATE OR REPLACE VIEW`` rather than drop-and-create: grants on the view survive, and a
PostgreSQL reader waits for the swap instead of failing on a missing view.

Promote and rollback are idempotent: promoting the version already served, or rolling back
when the latest change was a rollback already, changes nothing and is logged with
``changed = false`` (who tried, when, from which run). A rollback undoes the latest promotion
only, so a retried or double-clicked rollback never goes two steps back.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from reliable_assets.toolkit.sql import column_list, qualified_name, quote_identifier, validate_identifier
from reliable_assets.toolkit.warehouse import SqlTransaction, Warehouse

RELEASES_SCHEMA, RELEASES_TABLE = "ops", "releases"
PROMOTE, ROLLBACK = "promote", "rollback"
_LOG = qualified_name(RELEASES_SCHEMA, RELEASES_TABLE)
_LOG_COLUMNS = (
    "view_name",
    "release_number",
    "action",
    "changed",
    "from_version",
    "from_table",
    "to_version",
    "to_table",
    "released_by",
    "released_at",
    "run_id",
)
_CREATE_LOG = (
    f"CREATE TABLE IF NOT EXISTS {_LOG} (view_name TEXT NOT NULL, release_number BIGINT NOT NULL,"
    " action TEXT NOT NULL, changed BOOLEAN NOT NULL, from_version TEXT NOT NULL, from_table TEXT NOT NULL,"
    " to_version TEXT NOT NULL, to_table TEXT NOT NULL, released_by TEXT NOT NULL,"
    " released_at TIMESTAMP NOT NULL, run_id TEXT NOT NULL, PRIMARY KEY (view_name, release_number))"
)
SAMPLE_VALUES = 5


class ReleaseError(Exception):
    """A release refused before anything changed: the view and the log are as they were."""


@dataclass(frozen=True)
class ReleaseTarget:
    """A version of the logic and the physical table that holds its rows."""

    version: str
    schema: str
    table: str

    def __post_init__(self) -> None:
        validate_identifier(self.schema)
        validate_identifier(self.table)

    @property
    def table_name(self) -> str:
        return f"{self.schema}.{self.table}"

    @classmethod
    def parse(cls, version: str, table_name: str) -> "ReleaseTarget":
        schema, _, table = table_name.partition(".")
        return cls(version, schema, table)


_LOG_TARGET = ReleaseTarget("-", RELEASES_SCHEMA, RELEASES_TABLE)


@dataclass(frozen=True)
class Release:
    """One row of ``ops.releases``: what consumers read before and after, and who asked."""

    view: str
    number: int
    action: str
    changed: bool
    source: ReleaseTarget
    target: ReleaseTarget
    released_by: str
    released_at: datetime
    run_id: str


@dataclass(frozen=True)
class ConsumerView:
    """The view consumers read, the columns it exposes, and the version it serves before any release.

    ``coverage_column``: a promoted table must hold every value of this column (a partition
    column, say) that the served table holds, so a promotion never makes days disappear.
    """

    schema: str
    name: str
    columns: tuple[str, ...]
    baseline: ReleaseTarget
    coverage_column: str

    @property
    def view_name(self) -> str:
        return f"{validate_identifier(self.schema)}.{validate_identifier(self.name)}"

    # ---- reads -------------------------------------------------------------------------------

    def served(self, warehouse: Warehouse) -> ReleaseTarget:
        """The version consumers read now (the baseline until the first release changes it)."""
        if not warehouse.table_exists(RELEASES_SCHEMA, RELEASES_TABLE):
            return self.baseline
        with warehouse.transaction() as tx:
            return self._served(self._history(tx))

    def history(self, warehouse: Warehouse) -> list[Release]:
        if not warehouse.table_exists(RELEASES_SCHEMA, RELEASES_TABLE):
            return []
        with warehouse.transaction() as tx:
            return self._history(tx)

    # ---- releases ----------------------------------------------------------------------------

    def promote(self, warehouse: Warehouse, target: ReleaseTarget, released_by: str, run_id: str) -> Release:
        """Point the view at ``target``; refused (nothing changed) when its table lacks a column
        consumers read or a ``coverage_column`` value the served table has."""
        with warehouse.transaction() as tx:
            history = self._open_log(tx)
            served = self._served(history)
            if target != served:
                self._require_columns(tx, target)
                self._require_coverage(tx, served, target)
            return self._record(tx, history, PROMOTE, served, target, released_by, run_id)

    def rollback(self, warehouse: Warehouse, released_by: str, run_id: str) -> Release:
        """Point the view back at what it served before the latest promotion, if that promotion is
        the latest change; otherwise change nothing (log a no-op)."""
        with warehouse.transaction() as tx:
            history = self._open_log(tx)
            served = self._served(history)
            changes = [release for release in history if release.changed]
            undo = changes[-1] if changes and changes[-1].action == PROMOTE else None
            target = undo.source if undo else served
            if target != served:
                self._require_columns(tx, target)
            return self._record(tx, history, ROLLBACK, served, target, released_by, run_id)

    def ensure(self, warehouse: Warehouse) -> bool:
        """Create the view on the served version if it does not exist yet; True if it was created.

        Nothing is logged: no version changed. Does nothing while the served table is missing.
        """
        with warehouse.transaction() as tx:
            if _view_exists(tx, self.schema, self.name):  # the usual answer, found without a lock
                return False
            tx.lock(_LOG)
            served = self._served(self._history(tx)) if _table_exists(tx, _LOG_TARGET) else self.baseline
            if _view_exists(tx, self.schema, self.name) or not _table_exists(tx, served):
                return False
            self._require_columns(tx, served)
            self._point_view(tx, served)
            return True

    # ---- inside the transaction --------------------------------------------------------------

    def _open_log(self, tx: SqlTransaction) -> list[Release]:
        # One release at a time: a second promote waits here (PostgreSQL) or fails its commit
        # (DuckDB), and then sees the first one in the log.
        tx.lock(_LOG)
        tx.ensure_schema(RELEASES_SCHEMA)
        tx.execute(_CREATE_LOG)
        return self._history(tx)

    def _history(self, tx: SqlTransaction) -> list[Release]:
        rows = tx.fetch(
            f"SELECT {column_list(_LOG_COLUMNS)} FROM {_LOG} WHERE view_name = {tx.placeholder}"
            " ORDER BY release_number",
            [self.view_name],
        )
        return [_release(dict(zip(_LOG_COLUMNS, row, strict=True))) for row in rows]

    def _served(self, history: Sequence[Release]) -> ReleaseTarget:
        changes = [release for release in history if release.changed]
        return changes[-1].target if changes else self.baseline

    def _require_columns(self, tx: SqlTransaction, target: ReleaseTarget) -> None:
        present = _columns(tx, target)
        if not present:
            raise ReleaseError(
                f"Version {target.version!r} has no table {target.table_name}: materialize it first."
                f" Nothing changed; consumers still read what {self.view_name} served."
            )
        missing = [column for column in self.columns if column not in present]
        if missing:
            raise ReleaseError(
                f"{target.table_name} (version {target.version!r}) lacks columns consumers of"
                f" {self.view_name} read: {missing}. Nothing changed."
            )

    def _require_coverage(self, tx: SqlTransaction, served: ReleaseTarget, target: ReleaseTarget) -> None:
        if not _table_exists(tx, served):
            return
        column = quote_identifier(self.coverage_column)
        rows = tx.fetch(
            f"SELECT DISTINCT {column} FROM {qualified_name(served.schema, served.table)} EXCEPT"
            f" SELECT DISTINCT {column} FROM {qualified_name(target.schema, target.table)}"
        )
        if rows:
            values = sorted(str(row[0]) for row in rows)
            raise ReleaseError(
                f"{target.table_name} (version {target.version!r}) lacks {len(values)} {self.coverage_column}"
                f" value(s) that consumers of {self.view_name} read now, e.g. {values[:SAMPLE_VALUES]}:"
                " write them there first (materialize those partitions). Nothing changed."
            )

    def _point_view(self, tx: SqlTransaction, target: ReleaseTarget) -> None:
        tx.execute(
            f"CREATE OR REPLACE VIEW {qualified_name(self.schema, self.name)} AS"
            f" SELECT {column_list(self.columns)} FROM {qualified_name(target.schema, target.table)}"
        )

    def _record(
        self,
        tx: SqlTransaction,
        history: Sequence[Release],
        action: str,
        served: ReleaseTarget,
        target: ReleaseTarget,
        released_by: str,
        run_id: str,
    ) -> Release:
        changed = target != served
        if changed or not _view_exists(tx, self.schema, self.name):
            self._point_view(tx, target)
        release = Release(
            view=self.view_name,
            number=(history[-1].number + 1) if history else 1,
            action=action,
            changed=changed,
            source=served,
            target=target,
            released_by=released_by,
            # Naive UTC, like every timestamp of the toolkit.
            released_at=datetime.now(UTC).replace(tzinfo=None),
            run_id=run_id,
        )
        placeholders = ", ".join([tx.placeholder] * len(_LOG_COLUMNS))
        tx.execute(f"INSERT INTO {_LOG} ({column_list(_LOG_COLUMNS)}) VALUES ({placeholders})", _row(release))
        return release


def _row(release: Release) -> list[Any]:
    return [
        release.view,
        release.number,
        release.action,
        release.changed,
        release.source.version,
        release.source.table_name,
        release.target.version,
        release.target.table_name,
        release.released_by,
        release.released_at,
        release.run_id,
    ]


def _release(row: dict[str, Any]) -> Release:
    return Release(
        view=str(row["view_name"]),
        number=int(row["release_number"]),
        action=str(row["action"]),
        changed=bool(row["changed"]),
        source=ReleaseTarget.parse(str(row["from_version"]), str(row["from_table"])),
        target=ReleaseTarget.parse(str(row["to_version"]), str(row["to_table"])),
        released_by=str(row["released_by"]),
        released_at=row["released_at"],
        run_id=str(row["run_id"]),
    )


# information_schema, not a lookup of the relation itself: inside a DuckDB transaction a failed
# lookup aborts the transaction. The same SQL answers on both engines.
_COLUMNS_SQL = (
    "SELECT column_name FROM information_schema.columns WHERE table_catalog = current_database()"
    " AND table_schema = {p} AND table_name = {p} ORDER BY ordinal_position"
)
_VIEW_SQL = (
    "SELECT count(*) FROM information_schema.tables WHERE table_catalog = current_database()"
    " AND table_schema = {p} AND table_name = {p} AND table_type = 'VIEW'"
)


def _columns(tx: SqlTransaction, target: ReleaseTarget) -> list[str]:
    rows = tx.fetch(_COLUMNS_SQL.format(p=tx.placeholder), [target.schema, target.table])
    return [str(row[0]) for row in rows]


def _view_exists(tx: SqlTransaction, schema: str, name: str) -> bool:
    rows = tx.fetch(_VIEW_SQL.format(p=tx.placeholder), [schema, name])
    return bool(rows and rows[0][0])


def _table_exists(tx: SqlTransaction, target: ReleaseTarget) -> bool:
    return bool(_columns(tx, target))
