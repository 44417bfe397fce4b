"""`POST /_ixserver/seed` (sandbox) and `ixserver seed ACCOUNT --documents N`: an account filled
with realistic Portuguese clients and items, and documents of every family in every state they
can be in (draft, final, settled, partly paid, canceled, accepted, refused; receipts; credit and
debit notes), dated on the account's clock.

Everything is made as a client of the API would make it: the request bodies are the API's wire
format, read by the API's own parsers, and each step runs the use case the API's handler runs
(through the same `Writes`), so every rule is checked, every document signed and sealed, and
`ixserver verify` finds the account as the API would have left it."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ixserver import clock
from ixserver.api.clients import parse_client
from ixserver.api.documents import parse_document
from ixserver.api.sandbox import sandbox_context
from ixserver.domain.doctypes import BY_KEY
from ixserver.domain.documents import Document
from ixserver.domain.errors import ValidationFailed
from ixserver.services import clients as client_service
from ixserver.services import clocks as clock_service
from ixserver.services import documents as document_service
from ixserver.services import items as item_service
from ixserver.services import payments as payment_service
from ixserver.services.items import ItemInput
from ixserver.services.payments import PaymentInput
from ixserver.store.db import Database
from ixserver.web.context import account
from ixserver.web.routing import Router
from ixserver.web.wire import JSONResponse, as_int, read_body, require_root
from ixserver.writes import Writes

router = Router(prefix="/_ixserver")
MAX_DOCUMENTS = 2_000

CLIENTS = [
    ("Padaria Central, Lda", "503004227", "Rua Augusta 120", "1100-053", "Lisboa"),
    ("Oficina Auto Minho, Lda", "504615947", "Avenida da Liberdade 45", "4710-249", "Braga"),
    ("Farmácia Sousa & Filhos", "505093839", "Praça da República 3", "3000-343", "Coimbra"),
    ("Quinta do Vale Verde, SA", "506541452", "Estrada Nacional 222, km 14", "5100-156", "Lamego"),
    ("Restaurante O Pescador", "507213416", "Cais da Ribeira 18", "4050-510", "Porto"),
    ("Maria Fernandes", "", "Rua do Sol 7, 2.º Esq.", "8000-407", "Faro"),
    ("TecnoSul Informática, Lda", "508372810", "Avenida 5 de Outubro 201", "7000-854", "Évora"),
    ("Construções Ribeiro & Irmãos, Lda", "509885411", "Zona Industrial, Lote 12", "2400-441", "Leiria"),
]
ITEMS = [  # name, description, price, unit, tax
    ("CONS-H", "Consultoria (hora)", "65.00", "hour", "IVA23"),
    ("PAO-KG", "Pão regional (kg)", "2.40", "unit", "IVA6"),
    ("VINHO-DOC", "Vinho tinto DOC Douro 75 cl", "8.90", "unit", "IVA23"),
    ("AZEITE-5L", "Azeite virgem extra 5 l", "34.50", "unit", "IVA6"),
    ("MANUT-MENSAL", "Manutenção informática mensal", "120.00", "service", "IVA23"),
    ("REFEICAO", "Refeição completa", "12.50", "unit", "IVA13"),
    ("CIMENTO-25", "Cimento Portland 25 kg", "5.75", "unit", "IVA23"),
    ("TRANSP-KM", "Transporte (por km)", "0.85", "other", "IVA23"),
]
SITE_FROM = {"detail": "Armazém Central, Rua das Fábricas 10", "city": "Lisboa", "postal_code": "1950-130",
             "country": "Portugal"}  # fmt: skip
SITE_TO = {"detail": "Rua de Santa Catarina 200", "city": "Porto", "postal_code": "4000-450", "country": "Portugal"}


class Seeding:
    """One run of the seed: the account, its clients and items, what it made."""

    def __init__(self, db: Database, writes: Writes, account_id: int, rng: random.Random) -> None:
        self.db, self.writes, self.account_id, self.rng = db, writes, account_id, rng
        self.clients: list[dict[str, Any]] = []
        self.made: Counter[tuple[str, str]] = Counter()  # (type, status) -> documents

    async def master_data(self) -> None:
        for name, nif, address, postal_code, city in CLIENTS:
            sent = {"name": name, "code": f"CLI{len(self.clients) + 1:03d}", "email": _email(name),
                    "address": address, "postal_code": postal_code, "city": city, "country": "Portugal",
                    "fiscal_id": nif or None, "language": "pt",
                    "payment_days": self.rng.choice([0, 15, 30, 60])}  # fmt: skip
            client = await self.writes.run(client_service.create_client, self.account_id, parse_client(sent))
            self.clients.append({"name": client.name, "code": client.code})
        for name, description, price, unit, tax in ITEMS:
            data = ItemInput(name=name, description=description, unit_price=Decimal(price), unit=unit, tax_name=tax,
                             tax_given=True)  # fmt: skip
            await self.writes.run(item_service.create_item, self.account_id, data)

    def _lines(self, goods: bool = False) -> list[dict[str, Any]]:
        chosen = self.rng.sample(ITEMS, self.rng.randint(1, 3))
        return [
            {"name": name, "description": description, "unit_price": "0" if goods else price,
             "quantity": str(self.rng.randint(1, 12)), "unit": unit, "tax": {"name": tax},
             **({"discount": str(self.rng.choice([5, 10]))} if self.rng.random() < 0.2 else {})}
            for name, description, price, unit, tax in chosen
        ]  # fmt: skip

    async def draft(self, doc_type: str, **fields: Any) -> Document:
        kind = BY_KEY[doc_type]
        body = {"client": self.rng.choice(self.clients), "items": self._lines(kind.family.moves_goods),
                "reference": f"PO-{self.rng.randint(1000, 9999)}", **fields}  # fmt: skip
        data = parse_document({kind.family.root_keys[0] if kind.family.root_keys else doc_type: body}, kind)
        document = await self.writes.run(document_service.create_document, self.account_id, doc_type, data)
        return document

    async def change(self, document: Document, event: str, message: str | None = None) -> Document:
        return await self.writes.run_with_resources(
            document_service.change_state, self.account_id, document.doc_type, document.id, event, message
        )

    async def pay(self, document: Document, amount: Decimal) -> Document:
        payment = PaymentInput(amount, self.rng.choice(["TB", "MB", "NU", "CC"]), "Pagamento recebido", None, None)
        return await self.writes.run_with_resources(payment_service.pay, self.account_id, document.id, payment)

    async def guide_fields(self) -> dict[str, Any]:
        with self.db.read() as conn:
            now = clock_service.clock_of(conn, self.account_id).now.astimezone(clock.LISBON)
        start = now + timedelta(days=1, hours=self.rng.randint(0, 8))
        return {"loaded_at": start.strftime("%d/%m/%Y %H:%M:%S"), "license_plate": "AA-12-BC",
                "address_from": SITE_FROM, "address_to": SITE_TO}  # fmt: skip

    def count(self, document: Document) -> None:
        self.made[(document.doc_type, document.status)] += 1


def _email(name: str) -> str:
    word = "".join(c for c in name.split(",")[0].lower() if c.isalnum())[:20] or "cliente"
    return f"geral@{word}.example.pt"


Recipe = Callable[[Seeding], Awaitable[None]]


async def _invoice_draft(s: Seeding) -> None:
    s.count(await s.draft("invoice"))


async def _invoice_final(s: Seeding) -> None:
    s.count(await s.change(await s.draft("invoice"), "finalized"))


async def _invoice_paid(s: Seeding) -> None:
    invoice = await s.change(await s.draft("invoice"), "finalized")
    receipt = await s.pay(invoice, invoice.total)  # settles it
    s.count(receipt)
    s.made[("invoice", "settled")] += 1


async def _invoice_partly_paid(s: Seeding) -> None:
    invoice = await s.change(await s.draft("invoice"), "finalized")
    s.count(await s.pay(invoice, (invoice.total / 2).quantize(Decimal("0.01"))))
    s.count(invoice)


async def _invoice_canceled(s: Seeding) -> None:
    invoice = await s.change(await s.draft("invoice"), "finalized")
    s.count(await s.change(invoice, "canceled", "Emitida por engano"))


async def _receipt_canceled(s: Seeding) -> None:
    invoice = await s.change(await s.draft("invoice"), "finalized")
    receipt = await s.pay(invoice, invoice.total)
    canceled = await s.writes.run_with_resources(
        payment_service.cancel_receipt, s.account_id, receipt.id, "canceled", "Pagamento devolvido"
    )
    s.count(canceled)
    s.count(invoice)


async def _invoice_receipt(s: Seeding) -> None:
    s.count(await s.change(await s.draft("invoice_receipt"), "finalized"))


async def _simplified(s: Seeding) -> None:
    s.count(await s.change(await s.draft("simplified_invoice", client={"name": "Consumidor final"}), "finalized"))


async def _credit_note(s: Seeding) -> None:
    invoice = await s.change(await s.draft("invoice"), "finalized")
    s.count(invoice)
    note = await s.draft("credit_note", owner_invoice_id=invoice.id, client=_client_of(invoice),
                         items=[{"name": line.name, "description": line.description, "unit_price": str(line.unit_price),
                                 "quantity": "1", "tax": {"name": line.tax_name}}
                                for line in invoice.lines[:1]])  # fmt: skip
    s.count(await s.change(note, "finalized"))


async def _debit_note(s: Seeding) -> None:
    invoice = await s.change(await s.draft("invoice"), "finalized")
    s.count(invoice)
    note = await s.draft("debit_note", owner_invoice_id=invoice.id, client=_client_of(invoice))
    s.count(await s.change(note, "finalized"))


def _client_of(document: Document) -> dict[str, Any]:
    return {"name": document.client["name"], "code": document.client["code"]}


def _estimate(doc_type: str, *events: str) -> Recipe:
    async def make(s: Seeding) -> None:
        document = await s.draft(doc_type)
        for event in events:
            document = await s.change(document, event, "Já não é necessário" if event == "canceled" else None)
        s.count(document)

    return make


def _guide(doc_type: str, *events: str) -> Recipe:
    async def make(s: Seeding) -> None:
        document = await s.draft(doc_type, **await s.guide_fields())
        for event in events:
            document = await s.change(document, event, "Transporte anulado" if event == "canceled" else None)
        s.count(document)

    return make


def _order(*events: str) -> Recipe:
    async def make(s: Seeding) -> None:
        document = await s.draft("purchase_order", delivery_site="Armazém Central, Lisboa")
        for event in events:
            document = await s.change(document, event, "Encomenda anulada" if event == "canceled" else None)
        s.count(document)

    return make


RECIPES: list[Recipe] = [
    _invoice_final, _invoice_paid, _invoice_draft, _invoice_partly_paid, _estimate("quote", "finalized"),
    _guide("shipping", "finalized"), _order("finalized"), _invoice_canceled, _invoice_receipt, _simplified,
    _estimate("quote", "finalized", "accepted"), _estimate("proforma", "finalized", "refused"), _credit_note,
    _debit_note, _receipt_canceled, _guide("transport"), _guide("devolution", "finalized", "canceled"),
    _order(), _order("finalized", "canceled"), _estimate("fees_note"), _estimate("quote", "finalized", "canceled"),
    _guide("shipping", "finalized", "canceled"),
]  # fmt: skip


async def seed(db: Database, writes: Writes, account_id: int, documents: int, seed_value: int = 0) -> dict[str, Any]:
    """Fill the account: its clients and items once, then `documents` recipes (each a document
    in one of the states, some with the receipts or notes that put it there)."""
    if not 1 <= documents <= MAX_DOCUMENTS:
        raise ValidationFailed(f"documents must be from 1 to {MAX_DOCUMENTS}")
    seeding = Seeding(db, writes, account_id, random.Random(seed_value))
    await seeding.master_data()
    for n in range(documents):
        await RECIPES[n % len(RECIPES)](seeding)
    made: dict[str, dict[str, int]] = {}
    for (doc_type, status), count in sorted(seeding.made.items()):
        made.setdefault(doc_type, {})[status] = count
    return {"clients": len(CLIENTS), "items": len(ITEMS), "documents": made}


@router.post("/seed")
async def seed_account(request: Request) -> Response:
    ctx = sandbox_context(request)
    data = require_root(await read_body(request), "seed")
    documents = as_int(data.get("documents"), "documents")
    seed_value = as_int(data.get("seed"), "seed") or 0
    result = await seed(ctx.db, ctx.writes, account(request).id, 50 if documents is None else documents, seed_value)
    return JSONResponse({"seed": result}, status_code=201)
