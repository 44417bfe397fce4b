"""The document signature (Portaria 363/2010, Despacho 8632/2014; pt-compliance §3).

The message is `InvoiceDate;SystemEntryDate;DocumentNumber;GrossTotal;PreviousHash`, UTF-8,
no trailing newline; RSA PKCS#1 v1.5 over SHA-1, base64 without line breaks (172 characters
for a 1024-bit key). The chain is per document type and series: the previous hash is that of
the previous document of the same chain, empty for the first. Printed documents show
characters 1, 11, 21 and 31 of the signature.
"""

from __future__ import annotations

import base64
from datetime import date, datetime, timedelta
from decimal import Decimal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from ixserver.domain.errors import ClockBehind, ValidationFailed
from ixserver.domain.money import to_cents

ENTRY_FORMAT = "%Y-%m-%dT%H:%M:%S"


def message(
    doc_date: date, system_entry_date: str, document_number: str, gross_total: Decimal, previous_hash: str
) -> str:
    """`system_entry_date` is already `YYYY-MM-DDThh:mm:ss` (local time, to the second)."""
    return f"{doc_date:%Y-%m-%d};{system_entry_date};{document_number};{to_cents(gross_total):f};{previous_hash}"


def entry_date(moment: datetime) -> str:
    return moment.strftime(ENTRY_FORMAT)


# How far behind the last SystemEntryDate the clock may be and the request still be worth repeating.
CLOCK_STEP_BACK = timedelta(seconds=60)


def next_entry(now: datetime, latest: str | None) -> str:
    """The SystemEntryDate of a document signed at `now` (local time): the signing moment itself,
    never before the last one of any series of the account (Despacho 8632/2014 §3.4.3), and never
    ahead of the moment it was signed. A clock up to a minute behind the last entry (a correction,
    another server a little off) is a passing fault: `ClockBehind` (503), to be repeated once
    the clock has caught up, in as many seconds as it is behind. Further behind, issuing is
    refused until the clock is right (the rule asks for the operator's confirmation; an API can
    only refuse and say why)."""
    entry = entry_date(now)
    if latest is None or entry >= latest:
        return entry
    behind = datetime.strptime(latest, ENTRY_FORMAT) - datetime.strptime(entry, ENTRY_FORMAT)
    if behind <= CLOCK_STEP_BACK:
        raise ClockBehind(entry, latest, int(behind.total_seconds()))
    raise ValidationFailed(
        f"The server's clock ({entry}) is behind the last document issued ({latest}): no document can be"
        " issued until the clock is right"
    )


def sign(private_key: rsa.RSAPrivateKey, text: str) -> str:
    signature = private_key.sign(text.encode("utf-8"), padding.PKCS1v15(), hashes.SHA1())  # noqa: S303 - AT's rule
    return base64.b64encode(signature).decode("ascii")


def verify(public_key: rsa.RSAPublicKey, text: str, signature: str) -> bool:
    try:
        public_key.verify(base64.b64decode(signature), text.encode("utf-8"), padding.PKCS1v15(), hashes.SHA1())  # noqa: S303
    except (InvalidSignature, ValueError):
        return False
    return True


def printed_mention(signature: str | None, certificate: int) -> str:
    """What an issued document prints of the program (pt-compliance §3.2): "XXXX-Processado por
    programa certificado n.º N/AT" when signed, "Emitido por …" when not (receipts); naming AT's
    certificate only when there is one (IXSERVER_SOFTWARE_CERTIFICATE), ixserver's name else."""
    program = (
        f"programa certificado n.º {certificate}/AT" if certificate else "ixserver (programa não certificado pela AT)"
    )
    if signature:
        return f"{printed_characters(signature)}-Processado por {program}"
    return f"Emitido por {program}"


def printed_characters(signature: str) -> str:
    """The four characters printed before "-Processado por programa certificado" (`saft_hash`)."""
    return signature[0] + signature[10] + signature[20] + signature[30]
