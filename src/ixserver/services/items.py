"""Catalogue items: list, get, create, update, delete (api-v2 §11)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.engine import Connection

from ixserver import clock
from ixserver.domain.errors import ItemNotFound, ValidationFailed, raise_if
from ixserver.domain.items import Item, validate_item
from ixserver.services import taxes as tax_service
from ixserver.store import items as store
from ixserver.writes.use_cases import of_account


@dataclass(frozen=True)
class ItemInput:
    """What a request says about an item; None = not given."""

    name: str | None = None
    description: str | None = None
    unit_price: Decimal | None = None
    unit: str | None = None
    tax_name: str | None = None
    tax_value: Decimal | None = None
    tax_given: bool = False


def get_item(conn: Connection, account_id: int, item_id: int) -> Item:
    item = store.get_item(conn, account_id, item_id)
    if item is None:
        raise ItemNotFound()
    return item


def list_items(conn: Connection, account_id: int, page: int, per_page: int) -> tuple[list[Item], int]:
    return store.list_items(conn, account_id, page, per_page)


def _name_is_free(conn: Connection, account_id: int, name: str, item_id: int | None) -> None:
    other = store.item_by_name(conn, account_id, name)
    if other is not None and other.id != item_id:
        raise ValidationFailed("Name is not available.")


@of_account
def create_item(conn: Connection, account_id: int, data: ItemInput) -> Item:
    raise_if(
        validate_item(
            name=data.name, description=data.description, unit_price=data.unit_price, unit=data.unit, creating=True
        )
    )
    assert data.name is not None and data.description is not None and data.unit_price is not None
    name = data.name.strip()
    _name_is_free(conn, account_id, name, None)
    tax = tax_service.resolve(conn, account_id, data.tax_name, data.tax_value)
    item_id = store.insert_item(
        conn,
        account_id=account_id,
        created_at=clock.now(),
        name=name,
        description=data.description,
        unit_price=data.unit_price,
        unit=data.unit,
        tax_id=tax.id,
    )
    return get_item(conn, account_id, item_id)


@of_account
def update_item(conn: Connection, account_id: int, item_id: int, data: ItemInput) -> Item:
    current = get_item(conn, account_id, item_id)
    raise_if(
        validate_item(
            name=data.name, description=data.description, unit_price=data.unit_price, unit=data.unit, creating=False
        )
    )
    changes: dict[str, object] = {}
    if data.name is not None and data.name.strip() != current.name:
        _name_is_free(conn, account_id, data.name.strip(), item_id)
        if store.is_on_documents(conn, item_id):
            raise ValidationFailed("Name can't be changed because it is already associated with invoices")
        changes["name"] = data.name.strip()
    if data.description is not None:
        changes["description"] = data.description
    if data.unit_price is not None:
        changes["unit_price"] = data.unit_price
    if data.unit is not None:
        changes["unit"] = data.unit
    if data.tax_given:
        changes["tax_id"] = tax_service.resolve(conn, account_id, data.tax_name, data.tax_value).id
    store.update_item(conn, item_id, **changes)
    return get_item(conn, account_id, item_id)


@of_account
def delete_item(conn: Connection, account_id: int, item_id: int) -> None:
    get_item(conn, account_id, item_id)
    store.delete_item(conn, item_id)


@dataclass(frozen=True)
class LineItem:
    """What a document line says of its catalogue item."""

    name: str
    description: str | None
    unit_price: Decimal | None
    unit: str | None
    tax_id: int


def upsert_for_lines(
    conn: Connection, account_id: int, lines: list[LineItem], known: dict[str, Item] | None = None
) -> list[Item]:
    """The catalogue items document lines name (api-v2 §4.3): created when no item has that
    name, else updated with the values the line carries. One query finds them all (or `known`:
    the account's items of these lines' names, as the caller read them)."""
    if known is None:
        known = store.items_by_names(conn, account_id, sorted({line.name for line in lines}))
    result = []
    for line in lines:
        item = known.get(line.name)
        if item is None:
            if line.unit_price is None:
                raise ValidationFailed(f"Item {line.name}: Unit price must be a number")
            item_id = store.insert_item(
                conn,
                account_id=account_id,
                created_at=clock.now(),
                name=line.name,
                description=line.description or line.name,
                unit_price=line.unit_price,
                unit=line.unit,
                tax_id=line.tax_id,
            )
            item = get_item(conn, account_id, item_id)
        else:
            changes: dict[str, object] = {}
            if line.description and line.description != item.description:
                changes["description"] = line.description
            if line.unit_price is not None and line.unit_price != item.unit_price:
                changes["unit_price"] = line.unit_price
            if line.unit and line.unit != item.unit:
                changes["unit"] = line.unit
            if line.tax_id != item.tax_id:
                changes["tax_id"] = line.tax_id
            if changes:
                store.update_item(conn, item.id, **changes)
                item = get_item(conn, account_id, item.id)
        known[line.name] = item
        result.append(item)
    return result
