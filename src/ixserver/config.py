"""Settings, read from IXSERVER_* environment variables (or passed in by tests).

Nothing here is read at import time: `Settings()` is built by the CLI or a test and handed to
`create_app(settings)`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="IXSERVER_", extra="ignore")

    data_dir: Path = Field(default=Path("./var"), description="Where the SQLite file and generated files live.")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default sqlite:///<data_dir>/ixserver.db. postgresql://… works too."
    )
    public_url: str = Field(
        default="http://127.0.0.1:8000", description="Absolute base URL for links the server hands out."
    )
    sandbox: bool = Field(default=False, description="Enables the /_ixserver control API (reset, …).")
    console: bool | None = Field(
        default=None,
        description="The web console at /_ixserver/console/: in sandbox mode on unless 0; in production only when 1"
        " (read-only there but for a job's retry).",
    )
    rate_limit: int = Field(default=780, ge=0, description="Requests per minute per account; 0 turns it off.")
    account_domains: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["localhost"],
        description="Host suffixes whose first label names the account (acme.localhost → acme).",
    )
    account_creators: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Accounts whose keys may create accounts through the accounts API (sandbox mode: every account).",
    )
    account_creations_per_day: int = Field(
        default=20,
        ge=0,
        description=(
            "Accounts one account may create through the accounts API in 24 hours (production; no cap in sandbox)."
        ),
    )
    access_log: bool = Field(default=True, description="Log one line per request (api_key redacted).")
    log_level: str = Field(default="info")
    metrics: bool = Field(default=True, description="Serve Prometheus metrics at GET /metrics (no key).")
    log_format: Literal["logfmt", "json"] = Field(
        default="logfmt",
        description="logfmt lines, or one JSON object per line (every log record, uvicorn's included).",
    )
    at_adapter: str = Field(
        default="",
        description="How series are registered with AT: `simulator` (sandbox only, its default) or `manual`"
        " (production's default: the operator enters the codes AT's portal gives).",
    )
    at_simulator_delay: float = Field(default=0.0, ge=0, description="Seconds the AT simulator takes per call.")
    secret_key: str | None = Field(
        default=None, description="Fernet key for secrets at rest; default: <data dir>/secret.key, made on first use."
    )
    signing_key_file: Path | None = Field(
        default=None, description="PEM RSA private key that signs documents; default: <data dir>/signing-key.pem."
    )
    signing_key_version: int = Field(default=1, ge=1, description="Version of that key (SAF-T HashControl).")
    pdf_signing_p12: Path | None = Field(
        default=None,
        description="PKCS#12 file of the certificate that signs PDFs (PAdES); default: in sandbox mode a test"
        " certificate made once (<data dir>/pdf-certificate.pem), in production none (PDFs unsigned).",
    )
    pdf_signing_password_file: Path | None = Field(
        default=None, description="A file whose first line is the password of IXSERVER_PDF_SIGNING_P12."
    )
    pdf_signing_password: str | None = Field(
        default=None,
        description="The password of IXSERVER_PDF_SIGNING_P12 encrypted by the secret key (`ixserver encrypt`),"
        " instead of a password file.",
    )
    seal_journal: Path | None = Field(
        default=None,
        description="Append-only file of each account's latest seal head, outside the database (`ixserver verify`"
        " checks the database against it); default: <data dir>/seal.journal.",
    )
    software_certificate: int = Field(
        default=0, ge=0, le=9999, description="AT certificate number of the program; 0: not certified."
    )
    producer_tax_id: str = Field(
        default="999999990",
        min_length=1,
        max_length=30,
        description="SAF-T ProductCompanyTaxID: the tax id of who produces (and certifies) the program you run;"
        " 999999990, AT's 'not identified', until there is one.",
    )
    auth_cache_seconds: float = Field(default=30.0, ge=0, description="How long a verified API key is remembered.")
    read_cache: bool = Field(default=True, description="Reuse rendered reads while the (SQLite) database is unchanged.")
    max_body_bytes: int = Field(
        default=1_000_000, ge=1_000, description="Largest request body accepted (a larger one is a 413)."
    )
    keep_alive_seconds: float = Field(
        default=120.0,
        ge=1,
        description="How long an idle HTTP connection is kept open: longer than the clients' own idle limit, "
        "so that the client, never the server, closes it (a server closing as a request arrives loses it).",
    )
    header_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        description="Time a client has to send a request's headers (and a new connection its first byte).",
    )
    body_timeout_seconds: float = Field(
        default=30.0, gt=0, description="Time a client has to send a request's body, from the end of its headers."
    )
    connections_per_client: int = Field(
        default=100, ge=0, description="Open connections one client address may hold to a server process; 0: no cap."
    )
    worker_start_seconds: float = Field(
        default=120.0,
        gt=0,
        description="Time a server process or the writer process may take to start (a loaded machine).",
    )
    render_workers: int = Field(
        default=1,
        ge=1,
        le=32,
        description="Child processes that draw PDFs, per server process (one per core with serve --workers).",
    )
    render_timeout_seconds: float = Field(
        default=20.0, gt=0, description="Seconds a PDF may take to draw (its child is then killed: a 503)."
    )
    render_memory_mb: int = Field(
        default=1536, ge=256, description="Address space of a child drawing PDFs, in MiB (RLIMIT_AS; past it: a 503)."
    )
    public_rate_limit: int = Field(
        default=60,
        ge=0,
        description="Requests per minute to one public address (a document's page, PDF, QR code); 0: off.",
    )
    public_address_rate_limit: int = Field(
        default=600, ge=0, description="Requests per minute from one client address to the public addresses; 0: off."
    )
    writer_batch_max: int = Field(default=64, ge=1, description="Most write use cases committed together.")
    writer_batch_cost: int = Field(
        default=256, ge=1, description="Most lines of documents (and use cases) committed together; a larger one alone."
    )
    account_requests: int = Field(
        default=64, ge=1, description="Requests of one account a server process works on at once; more wait their turn."
    )
    account_body_bytes: int = Field(
        default=1_000_000, ge=1, description="Bytes of request bodies of one account a server process works on at once."
    )
    account_parse_ms: int = Field(
        default=100,
        ge=0,
        description="Milliseconds of CPU a second that parsing one account's large bodies (over 64 kB) may take of the"
        " server (all its processes and instances); past it, its next large body waits (or, past 5 s, is a 429)."
        " 0: no limit.",
    )
    job_workers: int = Field(
        default=1, ge=0, le=32, description="Job worker threads per server process (e-mails); 0: run `ixserver worker`."
    )
    job_poll_seconds: float = Field(default=0.5, gt=0, description="How often an idle job worker looks for work.")
    job_attempts: int = Field(default=5, ge=1, description="Attempts of a job before it has failed for good.")
    smtp_host: str = Field(
        default="", description="SMTP server e-mails go through; none: the sandbox keeps them (/_ixserver/emails)."
    )
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_tls: str = Field(default="none", pattern="^(none|starttls|ssl)$", description="none, starttls or ssl.")
    smtp_user: str = Field(default="", description="SMTP login, if the server asks for one.")
    smtp_password: str = Field(default="")
    smtp_from: str = Field(default="ixserver@localhost", description="The From address of documents sent by e-mail.")
    smtp_timeout: float = Field(default=30.0, gt=0, description="Seconds an SMTP conversation may take.")
    writer_process: bool = Field(
        default=True, description="`serve` runs writes in one writer process (else a thread per server process)."
    )

    @model_validator(mode="after")
    def _nothing_invented_in_production(self) -> Settings:
        if self.resolved_at_adapter == "simulator" and not self.sandbox:
            raise ValueError(
                "IXSERVER_AT_ADAPTER=simulator invents validation codes: only in sandbox mode (IXSERVER_SANDBOX=1)"
            )
        return self

    @property
    def resolved_at_adapter(self) -> str:
        return self.at_adapter or ("simulator" if self.sandbox else "manual")

    @field_validator("smtp_from")
    @classmethod
    def _one_header(cls, value: str) -> str:
        from ixserver.domain.clients import header_problem

        problem = header_problem("IXSERVER_SMTP_FROM", "From", value)
        if problem is not None:
            raise ValueError(problem)  # every e-mail would fail on it
        return value

    @field_validator("account_domains", "account_creators", mode="before")
    @classmethod
    def _split_names(cls, value: object) -> object:
        if isinstance(value, str):
            return [d.strip().lower().lstrip(".") for d in value.split(",") if d.strip()]
        return value

    def may_create_accounts(self, account_name: str) -> bool:
        """Whether a key of this account may create accounts through the accounts API: in
        sandbox mode every account may, unless IXSERVER_ACCOUNT_CREATORS names some."""
        if self.account_creators:
            return account_name in self.account_creators
        return self.sandbox

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'ixserver.db').resolve()}"

    @property
    def resolved_seal_journal(self) -> Path:
        return self.seal_journal or self.data_dir / "seal.journal"

    @property
    def console_enabled(self) -> bool:
        return self.sandbox if self.console is None else self.console

    @property
    def sends_email(self) -> bool:
        """Whether e-mails can leave: an SMTP server, or the sandbox's sink."""
        return bool(self.smtp_host) or self.sandbox

    @property
    def base_url(self) -> str:
        return self.public_url.rstrip("/")
