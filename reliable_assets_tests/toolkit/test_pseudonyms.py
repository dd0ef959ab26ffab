"""Pseudonyms: stable under one key, unlinkable without it, valid in format, the key never shown."""

import re
import subprocess
import sys

import pandas as pd
import pytest

from reliable_assets.toolkit.pseudonyms import Pseudonymizer, PseudonymKeyError
from reliable_assets.warehouse.schemas import DimCustomers

KEY = "k" * 40
OTHER_KEY = "o" * 40


def test_the_same_value_gets_the_same_pseudonym_in_another_process() -> None:
    """Stable across runs: nothing per-process (like Python's salted `hash()`) feeds a pseudonym."""
    code = (
        "from reliable_assets.toolkit.pseudonyms import Pseudonymizer;"
        f"print(Pseudonymizer({KEY!r}).email('ada.smith1@example.com'))"
    )
    elsewhere = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert elsewhere.stdout.strip() == Pseudonymizer(KEY).email("ada.smith1@example.com")


def test_pseudonyms_depend_on_the_key_the_value_and_the_field() -> None:
    pseudonymizer = Pseudonymizer(KEY)
    email = pseudonymizer.email("ada.smith1@example.com")
    assert email != Pseudonymizer(OTHER_KEY).email("ada.smith1@example.com")
    assert email != pseudonymizer.email("ada.smith1@mail.example.org")
    assert pseudonymizer.token("name", "x") != pseudonymizer.token("email", "x")


def test_pseudonyms_keep_the_formats_the_contracts_check() -> None:
    """An email still looks like one (and passes dim_customers' contract); a name like a name."""
    pseudonymizer = Pseudonymizer(KEY)
    email, name = pseudonymizer.email("ada.smith1@example.com"), pseudonymizer.name("Ada Smith")
    assert re.fullmatch(r"user-[0-9a-f]{16}@example\.invalid", email), email
    assert re.fullmatch(r"Customer [0-9a-f]{16}", name), name
    frame = pd.DataFrame(
        {"customer_id": [1], "email": [email], "country": ["US"], "row_hash": ["0" * 32]}
    ).assign(is_deleted=False)
    DimCustomers.validate(frame)


def test_the_key_is_never_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    assert KEY not in repr(Pseudonymizer(KEY))
    monkeypatch.setenv("PSEUDONYM_TEST_KEY", "too-short-secret")
    too_short = "PSEUDONYM_TEST_KEY: the pseudonym key has 16 characters"
    with pytest.raises(PseudonymKeyError, match=too_short) as raised:
        Pseudonymizer.from_environment("PSEUDONYM_TEST_KEY")
    assert "too-short-secret" not in str(raised.value)


def test_a_missing_key_is_refused_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PSEUDONYM_TEST_KEY", raising=False)
    with pytest.raises(PseudonymKeyError, match="PSEUDONYM_TEST_KEY is not set"):
        Pseudonymizer.from_environment("PSEUDONYM_TEST_KEY")
