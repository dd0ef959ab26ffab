import pytest

from reliable_assets.toolkit.sql import InvalidIdentifierError, column_list, qualified_name, quote_identifier


@pytest.mark.parametrize("name", ["orders", "_run_id", "Fact_Orders2", "a" * 63])
def test_valid_identifiers_are_double_quoted(name: str) -> None:
    """Invariant: a valid identifier is returned double-quoted and otherwise unchanged."""
    assert quote_identifier(name) == f'"{name}"'


@pytest.mark.parametrize(
    "name",
    ['x"; drop table y; --', "a b", "1abc", "", "a" * 64, "naïve", "x\n", "t.c", "a-b", None, 3],
)
def test_hostile_or_malformed_identifiers_are_refused(name: object) -> None:
    """Invariant: nothing but ^[A-Za-z_][A-Za-z0-9_]{0,62}$ reaches SQL; the error names the
    identifier and the rule."""
    with pytest.raises(InvalidIdentifierError) as raised:
        quote_identifier(name)
    assert repr(name) in str(raised.value)
    assert "A-Za-z_" in str(raised.value)
    assert isinstance(raised.value, ValueError)


def test_qualified_name_validates_both_parts() -> None:
    """Invariant: schema and table are each validated and quoted."""
    assert qualified_name("warehouse", "fact_orders") == '"warehouse"."fact_orders"'
    with pytest.raises(InvalidIdentifierError):
        qualified_name("warehouse", 'x"; drop table y; --')
    with pytest.raises(InvalidIdentifierError):
        qualified_name("a.b", "t")
    assert column_list(["a", "b"]) == '"a", "b"'
