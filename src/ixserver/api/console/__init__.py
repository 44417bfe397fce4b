"""The web console at /_ixserver/console/ (docs/console.md): an account's documents, clients and
items, e-mails, jobs and SAF-T files, and in sandbox mode its clock, faults and recorded
requests, server-rendered (Jinja2, templates/; its style sheet and script are api/assets/),
signed in with the account's API key (session.py). It reads through
the services the API uses. On in sandbox mode; in production only with IXSERVER_CONSOLE=1, and
read-only there but for a job's retry. Each module registers its pages on `pages.router`."""

from __future__ import annotations

from ixserver.api.console import catalog, documents, emails, exports, jobs, sandbox, signin
from ixserver.api.console.pages import router

__all__ = ["router", "catalog", "documents", "emails", "exports", "jobs", "sandbox", "signin"]
