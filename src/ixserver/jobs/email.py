"""Sending a document by e-mail (api-v2 §4.7): the job `email-document.json` enqueues. The
message — to, cc, bcc, subject, HTML body — carries the document's PDF as it is when the job runs
(the one its permalink serves, signed: services/pdfs.py),
and leaves through the SMTP server of the settings (IXSERVER_SMTP_*); without one, in sandbox
mode, the built-in sink keeps it (/_ixserver/emails).

An e-mail is delivered at most once. SMTP cannot be made exactly-once: between the server's
acceptance of the message and the job's record of it, a crash loses the knowledge of which
happened. The job is marked `sending` just before the message itself is handed over (after the
connection, the login and the envelope, whose refusals are retried safely), and a job found
`sending` with its worker gone is not sent again; nor is one whose SMTP conversation broke off
after the message was handed over (`InDoubt`): it fails, saying that it may or may not have been
delivered. A document e-mailed twice reaches the client's books twice (two identical invoices,
a payment made twice), a cost the sender cannot undo; a missing one is asked for, and is one
`email-document.json` away — the job says it is in doubt. The sink records the message and
finishes the job in one transaction: exactly once."""

from __future__ import annotations

import contextlib
import smtplib
import ssl
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from sqlalchemy.engine import Connection

from ixserver import clock
from ixserver.domain import numbering
from ixserver.domain.doctypes import BY_KEY
from ixserver.domain.documents import Document
from ixserver.jobs.worker import ClaimLost, Handler, InDoubt, JobContext
from ixserver.services import pdfs
from ixserver.services.emails import EMAIL_JOB, addresses
from ixserver.store import documents as document_store
from ixserver.store import jobs as store
from ixserver.writes.use_cases import of_account


def message(context: JobContext, job: store.Job) -> EmailMessage:
    """The e-mail of a job: its addresses and texts, and the document's PDF attached."""
    payload: dict[str, Any] = job.payload
    settings = context.settings

    def find(conn: Connection) -> Document | None:
        return document_store.get_document(conn, job.account_id or 0, payload["document_id"])

    drawn = pdfs.draw(context.db, context.renderers, find, settings.software_certificate, second_copy=False)
    if drawn is None:
        raise LookupError(f"document {payload['document_id']} is gone")
    document = drawn.document
    pdf = drawn.served(context.writes.run_sync(pdfs.keep_pdf, *drawn.keeping()) if drawn.to_keep else None)
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
    mail.add_attachment(
        pdf, maintype="application", subtype="pdf", filename=f"{name.replace(' ', '_').replace('/', '-')}.pdf"
    )
    return mail


def send(context: JobContext, job: store.Job) -> None:
    mail = message(context, job)
    settings = context.settings
    recipients = [a for field in ("to", "cc", "bcc") for a in addresses(job.payload.get(field))]
    if not settings.smtp_host:
        if not settings.sandbox:
            raise RuntimeError("no SMTP server is configured (IXSERVER_SMTP_HOST)")
        if not context.writes.run_sync(
            _keep, job.account_id, job.id, job.token, _with_bcc(mail, job.payload.get("bcc"))
        ):
            raise ClaimLost(f"job {job.id} was taken by another worker")
        return
    if settings.smtp_tls == "ssl":
        smtp: smtplib.SMTP = _SMTPSOnce(
            settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout, context=ssl.create_default_context()
        )
    else:
        smtp = _SMTPOnce(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout)
    assert isinstance(smtp, _Once)
    smtp.before_data = lambda: context.mark_sending(job)
    try:
        if settings.smtp_tls == "starttls":
            smtp.starttls(context=ssl.create_default_context())
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password)
        smtp.send_message(mail, to_addrs=recipients)
    except (smtplib.SMTPResponseException, smtplib.SMTPRecipientsRefused, smtplib.SMTPNotSupportedError, ClaimLost):
        raise  # answered by the server (the message refused, or never handed over): not delivered
    except Exception as exc:
        if smtp.handing_over:
            raise InDoubt(f"{IN_DOUBT_SMTP} ({type(exc).__name__}: {exc})") from exc
        raise
    finally:
        with contextlib.suppress(Exception):  # delivered or not, what QUIT says changes nothing
            smtp.quit()
        smtp.close()


IN_DOUBT_SMTP = (
    "The SMTP conversation broke off while the message was being handed over: "
    "it may or may not have been delivered, and is not sent again"
)


class _Once:
    """An SMTP client that calls `before_data` just before it hands the message over (DATA),
    once the envelope (MAIL, RCPT) is accepted, and knows whether it has started to."""

    before_data: Callable[[], None]
    handing_over = False

    def data(self, msg: Any) -> tuple[int, bytes]:  # SMTP.data's: bytes, a buffer or str
        self.before_data()
        self.handing_over = True
        return super().data(msg)  # type: ignore[misc]


class _SMTPOnce(_Once, smtplib.SMTP):
    pass


class _SMTPSOnce(_Once, smtplib.SMTP_SSL):
    pass


def _with_bcc(mail: EmailMessage, bcc: Any) -> str:
    """The message as the sink keeps it: with its Bcc (which SMTP would not show), to be checked."""
    if bcc:
        mail["Bcc"] = bcc
    return mail.as_string()


@of_account
def _keep(conn: Connection, account_id: int, job_id: int, token: str, text: str) -> bool:
    """The sink's delivery and the job's end in one transaction (exactly once); nothing when
    another worker has the job. Whether it was kept."""
    if not store.finish(conn, job_id, token, clock.real_now()):
        return False
    store.record_email(conn, account_id, job_id, text, clock.real_now())
    return True


HANDLERS: dict[str, Handler] = {EMAIL_JOB: send}
