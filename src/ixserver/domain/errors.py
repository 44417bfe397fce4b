"""Errors the rules raise, named as the API names them. `web/errors.py` is the one place that
turns them into an HTTP status and body; nothing below the API layer knows about HTTP."""

from __future__ import annotations


class DomainError(Exception):
    message = "Unknown error."
    code: str | None = None  # the spec's numbered error codes (sequences)

    def __init__(self, message: str | None = None, *, code: str | None = None) -> None:
        if message is not None:
            self.message = message
        if code is not None:
            self.code = code
        super().__init__(self.message)

    @property
    def messages(self) -> list[str]:
        return [self.message]


class MalformedRequest(DomainError):
    """The request cannot be read at all (e.g. its body is not JSON)."""


class RequestTimedOut(DomainError):
    """A request's head or body did not arrive in time (IXSERVER_HEADER_TIMEOUT_SECONDS,
    IXSERVER_BODY_TIMEOUT_SECONDS): the connection is closed after it."""

    def __init__(self, what: str, seconds: float) -> None:
        super().__init__(f"Request timeout: the request's {what} did not arrive within {seconds:g} s")


class RequestTooLarge(DomainError):
    """The request's body is larger than the server accepts (IXSERVER_MAX_BODY_BYTES)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"Request body too large: at most {limit} bytes")


class NotFound(DomainError):
    message = "Not found"


class ValidationFailed(DomainError):
    """The request is readable but not acceptable; may carry several messages."""

    message = "Validation failed"

    def __init__(self, *messages: str, code: str | None = None) -> None:
        self._messages = list(messages) or [self.message]
        super().__init__(self._messages[0], code=code)

    @property
    def messages(self) -> list[str]:
        return self._messages


class Forbidden(DomainError):
    message = "Forbidden"


class Throttled(DomainError):
    """Too many of something within a period; `retry_after` seconds until one more is allowed."""

    message = "Too many requests"
    retry_after = 60


class Conflict(DomainError):
    message = "Conflict"


class Unavailable(DomainError):
    """The server cannot carry the request out now; it may be repeated in `retry_after` seconds."""

    message = "Service unavailable"
    retry_after = 1


class DatabaseUnavailable(Unavailable):
    """The database could not carry the request out (a fault, not a refusal), and nothing of it
    was changed: its connection was lost, its disk is full, it is read-only … `reason` says which
    (store/db.py's FAULTS); the request may be repeated as it is."""

    def __init__(self, reason: str, retry_after: int = 1) -> None:
        super().__init__(
            f"The database is unavailable ({reason}); nothing was changed. Repeat the request in {retry_after} s."
        )
        self.reason = reason
        self.retry_after = retry_after


class CommitUnknown(Unavailable):
    """The database failed while committing a write (its connection lost in the middle of the
    COMMIT): the write may or may not have been carried out."""

    def __init__(self, reason: str, retry_after: int = 1) -> None:
        super().__init__(
            f"The database failed while committing this request ({reason}): it may or may not have been carried out."
            " Repeat it (a document creation with the same proprietary_uid is safe to repeat)."
        )
        self.reason = reason
        self.retry_after = retry_after


class RenderUnavailable(Unavailable):
    """A PDF could not be drawn within its bounds (IXSERVER_RENDER_TIMEOUT_SECONDS,
    IXSERVER_RENDER_MEMORY_MB), or every renderer stayed busy that long: nothing was drawn, and
    the request may be repeated."""

    def __init__(self, reason: str, retry_after: int = 5) -> None:
        super().__init__(f"The PDF could not be drawn ({reason}). Repeat the request in {retry_after} s.")
        self.reason = reason
        self.retry_after = retry_after


class ParseUnavailable(Unavailable):
    """A request's body could not be read within its deadline (web/parsing.py): nothing was
    done, and the request may be repeated."""

    def __init__(self, reason: str, retry_after: int = 5) -> None:
        super().__init__(
            f"The request could not be read ({reason}); nothing was changed. Repeat it in {retry_after} s."
        )
        self.reason = reason
        self.retry_after = retry_after


class ClockBehind(Unavailable):
    """The server's clock reads a moment before the account's last SystemEntryDate (a clock
    stepped back a little, another instance a little off): a document signed now would be
    stamped ahead of its signing, so it waits until the clock has caught up."""

    def __init__(self, entry: str, latest: str, seconds: int) -> None:
        super().__init__(
            f"The server's clock ({entry}) is {seconds} s behind the last document issued ({latest}):"
            f" retry in {seconds} s"
        )
        self.retry_after = seconds


def raise_if(messages: list[str]) -> None:
    """Validation collects every problem first, then answers them all at once."""
    if messages:
        raise ValidationFailed(*messages)


class MissingElement(ValidationFailed):
    """The request has no object under the key it must have (api-v2 §4.5: "Elemento client não
    fornecido")."""

    def __init__(self, key: str) -> None:
        super().__init__(f"Elemento {key} não fornecido")


# -- accounts ------------------------------------------------------------------------------


class AccountNotFound(NotFound):
    message = "The account doesn't exist."


class InvalidLogo(ValidationFailed):
    message = "The logo must be a PNG or JPEG image"


class AccountNameInvalid(ValidationFailed):
    message = "Account name must be 1-63 lowercase letters, digits or hyphens, starting with a letter or digit"


class AccountNameTaken(ValidationFailed):
    message = "Account name has already been taken"


class AccountCreationNotAllowed(Forbidden):
    message = "This API key may not create accounts (IXSERVER_ACCOUNT_CREATORS)"


class ParsingBudgetSpent(Throttled):
    """An account's large request bodies have taken their share of a server process's CPU, and
    the next would wait too long for it to come back (web/parsing.py)."""

    def __init__(self, seconds: int) -> None:
        super().__init__(
            f"This account's large request bodies have taken their share of the server; retry in {seconds} s"
        )
        self.retry_after = seconds


class AccountCreationLimit(Throttled):
    def __init__(self, per_day: int) -> None:
        super().__init__(f"Too many accounts created: at most {per_day} a day")


class AccountChangedMeanwhile(Conflict):
    """The account's fiscal id changed while AT was checking credentials for the old one."""

    message = "The account's fiscal ID changed while its AT credentials were being checked; send them again"


# -- sequences (codes and messages from api-v2 §8.5 and §8.6) -----------------------------


class SequenceNotFound(NotFound):
    message = "The sequence doesn't exist."
    code = "006"


class SequenceNameNotAllowed(ValidationFailed):
    message = "Sequence name not allowed."
    code = "001"


class SequenceAlreadyExists(ValidationFailed):
    message = "Sequence already exists."
    code = "002"


class InvalidSequence(ValidationFailed):
    message = "Invalid sequence."
    code = "003"


class SequenceBeingRegistered(Conflict):
    message = "The sequence is already being registered."
    code = "008"


class InvalidATCredentials(ValidationFailed):
    message = "Invalid Tax Authority credentials."
    code = "002"


class NoOpenActivity(ValidationFailed):
    message = "Account fiscal ID doesn't have open activity in Tax Authority."
    code = "003"


class AccountNotPortuguese(ValidationFailed):
    message = "Account is not portuguese."
    code = "004"


class SeriesAlreadyRegistered(Conflict):
    """Every ATCUD-relevant type of the series has its validation code."""

    message = "All sequences are registered."
    code = "005"


class SeriesRegisteredElsewhere(ValidationFailed):
    """Production: the taxpayer already holds this series for that type in another account (a
    series is unique per taxpayer and document type, pt-compliance §1.3)."""

    message = "All Sequences are registered in AT."
    code = "007"


class SeriesRegisteredByOperator(ValidationFailed):
    """The manual adapter (production): the validation codes come from AT's portal."""

    code = "000"

    def __init__(self, serie: str) -> None:
        super().__init__(
            f"This server does not talk to AT: register the series {serie} on AT's portal (Portal das Finanças,"
            f" Comunicação de Séries) and enter the validation codes it gives with"
            f" `ixserver series register ACCOUNT {serie} --code FT=… --code NC=…`",
            code=self.code,
        )


# -- master data ---------------------------------------------------------------------------


class TaxNotFound(NotFound):
    message = "Tax not found"


class ClientNotFound(NotFound):
    message = "Client not found"


class ItemNotFound(NotFound):
    message = "Item not found"


# -- documents -----------------------------------------------------------------------------


class JobNotFound(NotFound):
    def __init__(self, job_id: int) -> None:
        super().__init__(f"There is no job {job_id}")


class JobNotFailed(Conflict):
    """Only a job that has failed for good is run again by hand; the others are run, or are
    retried, by the workers."""

    def __init__(self, job_id: int, status: str) -> None:
        super().__init__(f"Job {job_id} is {status}: only a failed job is retried")


class DocumentNotFound(NotFound):
    message = "Document not found"


class InvalidPaymentMechanism(ValidationFailed):
    """An unknown payment mechanism: the one refusal of a payment answered with the bare array
    of api-v2 §4.11 (shape E), `["payment_mechanism", "is invalid"]`."""

    message = "payment_mechanism is invalid"


class QrCodeDocumentNotFound(NotFound):
    """The QR endpoint's own 404 (api-v2 §4.9, shape H)."""

    def __init__(self, document_id: int) -> None:
        super().__init__(f"No document with ID {document_id} was found in this account")


class QrCodeNotAvailable(ValidationFailed):
    """The QR endpoint's own 422 (api-v2 §4.9, shape H)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)


class SaftPeriodInvalid(ValidationFailed):
    message = "The period is not valid: month 1 to 12, year 2000 to 2099"


class SaftNothingToExport(ValidationFailed):
    """api-v2 §14 (shape K)."""

    message = "There aren't any documents to export on the selected period."


class ClientTaken(ValidationFailed):
    """Another client of the account has this name or code."""


class InvalidTransition(ValidationFailed):
    """A change-state event the document's type and status do not allow (api-v2 §4.6)."""


class InvalidState(ValidationFailed):
    message = "Invalid state"


class DocumentCreationInProgress(Conflict):
    """Another request with the same `proprietary_uid` is being processed (api-v2 §4.3)."""

    def __init__(self, uid: str) -> None:
        super().__init__(f"There's an ongoing document creation with the provided UID {uid}")


class ProprietaryUidTaken(Conflict):
    """The `proprietary_uid` already names a document of another type: a repeat is only a repeat
    when it asks for the same kind of document."""

    def __init__(self, uid: str, doc_type: str) -> None:
        super().__init__(f"The UID {uid} was already used to create a document of type {doc_type}")


# -- treasury (api-v2 §12, the client's current account) -----------------------------------


class RegularizationNotFound(NotFound):
    message = "Regularization not found"


class TreasuryMovementNotFound(NotFound):
    message = "Treasury movement not found"


class TreasuryMovementInvalid(ValidationFailed):
    """A treasury movement refused: one message, as InvoiceXpress words it (api-v2 §12:
    "Validation failed: Value is not a number"), the problems joined by commas."""

    def __init__(self, *problems: str) -> None:
        super().__init__("Validation failed: " + ", ".join(problems or ("Treasury movement is not valid",)))


class SealRefused(ValidationFailed):
    """`ixserver seal` will not seal what it finds: sealing it would make a forgery pass."""


class SaftExportNotSealed(Conflict):
    """A kept SAF-T file is not the one the seal recorded: it is not served (`ixserver verify`)."""

    message = (
        "The SAF-T file kept for this period is not the one ixserver sealed: it is not served (see ixserver verify)"
    )


class EmailNotFound(NotFound):
    message = "E-mail not found"
