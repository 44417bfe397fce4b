"""An offline stand-in for AT's series web service.

What it decides, and how (so that tests and users can reach each answer on purpose; that the
account is Portuguese with a valid NIF is checked before any adapter, services/sequences.py):
- AT credentials, when the account has them, must be a sub-user of its NIF ("NIF/N") with
  a non-empty password, else "Invalid Tax Authority credentials";
- the series identifier must satisfy AT's limits (at most 35 characters, no space, "/" or "^").
The validation code is derived from (NIF, series, class, type, first number), so registering
the same series again gives the same code, and different series get different codes.
"""

from __future__ import annotations

import base64
import hashlib
import re
import time

from stdnum.pt import nif

from ixserver.at import SeriesRegistration, Taxpayer
from ixserver.domain.errors import InvalidATCredentials, SequenceNameNotAllowed

AT_SERIE = re.compile(r"[^ /^]{1,35}")


class SimulatedAT:
    training = True

    def __init__(self, *, delay: float = 0.0) -> None:
        self.delay = delay
        self.instant = delay == 0

    def register_series(self, taxpayer: Taxpayer, requests: list[SeriesRegistration]) -> list[str]:
        if self.delay:
            time.sleep(self.delay)
        fiscal_id = nif.compact(taxpayer.fiscal_id) if taxpayer.fiscal_id else ""
        if taxpayer.credentials is not None:
            self.check_credentials(taxpayer)
        for request in requests:
            if not AT_SERIE.fullmatch(request.serie):
                raise SequenceNameNotAllowed()
        return [self._code(fiscal_id, r) for r in requests]

    def check_credentials(self, taxpayer: Taxpayer) -> None:
        """A sub-user "NIF/N" of the account's own NIF (any valid NIF when the account has
        none yet), with a password."""
        if self.delay:
            time.sleep(self.delay)
        credentials = taxpayer.credentials
        if credentials is None:
            raise InvalidATCredentials()
        owner, _, number = credentials.subuser.partition("/")
        fiscal_id = nif.compact(taxpayer.fiscal_id) if taxpayer.fiscal_id else ""
        if not nif.is_valid(owner) or (fiscal_id and owner != fiscal_id):
            raise InvalidATCredentials()
        if not number.isdigit() or not credentials.password:
            raise InvalidATCredentials()

    def communicate_transport(self, taxpayer: Taxpayer, document_number: str, loaded_at: str) -> str:
        """A code derived from the NIF, the guide's number and its start: the same guide, the
        same code."""
        seed = f"{taxpayer.fiscal_id or ''}|{document_number}|{loaded_at}"
        return base64.b32encode(hashlib.sha256(seed.encode()).digest()).decode()[:12]

    @staticmethod
    def _code(fiscal_id: str, request: SeriesRegistration) -> str:
        seed = f"{fiscal_id}|{request.serie}|{request.doc_class}|{request.doc_code}|{request.first_number}"
        return base64.b32encode(hashlib.sha256(seed.encode()).digest()).decode()[:8]
