"""Which DuckDB column types a staged frame column may be written into (and how to check it)."""

from __future__ import annotations

import re

_INTEGER = {
    "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT",
    "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT",
}  # fmt: skip
_FLOAT = {"FLOAT", "DOUBLE", "REAL"}
# Type names as DESCRIBE spells them; nested types whose field names came from data do not match.
_PLAIN_TYPE = re.compile(r"[A-Z][A-Z0-9_]*( WITH TIME ZONE)?(\(\d+(, ?\d+)?\))?(\[\])*")
_TEMPORAL = {
    "DATE", "TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS", "TIMESTAMP WITH TIME ZONE",
}  # fmt: skip
NULL_TYPE = '"NULL"'


def family(duck_type: str) -> str:
    """A coarse type family; types in one family convert into each other without surprises."""
    upper = duck_type.upper()
    if upper in {NULL_TYPE, "NULL"}:
        return "null"
    if upper in _INTEGER:
        return "integer"
    if upper in _FLOAT or upper.startswith("DECIMAL"):
        return "float"
    if upper in _TEMPORAL:
        return "temporal"
    if upper == "VARCHAR" or upper.startswith("ENUM("):
        return "text"
    return upper  # BOOLEAN, TIME, INTERVAL, BLOB, UUID, nested types: only the same type fits


def storage_type(duck_type: str) -> str:
    """The type a new table column gets: untyped (all-null) and enum columns become VARCHAR."""
    return "VARCHAR" if family(duck_type) in {"null", "text"} else duck_type


def type_sql(duck_type: str) -> str:
    """``duck_type`` if it is safe to write into DDL text, else TypeError."""
    if not _PLAIN_TYPE.fullmatch(duck_type):
        raise TypeError(f"cannot add a column of type {duck_type} automatically")
    return duck_type


def lossy_condition(staged_type: str, table_type: str, column_sql: str) -> str | None:
    """SQL that is true for a staged value that would be mangled by the conversion, if any.

    Returns None when every value converts faithfully (same family, widening), and raises
    TypeError when the types cannot be mixed at all (e.g. VARCHAR into BIGINT).
    """
    staged, target = family(staged_type), family(table_type)
    if staged in ("null", target):
        if target == "temporal" and table_type.upper() == "DATE" and staged_type.upper() != "DATE":
            # pandas keeps dates as midnight timestamps; only those fit a DATE column.
            return f"CAST(CAST({column_sql} AS DATE) AS TIMESTAMP) <> CAST({column_sql} AS TIMESTAMP)"
        return None
    if staged == "integer" and target == "float":
        return None
    if staged == "float" and target == "integer":
        # Nullable integer columns arrive as float64; whole numbers fit, fractions do not.
        number = f"CAST({column_sql} AS DOUBLE)"
        return f"(NOT isfinite({number}) OR {number} <> trunc({number}))"
    raise TypeError(f"{staged_type} values cannot be written into a {table_type} column")
