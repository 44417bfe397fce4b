"""Table definitions (SQLAlchemy Core). Migrations in `store/migrations` create exactly these;
a test checks that autogenerate finds no difference."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from ixserver.store.types import Id, Money, UtcDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# The mode the database was made in, sandbox or production: one row (store/modes.py). A server
# or command of the other mode refuses the database.
database_mode = Table(
    "database_mode",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("mode", String(16), nullable=False),
    Column("recorded_at", UtcDateTime(), nullable=False),
    Column("how", Text, nullable=False),  # made with it; or, made before 0021, how it was decided
    CheckConstraint("id = 1", name="ck_database_mode_one_row"),
    CheckConstraint("mode IN ('sandbox', 'production')", name="ck_database_mode_mode"),
)

# The people who own accounts (api-v2 §13: "adds an account to an existing user").
users = Table(
    "users",
    metadata,
    Column("id", Id, primary_key=True),
    Column("email", String(255), nullable=False, unique=True),
    Column("password_hash", String(255), nullable=False),
    Column("first_name", String(255)),
    Column("last_name", String(255)),
    Column("created_at", UtcDateTime(), nullable=False),
    sqlite_autoincrement=True,
)

accounts = Table(
    "accounts",
    metadata,
    Column("id", Id, primary_key=True),
    Column("name", String(63), nullable=False, unique=True),
    Column("user_id", Id, ForeignKey("users.id"), index=True),
    Column("organization_name", String(255)),
    Column("email", String(255)),
    Column("fiscal_id", String(32)),
    Column("tax_country", String(8), nullable=False, server_default="PT"),
    Column("tax_region", String(8), nullable=False, server_default="PT"),
    Column("language", String(2), nullable=False, server_default="pt"),
    Column("state", String(16), nullable=False, server_default="active"),
    Column("phone", String(64)),
    Column("address", String(255)),
    Column("city", String(255)),
    Column("postal_code", String(16)),
    Column("website", String(255)),
    Column("fax", String(64)),
    # The issuer's identity beyond the API's fields (PUT /_ixserver/account.json): bank details,
    # share capital and commercial registry (CSC art. 171), and its current logo (account_logos).
    Column("iban", String(34)),
    Column("swift", String(11)),
    Column("share_capital", Money()),
    Column("registry_office", String(255)),
    Column("registry_number", String(32)),
    Column("logo", String(64)),  # the SHA-256 of its current logo; None: no logo
    Column("marketing", Boolean, nullable=False, server_default=text("false")),
    # AT web-service credentials (Sequences / transport communication), encrypted at rest.
    Column("at_subuser", String(32)),
    Column("at_password_encrypted", Text),
    Column("at_communication_type", String(16)),
    Column("created_at", UtcDateTime(), nullable=False),
    # The account whose key created this one through the accounts API (the daily limit counts them).
    Column("created_by", Id),
    Index("ix_accounts_created_by", "created_by", "created_at"),
    sqlite_autoincrement=True,
)

# Every logo an account has had, by the SHA-256 of its bytes (PNG or JPEG, as re-encoded): a
# document freezes the digest of its issuer's logo, and prints that logo whatever came after.
account_logos = Table(
    "account_logos",
    metadata,
    Column("account_id", Id, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("digest", String(64), nullable=False),
    Column("media_type", String(16), nullable=False),  # image/png, image/jpeg
    Column("content", LargeBinary, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("account_id", "digest"),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Id, primary_key=True),
    Column("account_id", Id, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False, index=True),
    # The first characters of the key, to find the row; the rest is only ever compared hashed.
    Column("lookup", String(16), nullable=False, unique=True),
    Column("key_hash", String(64), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    sqlite_autoincrement=True,
)

# A series ("série"). Its id is the id of its invoice sub-sequence, as in the seed.
sequences = Table(
    "sequences",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=False),
    Column("account_id", Id, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("serie", String(35), nullable=False),
    Column("is_default", Boolean, nullable=False, server_default=text("false")),
    # Set while a registration with AT is under way (a lease: stale after a while).
    Column("registering_since", UtcDateTime()),
    Column("created_at", UtcDateTime(), nullable=False),
    UniqueConstraint("account_id", "serie"),
    # At most one default per account; the services keep it at exactly one.
    Index(
        "uq_sequences_default_per_account",
        "account_id",
        unique=True,
        sqlite_where=text("is_default"),
        postgresql_where=text("is_default"),
    ),
)

# One counter per (series, document type): the gapless counter lives here.
sub_sequences = Table(
    "sub_sequences",
    metadata,
    Column("id", Id, primary_key=True),
    Column("account_id", Id, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("sequence_id", Id, ForeignKey("sequences.id", ondelete="CASCADE")),
    Column("doc_type", String(32), nullable=False),
    # The series' name, kept on the counter too (series are never renamed) so that numbering
    # reads everything it needs in the statement that takes the number.
    Column("serie", String(35), nullable=False, server_default=""),
    Column("current_number", BigInteger, nullable=False, server_default=text("0")),
    Column("validation_code", String(16)),
    Column("registered_at", UtcDateTime()),
    # tipoSerie AT registered it with: N normal, F training (the sandbox's simulator).
    Column("series_type", String(1)),
    # The head of this counter's signature chain: date, SystemEntryDate and signature of the
    # last document numbered (the next one chains to it and may not be dated earlier).
    Column("last_date", Date),
    Column("last_entry", String(19)),
    Column("last_hash", Text),
    UniqueConstraint("sequence_id", "doc_type"),
    sqlite_autoincrement=True,  # ids are never reused, not even after a sandbox reset
)

taxes = Table(
    "taxes",
    metadata,
    Column("id", Id, primary_key=True),
    Column("account_id", Id, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(64), nullable=False),
    Column("value", Money(), nullable=False),
    Column("region", String(16), nullable=False),
    Column("code", String(8), nullable=False),
    Column("is_default", Boolean, nullable=False, server_default=text("false")),
    Column("created_at", UtcDateTime(), nullable=False),
    UniqueConstraint("account_id", "name"),
    Index(
        "uq_taxes_default_per_account",
        "account_id",
        unique=True,
        sqlite_where=text("is_default"),
        postgresql_where=text("is_default"),
    ),
    sqlite_autoincrement=True,
)

clients = Table(
    "clients",
    metadata,
    Column("id", Id, primary_key=True),
    Column("account_id", Id, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(255), nullable=False),
    Column("code", String(64), nullable=False),
    Column("email", String(255)),
    Column("language", String(2), nullable=False),
    Column("address", Text),
    Column("city", String(255)),
    Column("postal_code", String(32)),
    Column("country", String(64), nullable=False),
    Column("fiscal_id", String(64)),
    Column("website", String(255)),
    Column("phone", String(64)),
    Column("fax", String(64)),
    Column("contact_name", String(255)),
    Column("contact_email", String(255)),
    Column("contact_phone", String(64)),
    Column("contact_mobile", String(64)),
    Column("observations", Text),
    Column("send_options", Integer, nullable=False, server_default=text("1")),
    Column("payment_days", Integer, nullable=False, server_default=text("0")),
    Column("tax_exemption_code", String(8)),
    # The unguessable token of the client's public statement (`open_account_link`).
    Column("statement_token", String(64)),
    Column("created_at", UtcDateTime(), nullable=False),
    UniqueConstraint("account_id", "code"),
    UniqueConstraint("account_id", "name"),
    Index("uq_clients_statement_token", "statement_token", unique=True),
    sqlite_autoincrement=True,
)

items = Table(
    "items",
    metadata,
    Column("id", Id, primary_key=True),
    Column("account_id", Id, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(255), nullable=False),
    Column("description", Text, nullable=False),
    Column("unit_price", Money(), nullable=False),
    Column("unit", String(16)),
    Column("tax_id", Id, ForeignKey("taxes.id", ondelete="SET NULL")),
    Column("created_at", UtcDateTime(), nullable=False),
    UniqueConstraint("account_id", "name"),
    sqlite_autoincrement=True,
)

# Every document of every type: one id space per server (api-v2 §1.13).
documents = Table(
    "documents",
    metadata,
    Column("id", Id, primary_key=True),
    Column("account_id", Id, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("doc_type", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("archived", Boolean, nullable=False, server_default=text("false")),
    # The counter the document is numbered from; chosen at creation when the request names a
    # sequence, else the default series' at finalization.
    Column("sub_sequence_id", Id, ForeignKey("sub_sequences.id")),
    Column("number", BigInteger),
    Column("date", Date, nullable=False),
    Column("due_date", Date, nullable=False),
    Column("reference", Text),
    Column("observations", Text),
    Column("retention", Money()),
    Column("tax_exemption", String(8)),
    Column("client_id", Id, ForeignKey("clients.id", ondelete="SET NULL")),
    Column("client", Text, nullable=False),  # JSON: the client as it was on the document
    Column("client_name", String(255), nullable=False),  # for text search
    Column("currency_code", String(3), nullable=False, server_default="EUR"),
    Column("exchange_rate", Money()),
    Column("global_discount_type", String(16)),
    Column("global_discount_value", Money()),
    Column("sum", Money(), nullable=False),
    Column("discount", Money(), nullable=False),
    Column("before_taxes", Money(), nullable=False),
    # The same in cents, for range filters (SQLite keeps Money as text, which compares as text).
    Column("before_taxes_cents", BigInteger, nullable=False),
    Column("taxes", Money(), nullable=False),
    Column("total", Money(), nullable=False),
    Column("retention_amount", Money(), nullable=False),
    Column("owner_document_id", Id, ForeignKey("documents.id")),
    Column("owner_reference", String(64)),  # raw_owner_invoice: a document issued elsewhere
    Column("transport", Text),  # guides: JSON of loaded_at, license_plate, address_from, address_to
    Column("at_doc_code", String(64)),  # guides: the code AT gave the transport document
    # Guides and purchase orders: when the load starts, local "YYYY-MM-DDTHH:MM:SS" (also inside
    # `transport`), kept as a column for the `loaded_at[from|to]` list filters.
    Column("loaded_at", String(19)),
    # Receipts: how the payment was made (SAF-T PaymentMechanism: TB, MB, NU…).
    Column("payment_mechanism", String(2)),
    Column("proprietary_uid", String(255)),
    Column("plugin_id", String(255)),
    Column("permalink_token", String(64), nullable=False, unique=True),
    # Set once, at finalization, and never changed after.
    Column("atcud", String(100)),
    Column("gross_total_eur", Money()),
    Column("system_entry_date", String(19)),
    Column("signature", Text),
    Column("key_version", Integer),
    Column("status_reason", Text),
    Column("status_changed_at", UtcDateTime()),
    Column("issuer", Text),  # JSON: the issuer as it was when the document was issued
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    # The backstop of gapless numbering: a number is used once per counter.
    UniqueConstraint("sub_sequence_id", "number"),
    UniqueConstraint("account_id", "proprietary_uid"),
    # Lists walk it newest first; their totals come from document_counts (or, with other
    # filters, from the rows this index finds).
    # It holds what the lists filter on besides: a page is found in the index alone.
    Index("ix_documents_account_date", "account_id", "date", "id", "doc_type", "status", "archived"),
    Index("ix_documents_owner", "owner_document_id"),
    Index("ix_documents_client", "client_id"),
    sqlite_autoincrement=True,
)

# How many documents each account has per type, status and archived flag: a list's total
# without counting its rows. Triggers on `documents` (migration 0005) record every change as a
# row of `document_count_changes`, in the same transaction; writers fold those rows into
# `document_counts` now and then. The count is the sum of both. (No foreign keys: an account's
# changes may still be folded after the account is gone.)
document_counts = Table(
    "document_counts",
    metadata,
    Column("account_id", Id, nullable=False),
    Column("doc_type", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("archived", Boolean, nullable=False),
    Column("n", BigInteger, nullable=False),
    PrimaryKeyConstraint("account_id", "doc_type", "status", "archived"),
)
document_count_changes = Table(
    "document_count_changes",
    metadata,
    Column("id", Id, primary_key=True),
    Column("account_id", Id, nullable=False),
    Column("doc_type", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("archived", Boolean, nullable=False),
    Column("delta", Integer, nullable=False),
    Column("date", Date),  # the document's (always recorded since migration 0018)
    Index("ix_document_count_changes_account", "account_id"),
)


# The same per date and per month (its first day): the totals of lists filtered by date, and
# where a deep page of a list starts (store/document_lists.py), without reading the documents.
# Folded with document_counts.
def _counts_per(name: str, period: str) -> Table:
    return Table(
        name,
        metadata,
        Column("account_id", Id, nullable=False),
        Column("doc_type", String(32), nullable=False),
        Column("status", String(16), nullable=False),
        Column("archived", Boolean, nullable=False),
        Column(period, Date, nullable=False),
        Column("n", BigInteger, nullable=False),
        PrimaryKeyConstraint("account_id", period, "doc_type", "status", "archived"),
    )


document_day_counts = _counts_per("document_day_counts", "date")
document_month_counts = _counts_per("document_month_counts", "month")

# Requests per account and minute, shared by the processes and instances of a server (the rate
# limit, web/ratelimit.py). On PostgreSQL here; an SQLite server keeps it in a file of its own
# beside the database (store/rate_counts.py), so that counting never waits on the writer.
rate_counts = Table(
    "rate_counts",
    metadata,
    Column("who", String(64), nullable=False),
    Column("window", BigInteger, nullable=False),  # the minute: unix time // 60
    Column("n", BigInteger, nullable=False),
    PrimaryKeyConstraint("who", "window"),
)

document_lines = Table(
    "document_lines",
    metadata,
    Column("id", Id, primary_key=True),
    Column("document_id", Id, ForeignKey("documents.id", ondelete="CASCADE"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("item_id", Id, ForeignKey("items.id", ondelete="SET NULL"), index=True),
    Column("tax_exemption", String(8)),  # the line's own exemption code (else the document's)
    Column("name", String(255), nullable=False),
    Column("description", Text, nullable=False),
    Column("unit_price", Money(), nullable=False),
    Column("quantity", Money(), nullable=False),
    Column("unit", String(16)),
    Column("discount", Money(), nullable=False),
    # The tax as it was on the document: its rate never follows later changes of the tax.
    Column("tax_id", Id, ForeignKey("taxes.id", ondelete="SET NULL"), index=True),
    Column("tax_name", String(64), nullable=False),
    Column("tax_value", Money(), nullable=False),
    Column("tax_region", String(16), nullable=False),
    Column("tax_code", String(8), nullable=False),
    Column("subtotal", Money(), nullable=False),
    Column("discount_amount", Money(), nullable=False),
    Column("tax_amount", Money(), nullable=False),
    Column("total", Money(), nullable=False),
    # A document's lines in their order, read without sorting.
    Index("ix_document_lines_document_position", "document_id", "position"),
    sqlite_autoincrement=True,
)

# The public half of every signing key that ever signed a document, by version (HashControl).
signing_keys = Table(
    "signing_keys",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("public_key", Text, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)


# Each account's write lock and change counter on PostgreSQL (store/accounts.lock_account_writes):
# every write transaction of the account moves `version` on, holding the row to its commit; the
# read caches of every instance compare it before they answer (web/cache.py).
account_versions = Table(
    "account_versions",
    metadata,
    # no foreign key: the lock is taken before anything of the account is read, even its row
    Column("account_id", Id, primary_key=True, autoincrement=False),
    Column("version", BigInteger, nullable=False),
)


# ixserver's seal (domain/seal.py): per account, a chain of every change of state of an issued
# document, with the document as it then was; the head is where the next event chains on (its
# row lock orders the account's events on PostgreSQL).
seal_heads = Table(
    "seal_heads",
    metadata,
    Column("account_id", Id, ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True, autoincrement=False),
    Column("seq", BigInteger, nullable=False, server_default=text("0")),
    Column("mac", String(64), nullable=False, server_default=""),
)

seal_events = Table(
    "seal_events",
    metadata,
    Column("account_id", Id, ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True, autoincrement=False),
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("document_id", Id, nullable=False, index=True),
    Column("event", String(16), nullable=False),
    Column("canonical", Text, nullable=False),
    Column("mac", String(64), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)


# A client's current account (api-v2 §12, domain/treasury.py): its initial balance, the
# treasury movements and regularizations recorded on it. They go with their client (and so with
# a sandbox reset, which deletes the clients) and with their account.
client_initial_balances = Table(
    "client_initial_balances",
    metadata,
    Column("client_id", Id, ForeignKey("clients.id", ondelete="CASCADE"), primary_key=True, autoincrement=False),
    Column("account_id", Id, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("value", Money(), nullable=False),
    Column("date", Date, nullable=False),
    Column("observation", Text),
    Column("created_at", UtcDateTime(), nullable=False),
)

regularizations = Table(
    "regularizations",
    metadata,
    Column("id", Id, primary_key=True),
    Column("account_id", Id, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("client_id", Id, ForeignKey("clients.id", ondelete="CASCADE"), nullable=False),
    Column("number", BigInteger, nullable=False),  # NR00000001: gapless per account
    Column("value", Money(), nullable=False),
    Column("date", Date, nullable=False),
    Column("observation", Text),
    Column("created_at", UtcDateTime(), nullable=False),
    # The backstop of gapless numbering, as for documents.
    UniqueConstraint("account_id", "number"),
    Index("ix_regularizations_client", "client_id", "number"),
    sqlite_autoincrement=True,
)

# The regularization counter of each account, taken like the document counters (store/counters.py).
regularization_counters = Table(
    "regularization_counters",
    metadata,
    Column("account_id", Id, ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True, autoincrement=False),
    Column("current_number", BigInteger, nullable=False, server_default=text("0")),
)

treasury_movements = Table(
    "treasury_movements",
    metadata,
    Column("id", Id, primary_key=True),
    Column("account_id", Id, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("client_id", Id, ForeignKey("clients.id", ondelete="CASCADE"), nullable=False),
    Column("movement_type", String(16), nullable=False),  # Reimbursement or Payment
    Column("payment_method", String(2)),  # SAF-T PaymentMechanism (MB, TB, NU…)
    Column("value", Money(), nullable=False),
    Column("date", Date, nullable=False),
    Column("serie", String(35)),  # a series of the account, by name
    Column("observation", Text),
    Column("created_at", UtcDateTime(), nullable=False),
    Index("ix_treasury_movements_client", "client_id", "id"),
    sqlite_autoincrement=True,
)

# The job outbox (jobs/): work a change causes outside its transaction (an e-mail to send),
# written in that same transaction, done afterwards by the workers, retried with backoff.
jobs = Table(
    "jobs",
    metadata,
    Column("id", Id, primary_key=True),
    Column("account_id", Id, ForeignKey("accounts.id", ondelete="CASCADE")),
    Column("kind", String(32), nullable=False),
    Column("payload", Text, nullable=False),  # JSON
    Column("status", String(16), nullable=False),  # queued, running, sending, done, failed
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column(
        "run_after", UtcDateTime(), nullable=False
    ),  # queued: not before; running, claimed before 0020: the lease's end
    Column("last_error", Text),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("finished_at", UtcDateTime()),
    # the claim (jobs/worker.py): its token, its claimer (host; pid and start), its heartbeat
    Column("claim_token", String(32)),
    Column("claimer_host", String(255)),
    Column("claimer_pid", Integer),
    Column("claimer_started", BigInteger),
    Column("heartbeat_at", UtcDateTime()),
    Index("ix_jobs_status_run_after", "status", "run_after"),
    Index("ix_jobs_account_id", "account_id"),
    sqlite_autoincrement=True,
)

# Sandbox: the e-mails the built-in sink received instead of an SMTP server (/_ixserver/emails).
sent_emails = Table(
    "sent_emails",
    metadata,
    Column("id", Id, primary_key=True),
    Column("account_id", Id, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("job_id", Id),
    Column("message", Text, nullable=False),  # the whole RFC 5322 message, attachments included
    Column("created_at", UtcDateTime(), nullable=False),
    sqlite_autoincrement=True,
)

# A document's PDF as first drawn and signed (services/pdfs.py): one per document and copy
# (original, duplicado), served again byte for byte while what it is drawn from is unchanged (the
# SHA-256 of the template's inputs), drawn and signed again once it changes (a draft edited, a
# document canceled). Only signed PDFs are kept: an unsigned one is the same bytes when drawn again.
document_pdfs = Table(
    "document_pdfs",
    metadata,
    Column("document_id", Id, ForeignKey("documents.id", ondelete="CASCADE"), nullable=False),
    Column("second_copy", Boolean, nullable=False),
    Column("account_id", Id, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("inputs_sha256", String(64), nullable=False),
    Column("content", LargeBinary, nullable=False),
    Column("signed_at", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("document_id", "second_copy"),
)

# SAF-T files made for the API (GET /api/export_saft.json): one row per request that started one,
# the file kept gzipped until asked for again, behind an unguessable token.
saft_exports = Table(
    "saft_exports",
    metadata,
    Column("id", Id, primary_key=True),
    Column("account_id", Id, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("year", Integer, nullable=False),
    Column("month", Integer, nullable=False),
    Column("status", String(16), nullable=False),  # running, done, failed
    Column("token", String(64), nullable=False, unique=True),
    Column("content", LargeBinary),  # the file, gzipped
    Column("documents", Integer),
    Column("seal_seq", BigInteger),  # the seal's event that recorded the file (its SHA-256)
    Column("error", Text),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("finished_at", UtcDateTime()),
    Index("ix_saft_exports_account_period", "account_id", "year", "month"),
    sqlite_autoincrement=True,
)


# Sandbox (issue 25). An account's clock: how far its time is ahead of the server's
# (store/clocks.py); no row: the server's time. In the database: the writer reads it in the
# transaction of each of the account's use cases.
account_clocks = Table(
    "account_clocks",
    metadata,
    Column("account_id", Id, ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True, autoincrement=False),
    Column("offset_us", BigInteger, nullable=False),  # microseconds ahead of the server's time
)

# Sandbox: the faults an account asked for (store/sandbox_state.py), checked before each of its
# requests. On SQLite kept in a side file beside the database, as rate_counts are (the requests
# of every server process read it, without waiting for the writer).
sandbox_faults = Table(
    "sandbox_faults",
    metadata,
    Column("id", Id, primary_key=True),
    Column("account_id", BigInteger, nullable=False, index=True),
    Column("method", String(8)),  # None: any
    Column("path", String(255), nullable=False),  # the API path, `*` for any characters but "/"
    Column("status", Integer),  # None: the request runs (after its delay)
    Column("delay_ms", Integer, nullable=False),
    Column("close", Boolean, nullable=False),
    Column("remaining", Integer),  # None: every time
    Column("created_at", UtcDateTime(), nullable=False),
    sqlite_autoincrement=True,
)

# Sandbox: the recorder, the latest requests of each account with their answers (a ring: the
# newest RECORDED per account are kept), beside the faults.
sandbox_requests = Table(
    "sandbox_requests",
    metadata,
    Column("id", Id, primary_key=True),
    Column("account_id", BigInteger, nullable=False),
    Column("at", UtcDateTime(), nullable=False),
    Column("method", String(8), nullable=False),
    Column("path", Text, nullable=False),
    Column("query", Text, nullable=False),  # without api_key
    Column("status", Integer, nullable=False),
    Column("duration_ms", Integer, nullable=False),
    Column("request_body", Text, nullable=False),
    Column("response_body", Text, nullable=False),
    Column("truncated", Boolean, nullable=False),
    Index("ix_sandbox_requests_account_id_id", "account_id", "id"),
    sqlite_autoincrement=True,
)
