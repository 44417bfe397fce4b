"""Sending a document by e-mail (api-v2 §4.7): the job `email-document.json` enqueues. The
message — to, cc, bcc, subject, HTML body — carries the document's PDF as it is when the job runs,
and leaves through the SMTP server of the settings (IXSERVER_SMTP_*); without one, in sandbox
mode, the built-in sink keeps it (/_ixserver/emails)."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from sqlalchemy.engine import Connection

from ixserver import clock
from ixserver.config import Settings
from ixserver.domain import numbering
from ixserver.domain.doctypes import BY_KEY
from ixserver.jobs.worker import Handler, JobContext
from ixserver.services import pdfs
from ixserver.services.emails import EMAIL_JOB, addresses
from ixserver.store import documents as document_store
from ixserver.store import jobs as store


def sends_somewhere(settings: Settings) -> bool:
    """Whether e-mails can leave: an SMTP server, or the sandbox's sink."""
    return bool(settings.smtp_host) or settings.sandbox


def message(context: JobContext, job: store.Job) -> EmailMessage:
    """The e-mail of a job: its addresses and texts, and the document's PDF attached."""
    payload: dict[str, Any] = job.payload
    settings = context.settings
    with context.db.read() as conn:
        document = document_store.get_document(conn, job.account_id or 0, payload["document_id"])
        if document is None:
            raise LookupError(f"document {payload['document_id']} is gone")
        pdf = pdfs.draw(conn, document, settings.software_certificate, second_copy=False)
    kind = BY_KEY[document.doc_type]
    name = kind.type_name
    if document.number is not None and document.serie is not None:
        name = numbering.document_number(kind, document.serie, document.number)
    mail = EmailMessage()
    mail["From"] = settings.smtp_from
    mail["To"] = payload["to"]
    if payload.get("cc"):
        mail["Cc"] = payload["cc"]
    mail["Subject"] = payload.get("subject") or name
    mail["Date"] = formatdate(localtime=False)
    mail["Message-ID"] = make_msgid(domain=settings.smtp_from.rpartition("@")[2] or "localhost")
    body = payload.get("body") or f"<p>{name}</p>"
    mail.set_content("This message is in HTML; the document is attached as a PDF.")
    mail.add_alternative(body, subtype="html")
    mail.add_attachment(pdf, maintype="application", subtype="pdf", filename=f"{name.replace(' ', '_').replace('/', '-')}.pdf")
    return mail


def send(context: JobContext, job: store.Job) -> None:
    mail = message(context, job)
    settings = context.settings
    recipients = [a for field in ("to", "cc", "bcc") for a in addresses(job.payload.get(field))]
    if not settings.smtp_host:
        if not settings.sandbox:
            raise RuntimeError("no SMTP server is configured (IXSERVER_SMTP_HOST)")
        context.writes.run_sync(_keep, job.account_id, job.id, _with_bcc(mail, job.payload.get("bcc")))
        return
    if settings.smtp_tls == "ssl":
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(
            settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout, context=ssl.create_default_context()
        )
    else:
        smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout)
    with smtp:
        if settings.smtp_tls == "starttls":
            smtp.starttls(context=ssl.create_default_context())
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password)
        smtp.send_message(mail, to_addrs=recipients)


def _with_bcc(mail: EmailMessage, bcc: Any) -> str:
    """The message as the sink keeps it: with its Bcc (which SMTP would not show), to be checked."""
    if bcc:
        mail["Bcc"] = bcc
    return mail.as_string()


def _keep(conn: Connection, account_id: int, job_id: int, text: str) -> int:
    return store.record_email(conn, account_id, job_id, text, clock.now())


HANDLERS: dict[str, Handler] = {EMAIL_JOB: send}
