"""Catalogue items (api-v2 §11, §4.3.2)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from ixserver.domain.limits import AMOUNT_PLACES, MAX_AMOUNT, number_problems

UNITS = ("service", "unit", "hour", "day", "month", "other")


def validate_item(
    *, name: str | None, description: str | None, unit_price: Decimal | None, unit: str | None, creating: bool
) -> list[str]:
    problems: list[str] = []
    if (creating and name is None) or (name is not None and not name.strip()):
        problems.append("Name is a required field")
    if (creating and description is None) or (description is not None and not description.strip()):
        problems.append("Description is a required field")
    if creating and unit_price is None:
        problems.append("Price is a required field")
    if unit_price is not None and unit_price < 0:
        problems.append("Price must be greater than or equal to 0")
    else:
        problems.extend(price_problems(unit_price, "Price"))
    if unit is not None and unit not in UNITS:
        problems.append(f"Unit {unit} is not included in the list of accepted units")
    return problems


def price_problems(price: Decimal | None, field: str) -> list[str]:
    """A price that is not negative (checked by the caller, with its own message), below 10^12,
    with at most ten decimals."""
    return number_problems(price, field, low=Decimal(0), high=MAX_AMOUNT, places=AMOUNT_PLACES)


@dataclass(frozen=True)
class Item:
    """An item (a product or service) of an account, as stored."""

    id: int
    name: str
    description: str
    unit_price: Decimal
    unit: str | None
    tax_id: int | None
    tax_name: str | None
    tax_value: Decimal | None
