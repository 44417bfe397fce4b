"""The seal's chain (domain/seal.py): its head per account, and its events."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.engine import Connection

from ixserver.store.db import SEALED, SealedHead, at_commit, remembered
from ixserver.store.prepared import Prepared
from ixserver.store.tables import seal_events, seal_heads

_h = seal_heads.c
_e = seal_events.c
RESET = "reset"  # what the journal notes when a sandbox reset starts an account's chain again


@dataclass(frozen=True)
class SealEvent:
    seq: int
    document_id: int
    event: str
    canonical: str
    mac: str


def open_chain(conn: Connection, account_id: int) -> None:
    """A new account's head: no event yet."""
    conn.execute(insert(seal_heads).values(account_id=account_id, seq=0, mac=""))


# Taking the next place locks the head's row until the transaction ends (as the gapless counter
# does): an account's events are appended one transaction at a time, on every instance.
_ADVANCE = Prepared(
    update(seal_heads).where(_h.account_id == bindparam("of_account")).values(seq=_h.seq + 1).returning(_h.seq, _h.mac)
)
_APPEND = Prepared(insert(seal_events))
_SET_HEAD = Prepared(
    update(seal_heads)
    .where(_h.account_id == bindparam("of_account"))
    .values(seq=bindparam("new_seq"), mac=bindparam("new_mac"))
)


# The head's row locked and read (`lock_head_later`): in a write transaction the head is written
# once, before the commit (`_write_heads`), so the first event needs its place, not a write.
_LOCK_HEAD = Prepared(select(_h.seq, _h.mac).where(_h.account_id == bindparam("of_account")).with_for_update())
# In what a write transaction remembers (store/db.remembered): (_PLACE, account) -> the pending
# read of its head, queued by `lock_head_later` (a savepoint undone forgets it with its lock).
_PLACE = "seal_place"


def lock_head_later(conn: Connection, account_id: int) -> None:
    """Lock and read the account's head with the connection's next waited statement
    (`Prepared.later`), for this write transaction's first event of the account (`next_place`):
    a finalization queues it with its draft's read, so that its event costs no round trip of its
    own. Nothing outside a write transaction of `Database.transaction`, or once the head moved."""
    memo = remembered(conn)
    if memo is None or (_PLACE, account_id) in memo or _moved(conn, account_id) is not None:
        return
    memo[(_PLACE, account_id)] = _LOCK_HEAD.later(conn, {"of_account": account_id})


def next_place(conn: Connection, account_id: int) -> tuple[int, str]:
    """The next event's number and the MAC it chains to. In a transaction that moved the
    account's head already, from the head it noted (store/db.py's SEALED: a use case undone by
    its savepoint takes its notes with it), without a statement: the head's row was locked by
    the first, and is written once, before the commit (`append`)."""
    moved = _moved(conn, account_id)
    if moved is not None:
        return moved[0] + 1, moved[1]
    memo = remembered(conn)
    pending = memo.pop((_PLACE, account_id), None) if memo else None
    if pending is not None:
        locked = pending.first()
        if locked is None:
            raise RuntimeError(f"account {account_id} has no seal head")
        return int(locked[0]) + 1, str(locked[1])
    row = _ADVANCE.first(conn, {"of_account": account_id})
    if row is None:
        raise RuntimeError(f"account {account_id} has no seal head")
    return int(row[0]), str(row[1])


def _moved(conn: Connection, account_id: int) -> tuple[int, str] | None:
    """The account's head as this transaction last noted it, if it moved it."""
    for noted, seq, mac, _what in reversed(conn.info.get(SEALED) or ()):
        if noted == account_id:
            return seq, mac
    return None


def append(conn: Connection, account_id: int, event: SealEvent, now: datetime, label: str) -> None:
    """The event, and the head moved on to it: noted for the seal journal (`label`: what the
    event is of, e.g. "FT 2026/3"), and written to the head's row before the commit, once for
    all the account's events of the transaction (at once outside `Database.transaction`)."""
    values = {
        "account_id": account_id,
        "seq": event.seq,
        "document_id": event.document_id,
        "event": event.event,
        "canonical": event.canonical,
        "mac": event.mac,
        "created_at": now,
    }
    # deferred (store/deferred.py): on PostgreSQL it goes with the transaction's next statement
    _APPEND.send(conn, values)
    if at_commit(conn, _HEADS, lambda: _write_heads) is None:  # not in a Database.transaction
        _SET_HEAD.send(conn, {"of_account": account_id, "new_seq": event.seq, "new_mac": event.mac})
    _note(conn, (account_id, event.seq, event.mac, label))


_HEADS = "seal_heads"


def _write_heads(conn: Connection) -> None:
    """Each head the transaction moved, as it last noted it (a reset's included)."""
    heads: dict[int, tuple[int, str]] = {}
    for account_id, seq, mac, _what in conn.info.get(SEALED) or ():
        heads[account_id] = (seq, mac)
    for account_id in sorted(heads):  # one order in every writer
        seq, mac = heads[account_id]
        _SET_HEAD.send(conn, {"of_account": account_id, "new_seq": seq, "new_mac": mac})


def _note(conn: Connection, head: SealedHead) -> None:
    sealed = conn.info.get(SEALED)
    if sealed is not None:  # a write transaction of Database.transaction()
        sealed.append(head)


def head(conn: Connection, account_id: int) -> tuple[int, str] | None:
    """The account's head (in a write transaction that moved it, as it last noted it)."""
    moved = _moved(conn, account_id)
    if moved is not None:
        return moved
    row = conn.execute(select(_h.seq, _h.mac).where(_h.account_id == account_id)).first()
    return (int(row[0]), str(row[1])) if row else None


def events(conn: Connection, account_id: int) -> Iterator[SealEvent]:
    """The account's events in order (for `ixserver verify`)."""
    rows = conn.execute(
        select(_e.seq, _e.document_id, _e.event, _e.canonical, _e.mac)
        .where(_e.account_id == account_id)
        .order_by(_e.seq)
    )
    for row in rows:
        yield SealEvent(int(row[0]), int(row[1]), str(row[2]), str(row[3]), str(row[4]))


def delete_account_events(conn: Connection, account_id: int) -> None:
    """Sandbox reset: the account starts a new chain (noted for the journal as a reset)."""
    conn.execute(delete(seal_events).where(_e.account_id == account_id))
    conn.execute(update(seal_heads).where(_h.account_id == account_id).values(seq=0, mac=""))
    _note(conn, (account_id, 0, "", RESET))


def event_at(conn: Connection, account_id: int, seq: int) -> SealEvent | None:
    row = conn.execute(
        select(_e.seq, _e.document_id, _e.event, _e.canonical, _e.mac).where(_e.account_id == account_id, _e.seq == seq)
    ).first()
    return SealEvent(int(row[0]), int(row[1]), str(row[2]), str(row[3]), str(row[4])) if row else None


def document_events(conn: Connection, account_id: int, document_id: int, limit: int) -> list[tuple[int, str, datetime]]:
    """A document's events (seq, event, when), in order, the first `limit`."""
    rows = conn.execute(
        select(_e.seq, _e.event, _e.created_at)
        .where(_e.account_id == account_id, _e.document_id == document_id)
        .order_by(_e.seq)
        .limit(limit)
    )
    return [(int(row[0]), str(row[1]), row[2]) for row in rows]
