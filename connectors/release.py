"""Releasing a record for a grant: verified at home, used for one grant, logged at home.

The node checks every grant itself: the broker's Ed25519 signature (with the public key
from the node's own config), that it is for this country, that it has not expired and
that its nonce was not used by another grant. The nonce is consumed and the release
logged in one transaction in the node's own database, so a grant replayed with the same
nonce for anything else (another request, requester, reference or handling) is refused,
even after a restart.

A busy database must not lose a reveal. The node's database can be held by a long write
(a `selec import` is one transaction for its whole run), while the broker gives up on a
Release after a few seconds. Had the ledger waited longer than its caller (it used to
wait 30 s), it could consume the nonce after the broker had told the officer the reveal
failed, and the officer's retry would then be refused as "grant already used": the
record never delivered, the grant spent. So the ledger waits for the lock at most as
long as its caller still waits for the answer, less a margin for the answer's way back
(`busy_wait_seconds`); a lock that outlasts that is ReleaseUnavailable ("the node's
database is busy; retry") with nothing written, and the retry succeeds once the lock is
released.

A lost answer must not lose a reveal either. The release can commit and its answer still
never reach the broker: it arrives after the broker's deadline (a slow link), or the
connection drops on the way. The node cannot tell this from a delivered answer (an
answer written to the socket may still be lost), and the broker, which records the
reveal only once it has the record, keeps the request approved and asks again with the
same grant. So the very same grant (the same signed bytes) is served again, rather than
refused as "already used". This is safe because it discloses nothing the grant did not
already authorise: the same record, to the same requester, for the same request, under
the same handling code, and only until the grant expires. Only the broker may ask (mTLS),
and it asks only while the request is approved and not yet revealed, so a reveal that
reached the officer is not repeated through it (and a broker able to misuse this could
as well sign new grants). What stays single-use is the nonce: it is bound to the first
grant that used it, and any other grant carrying it is refused. Every serve is logged at
home (`release_serves`: which serve of the nonce, when), so a repeat shows in the node's
log; a release logged before serves were recorded is never served again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from google.protobuf.message import DecodeError

from connectors.store import StoreError, current_connection
from selec.tls import BROKER_NAME
from selec.v1 import connector_pb2

_UNAVAILABLE = "the node's database is unavailable; retry"
_BUSY = "the node's database is busy; retry"
# Of the caller's remaining time, kept for the answer to get back to it.
ANSWER_MARGIN_SECONDS = 0.5
# How long a caller without a deadline may have the ledger wait for a busy database.
MAX_BUSY_WAIT_SECONDS = 30.0
_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS releases (
        nonce VARCHAR(64) PRIMARY KEY,
        request_id VARCHAR(64) NOT NULL,
        reference VARCHAR(64) NOT NULL,
        requester VARCHAR(128) NOT NULL,
        requester_country VARCHAR(2) NOT NULL,
        handling_code VARCHAR(4) NOT NULL,
        purpose VARCHAR(200) NOT NULL,
        released_at VARCHAR(32) NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS release_serves (
        nonce VARCHAR(64) NOT NULL,
        serve SMALLINT NOT NULL,
        grant_digest CHAR(64) NOT NULL,
        served_at VARCHAR(32) NOT NULL,
        PRIMARY KEY (nonce, serve)
    )""",
)


class ReleaseRefused(Exception):
    """The grant does not allow a release; the message says why (safe to show)."""

    def __init__(self, message: str, not_found: bool = False) -> None:
        super().__init__(message)
        self.not_found = not_found


class ReleaseUnavailable(Exception):
    """The node cannot release now: its database failed. Nothing was consumed.

    Not a refusal: the grant may be perfectly good, and the caller should try again. The
    message is safe to show (no SQL, no paths); `detail` is for the node's own log.
    """

    def __init__(self, message: str, detail: str) -> None:
        super().__init__(message)
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Released:
    """A record released for a grant."""

    grant: connector_pb2.Grant
    kind: str
    category: str
    fields: dict[str, str]
    serve: int = 1  # 2 and more: served again for the same grant (see module doc)


class ReleaseLedger:
    """The node's record of releases (and so of used nonces), in its SQLite database.

    It opens the database as the record store does (`current_connection`): a database
    file that is gone is UNAVAILABLE, never an empty database created in its place (which
    would take the nonce and release nothing), and a file put back is reopened.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        db = current_connection(self._local, path)
        for statement in _SCHEMA:
            db.execute(statement)

    def release(
        self,
        grant: connector_pb2.Grant,
        signed: bytes,
        busy_wait: float = MAX_BUSY_WAIT_SECONDS,
    ) -> Released:
        """Consume the grant's nonce, log the release, return the record; atomically.

        signed: the grant's signed bytes; the same bytes again are served again (see the
        module doc). ReleaseRefused when the grant cannot be used; ReleaseUnavailable when
        the database fails, is gone, or is locked by another writer for longer than
        busy_wait seconds (nothing consumed): a storage fault is the node's, not the grant's.
        """
        digest = hashlib.sha256(signed).hexdigest()
        now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        try:
            db = current_connection(self._local, self.path)
            db.execute(f"PRAGMA busy_timeout = {int(busy_wait * 1000)}")
            db.execute("BEGIN IMMEDIATE")
            try:
                row = db.execute(
                    "SELECT kind, category, payload FROM records WHERE reference = ?",
                    (grant.reference,),
                ).fetchone()
                if row is None:
                    raise ReleaseRefused("no such reference here", not_found=True)
                serve = _next_serve(db, grant.nonce, digest)
                if serve == 1:
                    db.execute(
                        "INSERT INTO releases VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        (
                            grant.nonce,
                            grant.request_id,
                            grant.reference,
                            grant.requester,
                            grant.requester_country,
                            grant.handling_code,
                            grant.purpose[:200],
                            now,
                        ),
                    )
                db.execute(
                    "INSERT INTO release_serves VALUES (?, ?, ?, ?)",
                    (grant.nonce, serve, digest, now),
                )
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
        except sqlite3.IntegrityError:
            raise ReleaseRefused("grant already used") from None
        except StoreError as exc:
            raise ReleaseUnavailable(_UNAVAILABLE, str(exc)) from None
        except sqlite3.Error as exc:
            busy = getattr(exc, "sqlite_errorname", "").startswith(("SQLITE_BUSY", "SQLITE_LOCKED"))
            raise ReleaseUnavailable(
                _BUSY if busy else _UNAVAILABLE, f"{type(exc).__name__}: {exc}"
            ) from None
        kind, category, payload = row
        fields = {
            k: str(v) for k, v in json.loads(payload).items() if k not in {"kind", "category"}
        }
        return Released(grant, kind, category, fields, serve)

    def count(self) -> int:
        """Releases logged (nonces consumed; a grant served again counts once)."""
        db = current_connection(self._local, self.path)
        return db.execute("SELECT COUNT(*) FROM releases").fetchone()[0]


def _next_serve(db: sqlite3.Connection, nonce: str, digest: str) -> int:
    """Which serve of this nonce this is: 1 for an unused nonce, more for the grant that
    used it served again; ReleaseRefused for any other grant carrying the nonce."""
    first = db.execute(
        "SELECT grant_digest FROM release_serves WHERE nonce = ? AND serve = 1", (nonce,)
    ).fetchone()
    if first is None:
        if db.execute("SELECT 1 FROM releases WHERE nonce = ?", (nonce,)).fetchone():
            raise ReleaseRefused("grant already used")  # released before serves were logged
        return 1
    if first[0] != digest:
        raise ReleaseRefused("grant already used")
    last = db.execute("SELECT MAX(serve) FROM release_serves WHERE nonce = ?", (nonce,))
    return int(last.fetchone()[0]) + 1


class GrantVerifier:
    """Checks signed grants for one country with the broker's public key."""

    def __init__(self, country: str, broker_key: Ed25519PublicKey) -> None:
        self.country = country
        self._key = broker_key

    def verify(
        self, request: connector_pb2.ReleaseRequest, now: dt.datetime | None = None
    ) -> connector_pb2.Grant:
        """The grant, if genuine, for this country and unexpired; ReleaseRefused otherwise."""
        try:
            self._key.verify(request.signature, request.grant)
        except InvalidSignature:
            raise ReleaseRefused("grant signature invalid") from None
        grant = connector_pb2.Grant()
        try:
            grant.ParseFromString(request.grant)
        except DecodeError:
            raise ReleaseRefused("grant malformed") from None
        if grant.country != self.country:
            raise ReleaseRefused("grant is for another country")
        moment = now or dt.datetime.now(dt.UTC)
        if grant.expires_at <= int(moment.timestamp()):
            raise ReleaseRefused("grant expired")
        if len(grant.nonce) < 16 or not grant.reference or not grant.requester:
            raise ReleaseRefused("grant incomplete")
        return grant


class Releaser:
    """Release for the ConnectorService: verify, then consume and log (see module doc).

    With TLS, only the broker's certificate (CN "broker") may ask at all.
    """

    def __init__(
        self, verifier: GrantVerifier, ledger: ReleaseLedger, tls_peer_required: bool
    ) -> None:
        self.verifier = verifier
        self.ledger = ledger
        self.tls_peer_required = tls_peer_required

    def release(
        self,
        request: connector_pb2.ReleaseRequest,
        peer: str | None,
        time_remaining: float | None = None,
    ) -> Released:
        """The released record, or ReleaseRefused / ReleaseUnavailable.

        time_remaining: how long the caller still waits for the answer (gRPC's
        `time_remaining()`, None without a deadline); bounds the wait for a busy database.
        """
        if self.tls_peer_required and peer != BROKER_NAME:
            raise ReleaseRefused("only the broker may ask for a release")
        grant = self.verifier.verify(request)
        return self.ledger.release(grant, request.grant, busy_wait_seconds(time_remaining))


def busy_wait_seconds(time_remaining: float | None) -> float:
    """How long to wait for a busy database: the caller's remaining time less the margin
    for the answer's way back, never more than MAX_BUSY_WAIT_SECONDS (see module doc)."""
    if time_remaining is None:
        return MAX_BUSY_WAIT_SECONDS
    return max(0.0, min(MAX_BUSY_WAIT_SECONDS, time_remaining - ANSWER_MARGIN_SECONDS))
