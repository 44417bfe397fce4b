"""What runs a job of each kind."""

from __future__ import annotations

from ixserver.jobs import email, saft
from ixserver.jobs.worker import Handler

HANDLERS: dict[str, Handler] = {**email.HANDLERS, **saft.HANDLERS}
