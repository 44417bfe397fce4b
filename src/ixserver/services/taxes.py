"""Taxes: list, get, create, update, delete (api-v2 §9); the tax a document line gets."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.engine import Connection

from ixserver import clock
from ixserver.domain import taxes as rules
from ixserver.domain.errors import TaxNotFound, ValidationFailed, raise_if
from ixserver.domain.taxes import Tax
from ixserver.store import taxes as store
from ixserver.store.accounts import account_by_id
from ixserver.writes.use_cases import of_account


@dataclass(frozen=True)
class TaxInput:
    """What a request says about a tax; None = not given."""

    name: str | None = None
    value: Decimal | None = None
    region: str | None = None
    code: str | None = None
    make_default: bool | None = None


def seed(conn: Connection, account_id: int, region: str) -> None:
    now = clock.now()
    for tax in rules.seed_taxes(region):
        store.insert_tax(
            conn,
            account_id=account_id,
            created_at=now,
            name=tax.name,
            value=rules.normalize_rate(tax.value),
            region=tax.region,
            code=tax.code,
            is_default=tax.is_default,
        )


def list_taxes(conn: Connection, account_id: int) -> list[Tax]:
    return store.list_taxes(conn, account_id)


def get_tax(conn: Connection, account_id: int, tax_id: int) -> Tax:
    tax = store.get_tax(conn, account_id, tax_id)
    if tax is None:
        raise TaxNotFound()
    return tax


def _account_region(conn: Connection, account_id: int) -> str:
    account = account_by_id(conn, account_id)
    return account.tax_region if account else "PT"


@of_account
def create_tax(conn: Connection, account_id: int, data: TaxInput) -> Tax:
    problems = rules.validate_tax(name=data.name, value=data.value, region=data.region or None, code=data.code)
    if data.name is None:
        problems.insert(0, "Name can't be blank")
    if data.value is None:
        problems.append("Value can't be blank")
    raise_if(problems)
    assert data.name is not None and data.value is not None
    name = data.name.strip()
    if store.tax_by_name(conn, account_id, name) is not None:
        raise ValidationFailed("Name has already been taken")
    # Odoo sends "region": "" — the account's own region is what it means.
    region = data.region or _account_region(conn, account_id)
    value = rules.normalize_rate(data.value)
    tax_id = store.insert_tax(
        conn,
        account_id=account_id,
        created_at=clock.now(),
        name=name,
        value=value,
        region=region,
        code=data.code or rules.infer_code(value, region),
        is_default=False,
    )
    if data.make_default:
        store.make_default(conn, account_id, tax_id)
    return get_tax(conn, account_id, tax_id)


@of_account
def update_tax(conn: Connection, account_id: int, tax_id: int, data: TaxInput) -> Tax:
    current = get_tax(conn, account_id, tax_id)
    raise_if(rules.validate_tax(name=data.name, value=data.value, region=data.region or None, code=data.code))
    changes: dict[str, object] = {}
    if data.name is not None and data.name.strip() != current.name:
        other = store.tax_by_name(conn, account_id, data.name.strip())
        if other is not None and other.id != tax_id:
            raise ValidationFailed("Name has already been taken")
        changes["name"] = data.name.strip()
    if data.value is not None and rules.normalize_rate(data.value) != current.value:
        if store.is_on_issued_documents(conn, tax_id):
            raise ValidationFailed("The rate of a tax on issued documents can't be changed: create another tax")
        changes["value"] = rules.normalize_rate(data.value)
    if data.region:
        changes["region"] = data.region
    if data.code:
        changes["code"] = data.code
    store.update_tax(conn, tax_id, **changes)
    if data.make_default:
        store.make_default(conn, account_id, tax_id)
    return get_tax(conn, account_id, tax_id)


@of_account
def delete_tax(conn: Connection, account_id: int, tax_id: int) -> None:
    tax = get_tax(conn, account_id, tax_id)
    if tax.is_default:
        raise ValidationFailed("The default tax can't be deleted; make another tax the default first")
    if store.is_on_issued_documents(conn, tax_id):
        raise ValidationFailed("A tax on issued documents can't be deleted")
    store.delete_tax(conn, tax_id)


def pick(taxes: list[Tax], name: str | None, value: Decimal | None) -> Tax:
    """The tax a line or item gets (api-v2 §4.3): the named tax when its rate is the one sent
    (or none is sent); else a tax with the rate sent; else the account's default tax."""
    wanted = name.strip() if name else None
    for tax in taxes:
        if wanted and tax.name == wanted and (value is None or tax.value == value):
            return tax
    if value is not None:
        for tax in taxes:
            if tax.value == value:
                return tax
    for tax in taxes:
        if tax.is_default:
            return tax
    raise ValidationFailed("The account has no default tax")


def resolve(conn: Connection, account_id: int, name: str | None, value: Decimal | None) -> Tax:
    return pick(store.list_taxes(conn, account_id), name, value)
