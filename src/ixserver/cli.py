"""The `ixserver` command. Scripts rely on: `serve --host H --port P`, `migrate`,
`accounts create NAME` (prints only the key), `verify`."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from ixserver.domain.errors import DomainError

if TYPE_CHECKING:
    from ixserver.config import Settings
    from ixserver.store.db import Database

# Each command imports what it uses, when it runs: the settings, the database's and the use
# cases' modules take some 0.5 s of CPU to import, which `--version`, `verify --saft` and a
# command given wrongly have no use for.

app = typer.Typer(no_args_is_help=True, add_completion=False, help="InvoiceXpress API v2 server.")
accounts_app = typer.Typer(no_args_is_help=True, help="Accounts and their API keys.")
app.add_typer(accounts_app, name="accounts")
series_app = typer.Typer(no_args_is_help=True, help="Series (sequences) and their registration with AT.")
app.add_typer(series_app, name="series")
guides_app = typer.Typer(no_args_is_help=True, help="Guides: the codes AT gives their transports.")
app.add_typer(guides_app, name="guides")
saft_app = typer.Typer(no_args_is_help=True, help="SAF-T (PT) files.")
app.add_typer(saft_app, name="saft")
jobs_app = typer.Typer(no_args_is_help=True, help="The job outbox (e-mails): see jobs, run a failed one again.")
app.add_typer(jobs_app, name="jobs")


def _print_version(value: bool) -> None:
    if value:
        from ixserver import __version__

        typer.echo(f"ixserver {__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="Print the version and stop."
    ),
) -> None:
    """InvoiceXpress API v2 server."""


def _database(settings: Settings) -> Database:
    """The database, migrated to the current schema (idempotent, safe with several processes),
    its writes journaling the seal heads they move (ixserver/journal.py); refused (exit 1) when
    it was made in the other mode than the settings' (services/modes.py)."""
    from ixserver.journal import attach
    from ixserver.services.modes import ModeMismatch, settle
    from ixserver.services.seal import open_existing
    from ixserver.store.db import Database
    from ixserver.store.migrate import upgrade
    from ixserver.writes.direct import DirectWrites

    key = _seal_key(settings)
    upgrade(settings.resolved_database_url, seal_start=lambda conn, account_id: open_existing(conn, key, account_id))
    db = Database(settings.resolved_database_url)
    try:
        note = settle(db, settings.sandbox, DirectWrites(db).run_sync)
    except ModeMismatch as exc:
        db.dispose()
        _fail(str(exc))
    if note is not None:
        typer.echo(note, err=True)
    attach(db, settings)
    return db


def _seal_key(settings: Settings) -> bytes:
    from ixserver.vault import Vault

    return Vault.from_settings(settings).derive("seal")


def _fail(message: str, code: int = 1) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    workers: int = typer.Option(1, min=1, help="Server processes: one per core."),
    demo: bool = typer.Option(False, help="Create the `demo` account if missing and print its key and a curl line."),
) -> None:
    """Apply pending migrations and serve the API."""
    from ixserver.serve import serve as run

    run(host, port, workers, demo, _database)


@app.command()
def encrypt() -> None:
    """Encrypt a secret read on standard input (its first line) with the secret key, as the vault
    keeps secrets: what IXSERVER_PDF_SIGNING_PASSWORD holds, the P12's password encrypted."""
    from ixserver.config import Settings
    from ixserver.vault import Vault

    lines = sys.stdin.read().splitlines()
    if not lines or not lines[0]:
        _fail("nothing to encrypt: give the secret on standard input")
    typer.echo(Vault.from_settings(Settings()).encrypt(lines[0]))


@app.command()
def migrate() -> None:
    """Apply pending database migrations."""
    from ixserver.config import Settings
    from ixserver.journal import SealJournal
    from ixserver.store.migrate import current_revision

    settings = Settings()
    db = _database(settings)
    SealJournal(settings.resolved_seal_journal).ensure()
    typer.echo(f"database at revision {current_revision(db)}")
    db.dispose()


@accounts_app.command("create")
def accounts_create(name: str) -> None:
    """Create an account; prints only its API key."""
    from ixserver.config import Settings
    from ixserver.resources import Resources
    from ixserver.services.accounts import create_account
    from ixserver.writes.direct import DirectWrites

    settings = Settings()
    db = _database(settings)
    try:
        _account, key = DirectWrites(db).run_sync(create_account, name, Resources.from_settings(settings))
    except DomainError as exc:
        _fail(exc.message)
    finally:
        db.dispose()
    typer.echo(key)


@accounts_app.command("key")
def accounts_key(name: str) -> None:
    """Issue another API key for an account; prints only the key."""
    from ixserver.config import Settings
    from ixserver.services.accounts import get_account, issue_key
    from ixserver.writes.direct import DirectWrites

    db = _database(Settings())
    try:
        account = DirectWrites(db).run_sync(get_account, name)
        key = DirectWrites(db).run_sync(issue_key, account.id)
    except DomainError as exc:
        _fail(exc.message)
    finally:
        db.dispose()
    typer.echo(key)


@accounts_app.command("list")
def accounts_list() -> None:
    """List accounts."""
    from ixserver.config import Settings
    from ixserver.services.accounts import list_accounts

    db = _database(Settings())
    with db.read() as conn:
        rows = list_accounts(conn)
    db.dispose()
    for row in rows:
        typer.echo(f"{row.id}\t{row.name}\t{row.state}\t{row.created_at:%Y-%m-%d %H:%M:%S}Z")


@series_app.command("register")
def series_register(
    account: str,
    serie: str,
    code: list[str] = typer.Option(..., help="TYPE=CODE, a validation code AT's portal gave: FT=AAAA1111."),
) -> None:
    """Enter the validation codes AT gave for a series (created when the account has none of that name)."""
    from ixserver.config import Settings
    from ixserver.domain.doctypes import DOC_TYPES
    from ixserver.resources import Resources
    from ixserver.services.accounts import get_account
    from ixserver.services.sequences import enter_validation_codes
    from ixserver.writes.direct import DirectWrites

    codes: dict[str, str] = {}
    for given in code:
        type_code, sep, value = given.partition("=")
        if not sep or not type_code.strip() or not value.strip():
            _fail(f"--code {given}: expected TYPE=CODE, e.g. FT=AAAA1111")
        codes[type_code.strip().upper()] = value.strip()
    settings = Settings()
    db = _database(settings)
    try:
        found = DirectWrites(db).run_sync(get_account, account)
        writes = DirectWrites(db, Resources.from_settings(settings))
        sequence = writes.run_sync_with_resources(enter_validation_codes, found.id, serie, codes)
    except DomainError as exc:
        _fail("; ".join(exc.messages))
    finally:
        db.dispose()
    for kind in DOC_TYPES:
        sub = sequence.subs[kind.key]
        if kind.atcud:
            typer.echo(f"{kind.saft_code} {serie}\t{sub.validation_code}")


@guides_app.command("code")
def guides_code(account: str, guide_id: int, code: str) -> None:
    """Enter the code AT's portal gave an issued guide's transport (production)."""
    from ixserver.config import Settings
    from ixserver.resources import Resources
    from ixserver.services.accounts import get_account
    from ixserver.services.documents import enter_transport_code
    from ixserver.writes.direct import DirectWrites

    settings = Settings()
    db = _database(settings)
    try:
        found = DirectWrites(db).run_sync(get_account, account)
        writes = DirectWrites(db, Resources.from_settings(settings))
        guide = writes.run_sync_with_resources(enter_transport_code, found.id, guide_id, code)
    except DomainError as exc:
        _fail("; ".join(exc.messages))
    finally:
        db.dispose()
    typer.echo(f"{guide.doc_type} {guide.id}\t{guide.at_doc_code}")


@app.command()
def seed(
    account: str,
    documents: int = typer.Option(50, min=1, max=2000, help="Documents to make (of every family, in every state)."),
    seed_value: int = typer.Option(0, "--seed", help="The random choices' seed: the same seed, the same data."),
) -> None:
    """Sandbox: fill an account with realistic clients, items and documents, made through the
    API's own use cases (as POST /_ixserver/seed does)."""
    import asyncio

    import orjson

    from ixserver.api.sandbox_seed import seed as fill
    from ixserver.config import Settings
    from ixserver.resources import Resources
    from ixserver.services.accounts import get_account
    from ixserver.writes.direct import DirectWrites

    settings = Settings()
    if not settings.sandbox:
        _fail("seed makes made-up documents: only in sandbox mode (IXSERVER_SANDBOX=1)")
    db = _database(settings)
    try:
        found = DirectWrites(db).run_sync(get_account, account)
        writes = DirectWrites(db, Resources.from_settings(settings))
        made = asyncio.run(fill(db, writes, found.id, documents, seed_value))
    except DomainError as exc:
        _fail("; ".join(exc.messages))
    finally:
        db.dispose()
    typer.echo(orjson.dumps({"seed": made}, option=orjson.OPT_INDENT_2).decode())


@app.command()
def replay(
    file: Path = typer.Argument(
        ..., exists=True, dir_okay=False, help="A recording: GET /_ixserver/requests's answer."
    ),
    base: str = typer.Option(..., help="The server to replay against, e.g. http://127.0.0.1:8000"),
    key: str = typer.Option(..., help="The API key of the account to replay on."),
) -> None:
    """Replay a recording against a server speaking the API and print where its answers differ
    (ids, dates, addresses and document numbers normalized): exit 0 when they agree, 1 if not."""
    from ixserver.replay import load
    from ixserver.replay import replay as run

    try:
        entries = load(file.read_bytes())
    except ValueError as exc:
        _fail(f"{file}: {exc}", 2)
    found = 0
    for line in run(entries, base, key):
        found += 1
        typer.echo(line)
    typer.echo(f"{len(entries)} requests replayed, {found} differences", err=True)
    raise typer.Exit(1 if found else 0)


@app.command()
def verify(
    account: str = typer.Option(None, help="Only this account."),
    saft: Path = typer.Option(None, "--saft", help="Check this SAF-T (PT) file instead of the database."),
    public_key: list[Path] = typer.Option(
        [], "--public-key", help="PEM public key the file's documents are signed with (repeat for several)."
    ),
    as_json: bool = typer.Option(False, "--json", help="With --saft: the report as JSON on stdout."),
    jobs: int = typer.Option(0, min=0, max=64, help="With --saft: worker processes for the schema (0: by file size)."),
    journal: list[Path] = typer.Option(
        [],
        "--journal",
        help="A seal journal to check the database against (repeat for each instance's; default: this one's).",
    ),
    no_journal: bool = typer.Option(False, "--no-journal", help="Check the database alone, without a seal journal."),
) -> None:
    """Audit the database, or with --saft a SAF-T file on its own; exit 0 when clean, 1 with a
    report otherwise."""
    if saft is not None:
        _verify_saft(saft, public_key, as_json, jobs or None)
        return
    from ixserver import journal as seal_journal
    from ixserver.config import Settings
    from ixserver.services.verify import verify as run_verify

    settings = Settings()
    paths = [] if no_journal else (journal or [settings.resolved_seal_journal])
    problems = [
        f"the seal journal {p} is missing (lost, or not this server's: give --journal)"
        for p in paths
        if not p.is_file()
    ]
    heads = [seal_journal.read(p) for p in paths if p.is_file()]
    db = _database(settings)
    with db.read() as conn, _progress_bar("accounts") as progress:
        problems += run_verify(conn, _seal_key(settings), account, journals=None if no_journal else heads,
                               progress=progress)  # fmt: skip
    db.dispose()
    if problems:
        for line in problems:
            typer.echo(line)
        raise typer.Exit(1)
    typer.echo("ok: no problems found")


USAGE = 2  # exit code of a command given wrongly (1 is a report with findings)


@contextlib.contextmanager
def _progress_bar(label: str) -> Iterator[Callable[[int, int], None] | None]:
    """`progress(done, total)` drawing a bar on stderr when it is a terminal; None otherwise
    (a log or a script has no use for a bar's redrawn lines)."""
    if not sys.stderr.isatty():
        yield None
        return
    bar: Any = None
    try:

        def progress(done: int, total: int) -> None:
            nonlocal bar
            if bar is None:
                bar = typer.progressbar(length=total, label=label, file=sys.stderr).__enter__()
            bar.update(done - bar.pos)

        yield progress
    finally:
        if bar is not None:
            bar.render_finish()


def _verify_saft(path: Path, key_files: list[Path], as_json: bool, jobs: int | None) -> None:
    import json

    from ixserver.audit.saft import check
    from ixserver.signing_key import public_key_from_pem

    if not path.is_file():
        _fail(f"{path}: no such file", USAGE)
    if not key_files:
        _fail("--public-key: the PEM public key the documents are signed with (AT's, for AT's demo file)", USAGE)
    keys = []
    for key_file in key_files:
        try:
            keys.append(public_key_from_pem(key_file.read_text()))
        except (OSError, ValueError) as exc:
            _fail(f"{key_file}: not a PEM RSA public key ({exc})", USAGE)
    with typer.progressbar(length=path.stat().st_size, label="SAF-T", file=sys.stderr) as bar:
        seen = [0]

        def progress(done: int) -> None:
            bar.update(done - seen[0])
            seen[0] = done

        report = check(path, keys, jobs=jobs, progress=progress)
    if as_json:
        typer.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=1))
    else:
        for finding in report.findings:
            typer.echo(f"{finding.check}\t{finding.where}\t{finding.message}")
        count = sum(report.documents.values())
        summary = (
            f"{count} documents in {report.series} series, {report.signatures_verified} signatures verified"
            + (f", {len(report.not_verifiable)} chained to documents before the file" if report.not_verifiable else "")
            + (
                f", {len(report.atcud_not_verifiable)} receipts with ATCUD 0 paying documents not in the file"
                if report.atcud_not_verifiable
                else ""
            )
        )
        typer.echo(f"ok: {path}: {summary}" if report.ok else f"{len(report.findings)} findings: {summary}")
    if not report.ok:
        raise typer.Exit(1)


@app.command()
def seal(account: str = typer.Option(None, help="Only this account.")) -> None:
    """Seal, as they now are, issued documents that predate the seal and have no event yet.
    Run `ixserver verify` first: what is sealed is taken as right. Refused (exit 1) for an
    account where a document issued after the seal began has none: its events were deleted."""
    from ixserver.config import Settings
    from ixserver.resources import Resources
    from ixserver.services.accounts import list_accounts
    from ixserver.services.seal import seal_unsealed
    from ixserver.writes.direct import DirectWrites

    settings = Settings()
    db = _database(settings)
    writes = DirectWrites(db, Resources.from_settings(settings))
    refused = False
    try:
        with db.read() as conn:
            accounts = [a for a in list_accounts(conn) if account is None or a.name == account]
        for row in accounts:
            try:
                count = writes.run_sync_with_resources(seal_unsealed, row.id)
            except DomainError as exc:
                refused = True
                for message in exc.messages:
                    typer.echo(f"{row.name}: refused: {message}", err=True)
                continue
            typer.echo(f"{row.name}: {count} documents sealed")
    finally:
        db.dispose()
    if refused:
        raise typer.Exit(1)


@saft_app.command("export")
def saft_export(
    account: str = typer.Option(..., help="The account."),
    first: str = typer.Option(..., "--from", help="First day, YYYY-MM-DD."),
    last: str = typer.Option(..., "--to", help="Last day, YYYY-MM-DD."),
    output: Path = typer.Option(..., "-o", "--output", help="The file to write."),
) -> None:
    """The account's SAF-T (PT) 1.04_01 file of a period (every issued document dated in it)."""
    from datetime import date

    from ixserver.config import Settings
    from ixserver.services.saft import export

    try:
        period = date.fromisoformat(first), date.fromisoformat(last)
    except ValueError:
        _fail("--from and --to are dates: YYYY-MM-DD")
    settings = Settings()
    db = _database(settings)
    try:
        with db.read() as conn, open(output, "wb") as out, _progress_bar("SAF-T") as progress:
            count = export(conn, account, *period, out, certificate=settings.software_certificate,
                           producer_tax_id=settings.producer_tax_id, progress=progress)  # fmt: skip
        typer.echo(f"{output}: {count} documents")
    except DomainError as exc:
        output.unlink(missing_ok=True)
        _fail(exc.message)
    finally:
        db.dispose()


ERROR_WIDTH = 100  # characters of a job's last error in `jobs list` (one line each)


@jobs_app.command("list")
def jobs_list(
    state: str = typer.Option(None, help="Only jobs in this state: queued, running, sending, done or failed."),
    account: str = typer.Option(None, help="Only this account's jobs."),
    limit: int = typer.Option(50, min=1, max=10_000, help="The latest this many."),
) -> None:
    """The latest jobs, newest first: id, kind, state, attempts, last error, account."""
    from ixserver.config import Settings
    from ixserver.services.jobs import STATES, list_jobs

    if state is not None and state not in STATES:
        _fail(f"--state {state}: one of {', '.join(STATES)}", USAGE)
    db = _database(Settings())
    try:
        with db.read() as conn:
            rows = list_jobs(conn, state=state, account=account, limit=limit)
    except DomainError as exc:
        _fail(exc.message)
    finally:
        db.dispose()
    table = [("ID", "KIND", "STATE", "ATTEMPTS", "LAST ERROR", "ACCOUNT")]
    for job, name in rows:
        error = " ".join((job.last_error or "-").split())  # one line
        error = error if len(error) <= ERROR_WIDTH else error[: ERROR_WIDTH - 1] + "…"
        table.append((str(job.id), job.kind, job.status, str(job.attempts), error, name or "-"))
    widths = [max(len(row[n]) for row in table) for n in range(len(table[0]) - 1)]
    for row in table:
        typer.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) + "  " + row[-1])


@jobs_app.command("retry")
def jobs_retry(job_id: int) -> None:
    """Queue a failed job again, due now, with all its attempts ahead: a server's job workers (or
    `ixserver worker`) run it."""
    from ixserver.config import Settings
    from ixserver.services.jobs import job_of, retry_job
    from ixserver.writes.direct import DirectWrites

    db = _database(Settings())
    try:
        with db.read() as conn:
            account_id = job_of(conn, job_id).account_id
        if account_id is None:
            _fail(f"Job {job_id} belongs to no account: nothing runs it again")
        job = DirectWrites(db).run_sync(retry_job, account_id, job_id)
    except DomainError as exc:
        _fail(exc.message)
    finally:
        db.dispose()
    typer.echo(f"job {job.id} ({job.kind}) queued again")


@app.command()
def worker(threads: int = typer.Option(1, min=1, max=32, help="Job worker threads.")) -> None:
    """Run the job outbox's workers (e-mails) in this process until stopped (SIGTERM, Ctrl-C),
    beside servers started with IXSERVER_JOB_WORKERS=0, or as more of them."""
    from ixserver.config import Settings
    from ixserver.jobs.handlers import HANDLERS
    from ixserver.jobs.worker import JobWorkers
    from ixserver.resources import Resources
    from ixserver.writes.direct import DirectWrites

    settings = Settings()
    db = _database(settings)
    workers = JobWorkers(settings, db, DirectWrites(db, Resources.from_settings(settings)), HANDLERS)
    from ixserver.serve import exit_on_signal

    signal.signal(signal.SIGTERM, exit_on_signal)
    workers.start(threads)
    typer.echo(f"ixserver worker: {threads} thread(s) on {settings.resolved_database_url.split('://')[0]}")
    try:
        while True:
            time.sleep(3600)
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        workers.stop()
        db.dispose()


def main() -> None:
    try:
        app(prog_name="ixserver")
    except Exception as exc:
        problem = _database_problem(exc)
        if problem is None:
            raise
        if os.environ.get("IXSERVER_LOG_LEVEL", "").lower() == "debug":
            import traceback

            traceback.print_exception(exc)
        typer.echo(problem, err=True)
        sys.exit(1)


def _database_problem(exc: BaseException) -> str | None:
    """One line (and a hint) for a database the command could not use, instead of the traceback
    (about 430 lines through typer's): None when `exc` is not the database's."""
    from sqlalchemy.exc import DBAPIError

    from ixserver.config import Settings

    if not isinstance(exc, DBAPIError):
        return None
    try:
        where = Settings().resolved_database_url
    except Exception:  # the settings themselves are wrong: the error says enough
        where = "the database"
    from sqlalchemy.engine import make_url

    shown = make_url(where).render_as_string(hide_password=True) if "://" in where else where
    said = " ".join(str(exc.orig).split())  # the driver's words, on one line
    hint = (
        "is it running, and is IXSERVER_DATABASE_URL right?"
        if "connect" in said.lower()
        else "see IXSERVER_DATABASE_URL"
    )
    return (f"error: the database at {shown} failed: {said}\n"
            f"hint: {hint} (IXSERVER_LOG_LEVEL=debug prints the traceback)")  # fmt: skip


if __name__ == "__main__":
    main()
