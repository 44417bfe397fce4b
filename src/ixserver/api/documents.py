"""The document object on the wire (api-v2 §3), for every document family: rendering, and
reading a document from a request body leniently (clients.md §4)."""

from __future__ import annotations

from dataclasses import fields
from datetime import date, datetime
from typing import Any

from ixserver.api.clients import parse_client
from ixserver.domain import limits, numbering
from ixserver.domain.doctypes import BY_KEY, DocType
from ixserver.domain.documents import Document, DocumentLine, LineInput, Transport
from ixserver.domain.errors import ValidationFailed, raise_if
from ixserver.domain.reference import CURRENCIES
from ixserver.domain.signing import printed_characters
from ixserver.domain.totals import GlobalDiscount
from ixserver.services.documents import DocumentInput, TransportInput
from ixserver.web.wire import (
    as_date,
    as_decimal,
    as_flag,
    as_int,
    as_text,
    fixed,
    format_date,
    number,
    number_text,
    object_at,
    require_root,
)


# Root keys a document may come under, after its own singular type (api-v2 §1.8).
def permalink(base_url: str, document: Document) -> str:
    return f"{base_url}/documents/{document.permalink_token}"


def _exemption(raw: dict[str, Any]) -> str | None:
    """A line's own exemption code (`tax_exemption`, or `tax_exemption_reason`): an ixserver
    extension, as AT allows one per line."""
    code = as_text(raw.get("tax_exemption") or raw.get("tax_exemption_reason"), "Item tax exemption", 8)
    return code.strip().upper() if code and code.strip() else None


def render_line(line: DocumentLine) -> dict[str, Any]:
    """The documented line; `tax_exemption` only when the line has its own."""
    out = {
        "name": line.name,
        "description": line.description,
        "unit_price": fixed(line.unit_price),
        "unit": line.unit,
        "quantity": fixed(line.quantity),
        "tax": {"id": line.tax_id, "name": line.tax_name, "value": number(line.tax_value)},
        "discount": number(line.discount),
        "subtotal": number(line.subtotal),
        "tax_amount": number(line.tax_amount),
        "discount_amount": number(line.discount_amount),
        "total": number(line.total),
    }
    if line.tax_exemption:
        out["tax_exemption"] = line.tax_exemption
    return out


def render(document: Document, base_url: str) -> dict[str, Any]:
    """The document under api-v2 §3's field order; a draft has no number, ATCUD, series id or
    hash (live behaviour, §1.7). A receipt is not signed: its `saft_hash` is "", the string the
    OpenAPI documents for every document (`PaymentResponse.receipt` is a `FullDocumentObject`)
    holding the hash characters it prints, none."""
    kind = BY_KEY[document.doc_type]
    numbered = document.number is not None and document.serie is not None
    out: dict[str, Any] = {
        "id": document.id,
        "status": document.status,
        "archived": document.archived,
        "type": kind.type_name,
        "sequence_number": (
            numbering.sequence_number(document.number, document.serie)  # type: ignore[arg-type]
            if numbered
            else numbering.DRAFT_NUMBER
        ),
    }
    if numbered:
        out["inverted_sequence_number"] = numbering.inverted_sequence_number(document.number, document.serie)  # type: ignore[arg-type]
        out["atcud"] = document.atcud
        out["sequence_id"] = document.sub_sequence_id
    out["tax_exemption"] = document.tax_exemption
    out["date"] = format_date(document.date)
    out["due_date"] = format_date(document.due_date)
    out["reference"] = document.reference
    out["observations"] = document.observations
    out["retention"] = number_text(document.retention) if document.retention is not None else None
    out["permalink"] = permalink(base_url, document)
    if numbered:  # an unsigned receipt prints no hash characters: "" (a string, as documented)
        out["saft_hash"] = printed_characters(document.signature) if document.signature else ""
    out["sum"] = number(document.sum)
    out["discount"] = number(document.discount)
    out["before_taxes"] = number(document.before_taxes)
    out["taxes"] = number(document.taxes)
    out["total"] = number(document.total)
    out["currency"] = CURRENCIES[document.currency_code][0]
    client = document.client
    out["client"] = {k: client.get(k) for k in ("id", "name", "code", "email", "country")}
    out["items"] = [render_line(line) for line in document.lines]
    if document.global_discount is not None:
        out["global_discount"] = {
            "value_type": document.global_discount.kind,
            "value": number(document.global_discount.value),
        }
    if document.exchange_rate is not None:
        out["multicurrency"] = {
            "rate": number(document.exchange_rate),
            "currency": document.currency_code,
            "total": number(document.total),
        }
    if document.owner_document_id is not None:
        out["owner_invoice_id"] = document.owner_document_id
    if document.payment_mechanism is not None:  # receipts
        out["payment_mechanism"] = document.payment_mechanism
    if kind.family.moves_goods:
        out.update(render_transport(document))
    elif kind.family.delivers:
        transport = document.transport
        out["loaded_at"] = _loaded_at(transport)
        out["delivery_site"] = transport.delivery_site if transport else None
    return out


def _loaded_at(transport: Transport | None) -> str | None:
    """ "dd/mm/yyyy HH:MM:SS" (a purchase order's: "dd/mm/yyyy")."""
    if transport is None or not transport.loaded_at:
        return None
    day, _, time = transport.loaded_at.partition("T")
    return f"{format_date(date.fromisoformat(day))} {time}".strip()


def render_transport(document: Document) -> dict[str, Any]:
    """A guide's transport (api-v2 §6.2), and the code AT gave it (null until then)."""
    transport = document.transport
    return {
        "loaded_at": _loaded_at(transport),
        "license_plate": transport.license_plate if transport else None,
        "address_from": transport.address_from if transport else None,
        "address_to": transport.address_to if transport else None,
        "load_site": transport.load_site if transport else None,
        "delivery_site": transport.delivery_site if transport else None,
        "at_doc_code_id": document.at_doc_code,
    }


def document_object(body: dict[str, Any], kind: DocType) -> dict[str, Any]:
    """The document inside a request: under its singular type, else its family's keys; `null`
    keys are skipped (the Go client sends every type key, unused ones null)."""
    return require_root(body, kind.key, *kind.family.root_keys)


def _lines(value: Any) -> list[LineInput] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        raise ValidationFailed("Items element should be of type array")
    raise_if(limits.line_count_problems(len(value)))  # before any line is read
    lines = []
    for raw in value:
        if not isinstance(raw, dict):
            raise ValidationFailed("Items element should be of type array")
        tax = object_at(raw, "tax")
        unit = as_text(raw.get("unit"), "Unit")
        lines.append(
            LineInput(
                name=as_text(raw.get("name"), "Item name"),
                description=as_text(raw.get("description"), "Item description", limits.LONG_TEXT),
                unit_price=as_decimal(raw.get("unit_price"), "Unit price", "Unit price must be a number"),
                quantity=as_decimal(raw.get("quantity"), "Quantity", "Quantity must be a number greater than 0"),
                unit=unit.strip().lower() if unit and unit.strip() else None,
                discount=as_decimal(raw.get("discount"), "Discount", "Discount is not a number"),
                tax_name=as_text(tax.get("name"), "Tax name", limits.SHORT_TEXT),
                tax_value=as_decimal(tax.get("value"), "Tax value"),
                tax_exemption=_exemption(raw),
            )
        )
    return lines


def _global_discount(value: Any) -> GlobalDiscount | None:
    if not isinstance(value, dict):
        return None
    kind = (as_text(value.get("value_type"), "Global discount value_type") or "percentage").strip().lower()
    amount = as_decimal(value.get("value"), "Global discount value")
    if amount is None:
        return None
    return GlobalDiscount("absolute" if kind == "amount" else kind, amount)


# The fields a request may name that `given` records (the rules ask only about these): the
# request's other keys, which may be tens of thousands, would otherwise cross to the writer.
INPUT_FIELDS = tuple(f.name for f in fields(DocumentInput) if f.name != "given")


def parse_document(body: dict[str, Any], kind: DocType) -> DocumentInput:
    data = document_object(body, kind)
    given = {key for key in INPUT_FIELDS if data.get(key) is not None}
    exemption = as_text(data.get("tax_exemption") or data.get("tax_exemption_reason"), "Tax exemption")
    if data.get("tax_exemption_reason") is not None:
        given.add("tax_exemption")
    client = data.get("client")
    currency = as_text(data.get("currency_code"), "Currency code")
    return DocumentInput(
        date=as_date(data.get("date"), "Date"),
        due_date=as_date(data.get("due_date"), "Due date"),
        reference=as_text(data.get("reference"), "Reference", limits.LONG_TEXT),
        observations=as_text(data.get("observations"), "Observations", limits.LONG_TEXT),
        retention=as_decimal(data.get("retention"), "Retention", "Retention must be a number between 0 and 99.99"),
        tax_exemption=exemption.strip().upper() if exemption and exemption.strip() else None,
        sequence_id=as_int(data.get("sequence_id"), "Sequence id"),
        manual_sequence_number=as_text(data.get("manual_sequence_number"), "Manual sequence number"),
        client=parse_client(client) if isinstance(client, dict) else None,
        lines=_lines(data.get("items")),
        mb_reference=as_flag(data.get("mb_reference"), "MB reference"),
        owner_invoice_id=as_int(data.get("owner_invoice_id"), "Owner invoice id"),
        owner_reference=as_text(body.get("raw_owner_invoice"), "Raw owner invoice", limits.SHORT_TEXT),
        currency_code=currency.strip().upper() if currency else None,
        rate=as_decimal(data.get("rate"), "Rate"),
        plugin_id=as_text(data.get("plugin_id"), "Plugin id"),
        global_discount=_global_discount(data.get("global_discount")),
        proprietary_uid=as_text(body.get("proprietary_uid") or data.get("proprietary_uid"), "proprietary_uid"),
        transport=_transport(data, kind) if kind.family.transported else None,
        given=frozenset(
            given
            | ({"owner_reference"} if body.get("raw_owner_invoice") else set())
            | (
                {"transport"}
                if kind.family.transported and any(data.get(key) is not None for key in TRANSPORT_FIELDS)
                else set()
            )
        ),
    )


TRANSPORT_FIELDS = ("loaded_at", "license_plate", "address_from", "address_to", "load_site", "delivery_site")
ADDRESS_FIELDS = ("detail", "city", "postal_code", "country")


def _transport(data: dict[str, Any], kind: DocType) -> TransportInput:
    """A guide's transport (api-v2 §6.2): `loaded_at` "dd/mm/yyyy HH:MM:SS" (seconds optional),
    the plate, both addresses, the load and delivery sites; what is missing is for the rules to
    name. A purchase order's (§7): `loaded_at` a date, and the delivery site."""
    if not kind.family.moves_goods:
        return TransportInput(
            loaded_at=as_date(data.get("loaded_at"), "Loaded at"),
            license_plate=None,
            address_from=None,
            address_to=None,
            delivery_site=_site(data.get("delivery_site"), "Delivery site"),
        )
    loaded = as_text(data.get("loaded_at"), "Loaded at")
    loaded_at = None
    if loaded and loaded.strip():
        for pattern in ("%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M"):
            try:
                loaded_at = datetime.strptime(loaded.strip(), pattern)
                break
            except ValueError:
                continue
        if loaded_at is None:
            raise ValidationFailed("Loaded at must be a date and time as dd/mm/yyyy HH:MM:SS")
        raise_if(limits.date_problems(loaded_at.date(), "Loaded at"))  # before it is written out
    plate = as_text(data.get("license_plate"), "License plate", limits.SHORT_TEXT)
    return TransportInput(
        loaded_at=loaded_at,
        license_plate=plate.strip() or None if plate else None,
        address_from=_address(data.get("address_from"), "Address from"),
        address_to=_address(data.get("address_to"), "Address to"),
        load_site=_site(data.get("load_site"), "Load site"),
        delivery_site=_site(data.get("delivery_site"), "Delivery site"),
    )


def _site(value: Any, field: str) -> str | None:
    text = as_text(value, field, limits.SHORT_TEXT * 4)
    return text.strip() or None if text else None


def _address(value: Any, field: str) -> dict[str, str] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ValidationFailed(f"{field} is not valid")
    found = {key: as_text(value.get(key), f"{field} {key}") for key in ADDRESS_FIELDS}
    return {key: text.strip() for key, text in found.items() if text and text.strip()}
