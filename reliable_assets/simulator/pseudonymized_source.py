"""A source writer that stores customers under pseudonyms: what staging's source database receives.

It wraps the deployment's own writer, so staging's source has prod's tables and types and differs
only in the personal columns. Pseudonyms follow the value, not the customer id: a customer who
changes email gets a new pseudonymous email, and `warehouse/dim_customers` sees the update as it
would in prod.
"""

import dataclasses
from collections.abc import Sequence

from reliable_assets.simulator.customers import Customer
from reliable_assets.simulator.orders import Order
from reliable_assets.simulator.source_db import SourceWriter
from reliable_assets.toolkit.pseudonyms import Pseudonymizer


def pseudonymized(customer: Customer, pseudonymizer: Pseudonymizer) -> Customer:
    return dataclasses.replace(
        customer, name=pseudonymizer.name(customer.name), email=pseudonymizer.email(customer.email)
    )


class PseudonymizedSourceWriter:
    def __init__(self, inner: SourceWriter, pseudonymizer: Pseudonymizer) -> None:
        self.inner = inner
        self.pseudonymizer = pseudonymizer

    def write(self, customers: Sequence[Customer], orders: Sequence[Order], as_of: int) -> str:
        masked = [pseudonymized(customer, self.pseudonymizer) for customer in customers]
        return f"{self.inner.write(masked, orders, as_of)}, customer names and emails pseudonymized"
