"""`PUT /{type}/{id}/email-document.json` (api-v2 §4.7): a document sent by e-mail. The request
is checked and a job enqueued in the same transaction (jobs/email.py sends it, with the PDF):
refused, it leaves nothing to send; accepted, the e-mail is never lost."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

from sqlalchemy.engine import Connection

from ixserver import clock
from ixserver.domain import states
from ixserver.domain.clients import header_problem, is_valid_email
from ixserver.domain.errors import DocumentNotFound, EmailNotFound, ValidationFailed, raise_if
from ixserver.store import clients as client_store
from ixserver.store import documents as store
from ixserver.store import jobs as job_store
from ixserver.writes.use_cases import of_account

EMAIL_JOB = "email"


@dataclass(frozen=True)
class EmailInput:
    """`message` of the request; None = not given."""

    to: str | None
    save: bool
    subject: str | None
    body: str | None
    cc: str | None
    bcc: str | None


def addresses(value: str | None) -> list[str]:
    """The addresses of a field that may hold several, separated by commas or semicolons."""
    return [part.strip() for part in (value or "").replace(";", ",").split(",") if part.strip()]


def email_problems(message: EmailInput) -> list[str]:
    problems = []
    if not addresses(message.to):
        problems.append("Email is a required field")
    for field, value in (("Email", message.to), ("Cc", message.cc), ("Bcc", message.bcc)):
        if any(not is_valid_email(address) for address in addresses(value)):
            problems.append(f"{field}: is an invalid email")
    # what becomes a header of the message (jobs/email.py): refused now, not on every attempt
    for field, header, value in (("Subject", "Subject", message.subject), ("Email", "To", _joined(message.to)),
                                 ("Cc", "Cc", _joined(message.cc)), ("Bcc", "Bcc", _joined(message.bcc))):  # fmt: skip
        problem = header_problem(field, header, value)
        if problem is not None and f"{field}: is an invalid email" not in problems:
            problems.append(problem)
    return problems


def _joined(value: str | None) -> str:
    """The addresses of a field as the job's payload keeps them, and the header carries them."""
    return ", ".join(addresses(value))


@of_account
def email_document(conn: Connection, account_id: int, doc_type: str, document_id: int, message: EmailInput) -> int:
    """Enqueue the e-mail of an issued document, to the address given (else the client's); with
    `save`, the address given becomes the client's. The job's id."""
    document = store.get_document(conn, account_id, document_id)
    if document is None or document.doc_type != doc_type or document.status == states.DELETED:
        raise DocumentNotFound()
    if not addresses(message.to):  # to the client's address when the request gives none
        client = client_store.get_client(conn, account_id, document.client_id) if document.client_id else None
        message = replace(message, to=(client.email if client else None) or document.client.get("email"), save=False)
    raise_if(email_problems(message))
    if document.status == states.DRAFT:
        raise ValidationFailed("A draft can't be sent: finalize it first")
    to = _joined(message.to)
    if message.save and document.client_id is not None and len(addresses(message.to)) == 1:
        client_store.update_client(conn, document.client_id, email=to)
    payload = {"document_id": document.id, "to": to, "cc": _joined(message.cc), "bcc": _joined(message.bcc),
               "subject": message.subject, "body": message.body}  # fmt: skip
    return job_store.enqueue(conn, account_id, EMAIL_JOB, payload, clock.real_now())  # the jobs' time


def sent(conn: Connection, account_id: int) -> list[tuple[int, str, datetime]]:
    """Sandbox: the account's e-mails the built-in sink kept, newest first (id, message, when)."""
    return job_store.account_emails(conn, account_id)


def sent_email(conn: Connection, account_id: int, email_id: int) -> tuple[int, EmailMessage, datetime]:
    """Sandbox: one of the account's e-mails the sink kept, as sent (id, message, when)."""
    found = job_store.account_email(conn, account_id, email_id)
    if found is None:
        raise EmailNotFound()
    return found[0], parsed(found[1]), found[2]


def parsed(text: str) -> EmailMessage:
    """A kept message, read back (its parts, its attachments' bytes)."""
    message = BytesParser(policy=policy.default).parsebytes(text.encode())
    assert isinstance(message, EmailMessage)
    return message


def jobs_of(conn: Connection, account_id: int) -> list[job_store.Job]:
    """The account's latest jobs, newest first."""
    return job_store.account_jobs(conn, account_id)
