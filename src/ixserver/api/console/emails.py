"""The console's e-mails: what the sandbox's sink kept of the e-mails the account's documents
were sent by (without an SMTP server, IXSERVER_SMTP_HOST), as a mail catcher shows them: the
list, a message with its headers, its HTML body (in a sandboxed frame that runs nothing and loads
nothing), its source as sent, and its attachments to download."""

from __future__ import annotations

from email.message import EmailMessage

from starlette.requests import Request
from starlette.responses import Response

from ixserver.api.console.pages import page, render
from ixserver.api.console.session import Session
from ixserver.domain.errors import NotFound
from ixserver.services import emails as service
from ixserver.web.context import context

# The HTML of a message is the sender's: shown in a frame that may run, load and submit nothing.
BODY_HEADERS = {"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; sandbox"}


def summary(email_id: int, message: EmailMessage) -> dict[str, object]:
    return {"id": email_id, "subject": message["Subject"], "to": message["To"],
            "attachments": [part.get_filename() for part in message.iter_attachments()]}  # fmt: skip


@page("/emails")
async def emails(request: Request, session: Session) -> Response:
    with context(request).db.read() as conn:
        kept = service.sent(conn, session.account.id)
    found = [(summary(n, service.parsed(text)), when) for n, text, when in kept]
    return render(request, session, "emails.html", emails=found, sink=not context(request).settings.smtp_host)


@page("/emails/{email_id:id}")
async def email(request: Request, session: Session) -> Response:
    with context(request).db.read() as conn:
        email_id, message, when = service.sent_email(conn, session.account.id, request.path_params["email_id"])
    attachments = [(part.get_filename(), part.get_content_type(), len(part.get_payload(decode=True) or b""))
                   for part in message.iter_attachments()]  # fmt: skip
    headers = [(name, message[name]) for name in ("From", "To", "Cc", "Bcc", "Subject", "Date") if message[name]]
    return render(request, session, "email.html", email_id=email_id, when=when, headers=headers,
                  attachments=attachments, source=message.as_string(), has_html=_html(message) is not None)  # fmt: skip


def _html(message: EmailMessage) -> str | None:
    body = message.get_body(preferencelist=("html",))
    return body.get_content() if body is not None else None


@page("/emails/{email_id:id}/body.html")
async def body(request: Request, session: Session) -> Response:
    with context(request).db.read() as conn:
        _id, message, _when = service.sent_email(conn, session.account.id, request.path_params["email_id"])
    html = _html(message)
    if html is None:
        raise NotFound()
    return Response(html, media_type="text/html; charset=utf-8", headers=BODY_HEADERS)


@page("/emails/{email_id:id}/message.eml")
async def source(request: Request, session: Session) -> Response:
    with context(request).db.read() as conn:
        email_id, message, _when = service.sent_email(conn, session.account.id, request.path_params["email_id"])
    return Response(message.as_bytes(), media_type="message/rfc822",
                    headers={"Content-Disposition": f'attachment; filename="email-{email_id}.eml"'})  # fmt: skip


@page("/emails/{email_id:id}/attachments/{number:int}")
async def attachment(request: Request, session: Session) -> Response:
    with context(request).db.read() as conn:
        _id, message, _when = service.sent_email(conn, session.account.id, request.path_params["email_id"])
    parts = list(message.iter_attachments())
    number = request.path_params["number"]
    if not 0 <= number < len(parts):
        raise NotFound()
    part = parts[number]
    name = (part.get_filename() or f"attachment-{number}").replace('"', "")
    return Response(part.get_payload(decode=True) or b"", media_type="application/octet-stream",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})  # fmt: skip
