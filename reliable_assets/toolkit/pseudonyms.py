"""Stable pseudonyms for personal data: a keyed HMAC of the value, in a format that stays valid.

A pseudonym is a function of the key and the value alone, so the same real value gets the same
pseudonym in every run, on every day and in every process, and equal values stay equal (joins,
deduplication and change detection behave as on the real data). Without the key nobody can
recompute or reverse them: a plain hash of an email is one dictionary lookup away from the email.

The key comes from the environment only and is never printed: not in errors, not in `repr`.
"""

import hashlib
import hmac
import os

MIN_KEY_LENGTH = 32
TOKEN_HEX_DIGITS = 16  # 64 bits: no collision to expect below billions of distinct values
PSEUDONYM_EMAIL_DOMAIN = "example.invalid"  # RFC 2606: never a real mailbox


class PseudonymKeyError(ValueError):
    """The pseudonym key is missing or too short to be a secret."""


class Pseudonymizer:
    """Turns names and emails into stable pseudonyms under one secret key."""

    __slots__ = ("_key",)

    def __init__(self, key: str) -> None:
        if len(key) < MIN_KEY_LENGTH:
            raise PseudonymKeyError(
                f"the pseudonym key has {len(key)} characters, fewer than {MIN_KEY_LENGTH}: use a random"
                " secret, e.g. `python -c 'import secrets; print(secrets.token_hex(32))'`."
            )
        self._key = key.encode()

    @classmethod
    def from_environment(cls, variable: str) -> "Pseudonymizer":
        """The key in `variable`; refuses to run without one rather than write real data."""
        key = os.environ.get(variable, "")
        if not key:
            raise PseudonymKeyError(
                f"{variable} is not set: it holds the secret key of the pseudonyms that replace customer"
                " names and emails. Set it from your secret store (the same value every run, or the"
                " pseudonyms change), e.g. one made with"
                " `python -c 'import secrets; print(secrets.token_hex(32))'`."
            )
        try:
            return cls(key)
        except PseudonymKeyError as error:
            raise PseudonymKeyError(f"{variable}: {error}") from None

    def __repr__(self) -> str:
        return "Pseudonymizer(key=<hidden>)"

    def token(self, kind: str, value: str) -> str:
        """Hex token of `value`; `kind` separates the fields, so a name and an equal email differ."""
        message = f"{kind}\x00{value}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()[:TOKEN_HEX_DIGITS]

    def email(self, value: str) -> str:
        return f"user-{self.token('email', value)}@{PSEUDONYM_EMAIL_DOMAIN}"

    def name(self, value: str) -> str:
        return f"Customer {self.token('name', value)}"
