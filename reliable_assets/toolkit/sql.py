"""Safe SQL text: identifiers are validated and quoted; values are never formatted into SQL.

Every identifier that reaches a SQL string goes through :func:`quote_identifier`, so a table,
schema or column name cannot smuggle SQL in. Values are always bound as parameters.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

IDENTIFIER_RULE = "^[A-Za-z_][A-Za-z0-9_]{0,62}$"
_IDENTIFIER = re.compile(IDENTIFIER_RULE)


class InvalidIdentifierError(ValueError):
    """An identifier that does not match :data:`IDENTIFIER_RULE`."""

    def __init__(self, name: object) -> None:
        super().__init__(
            f"Invalid SQL identifier {name!r}: identifiers must match {IDENTIFIER_RULE} "
            "(a letter or underscore, then up to 62 letters, digits or underscores)."
        )
        self.name = name


def validate_identifier(name: object) -> str:
    """Return ``name`` unchanged if it is a safe identifier, else raise InvalidIdentifierError."""
    # fullmatch, not match: "$" would also accept a trailing newline.
    if not isinstance(name, str) or not _IDENTIFIER.fullmatch(name):
        raise InvalidIdentifierError(name)
    return name


def quote_identifier(name: object) -> str:
    """Validate ``name`` and return it double-quoted (so reserved words and case survive)."""
    return f'"{validate_identifier(name)}"'


def qualified_name(schema: str, table: str) -> str:
    """``"schema"."table"``, both parts validated."""
    return f"{quote_identifier(schema)}.{quote_identifier(table)}"


def column_list(names: Iterable[str]) -> str:
    """Comma-separated quoted column names, e.g. ``"a", "b"``."""
    return ", ".join(quote_identifier(name) for name in names)
