"""Real federations to fuzz, and one fuzz target per RPC per way of reaching it.

The servers run in an event loop on a thread of their own (`ServerLoop`), so the fuzzing
side can be plain synchronous code, which is what hypothesis drives best. Two federations
run side by side on loopback ports:

- *plain*: nodes and a broker without TLS or tokens (development mode), with a SQLite
  reference index so Publish reaches its handler;
- *secure*: mutual TLS to the nodes, bearer tokens at the broker, grants, the request
  store and the audit trail (tests/secure.py). Calls carry a valid token of the role the
  RPC needs most of the time (so the handlers are reached), and otherwise another
  person's token, an expired, tampered or garbage one, or none.

Every call goes through `call()`, which sends bytes (an identity serializer), so the same
path carries well-formed messages and bytes no client library would produce. The tests in
this directory and `benchmarks/fuzz.py` share all of this.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets
import sqlite3
import string
import threading
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import grpc
from google.protobuf.descriptor import MethodDescriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass
from hypothesis import strategies as st

from broker.config import IndexSettings
from broker.grants import GrantSigner
from connectors.keys import KeyScheme
from selec.tokens import issue_token, load_private_key
from selec.v1 import (
    audit_pb2,
    broker_pb2,
    common_pb2,
    connector_pb2,
    requests_pb2,
)
from tests.federation import KEY_SECRET, Federation, node_settings, seed_node, start_federation
from tests.fuzz.contract import Outcome
from tests.fuzz.strategies import (
    Hints,
    long_texts,
    member_states,
    messages,
    mutated,
    raw_requests,
    streams,
)
from tests.secure import JOVAN, PEOPLE, SecureFederation, start_secure_federation

T = TypeVar("T")
COUNTRIES = ("RS", "BG")
PERSONS = 30
CALL_TIMEOUT_SECONDS = 30.0
METHODS: dict[str, MethodDescriptor] = {
    f"/{service.full_name}/{method.name}": method
    for module in (broker_pb2, requests_pb2, audit_pb2, connector_pb2)
    for service in module.DESCRIPTOR.services_by_name.values()
    for method in service.methods
}
# Who calls each broker RPC when the call should get through.
CALLER = {
    "BrokerService/Search": "officer.gr",
    "BrokerService/Screen": "officer.gr",
    "BrokerService/GetStatus": "admin.ro",
    "BrokerService/Publish": "node.rs",
    "RequestService/RequestDetails": "officer.gr",
    "RequestService/ListRequests": "approver.rs",
    "RequestService/Decide": "approver.rs",
    "RequestService/Withdraw": "officer.gr",
    "RequestService/Reveal": "officer.gr",
    "AuditService/ExportAudit": "auditor.ro",
    "AuditService/VerifyAudit": "auditor.ro",
}
Metadata = tuple[tuple[str, str], ...]
SHORT_NAMES = (
    *CALLER,
    "ConnectorService/Match",
    "ConnectorService/MatchBatch",
    "ConnectorService/Describe",
)
RELEASE_CHANNELS = (
    ("plain-node-RS", "RS"),
    ("secure-node-RS", "RS"),
    ("secure-node-RS-as-node-bg", "RS"),
    ("secure-node-BG", "BG"),
)


def target_names() -> list[str]:
    """The names `targets()` gives, known before any server starts (for test ids)."""
    names = []
    for short in SHORT_NAMES:
        if short.startswith("ConnectorService/"):
            names += [f"{short}@plain-node-RS", f"{short}@secure-node-RS"]
        else:
            names += [f"{short}@plain", f"{short}@secure"]
    return names + [f"ConnectorService/Release@{channel}" for channel, _ in RELEASE_CHANNELS]


class ServerLoop:
    """An asyncio loop on its own thread, for servers the synchronous fuzzer calls."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float = 120) -> T:
        """Run coroutine on the loop; its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def close(self) -> None:
        """Stop the loop and its thread."""
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()


@dataclass(frozen=True)
class Target:
    """One RPC, reached one way: the channel, and what to send over it."""

    name: str
    method: str
    channel: grpc.Channel
    requests: st.SearchStrategy[Any]  # a message, or a list of them for a client stream
    raw: st.SearchStrategy[Any]  # bytes, or a list of bytes
    metadata: st.SearchStrategy[Metadata] = field(default_factory=lambda: st.just(()))

    @property
    def descriptor(self) -> MethodDescriptor:
        """The method's descriptor."""
        return METHODS[self.method]


def call(channel: grpc.Channel, method: str, payload: Any, metadata: Metadata) -> Outcome:
    """Send payload (bytes, a message, or a list of them for a client stream); the outcome.

    Replies are parsed as the method's response type, so a reply the contract cannot
    read fails the call instead of passing unread.
    """
    descriptor = METHODS[method]
    reply = GetMessageClass(descriptor.output_type).FromString

    def wire(item: Any) -> bytes:
        return item if isinstance(item, bytes) else item.SerializeToString()

    sent = b"".join(wire(item) for item in payload) if isinstance(payload, list) else wire(payload)
    text = sent.decode("utf-8", "ignore")
    kwargs: dict[str, Any] = {"metadata": metadata, "timeout": CALL_TIMEOUT_SECONDS}
    responses = 0
    try:
        if descriptor.client_streaming:
            items = iter([wire(item) for item in payload])
            if descriptor.server_streaming:
                for _ in channel.stream_stream(method, None, reply)(items, **kwargs):
                    responses += 1
            else:
                channel.stream_unary(method, None, reply)(items, **kwargs)
                responses = 1
        elif descriptor.server_streaming:
            for _ in channel.unary_stream(method, None, reply)(wire(payload), **kwargs):
                responses += 1
        else:
            channel.unary_unary(method, None, reply)(wire(payload), **kwargs)
            responses = 1
    except grpc.RpcError as exc:
        return Outcome(method, exc.code(), exc.details() or "", responses, text)
    return Outcome(method, grpc.StatusCode.OK, "", responses, text)


# ---------------------------------------------------------------- the running federations


@dataclass
class Running:
    """Both federations, their client channels, and what the strategies need from them."""

    loop: ServerLoop
    plain: Federation
    secure: SecureFederation
    channels: dict[str, grpc.Channel]
    references: list[str]
    request_ids: list[str]
    scheme_version: str
    signer: GrantSigner
    expired_token: str
    cleanup: list[Callable[[], None]] = field(default_factory=list)

    def close(self) -> None:
        """Close the channels and stop every server."""
        for channel in self.channels.values():
            channel.close()
        self.loop.run(self.plain.close())
        self.loop.run(self.secure.close())
        self.loop.close()

    def search_works(self) -> bool:
        """Both brokers still answer a normal search with every country's status."""
        _answers, summary = self.loop.run(self.plain.search(JOVAN, COUNTRIES))
        plain_ok = {r.country for r in summary.results} == set(COUNTRIES)
        reference = self.loop.run(self.secure.hit_reference())
        return plain_ok and bool(reference)


def _references(database: Path, limit: int = 20) -> list[str]:
    with sqlite3.connect(database) as db:
        return [row[0] for row in db.execute("SELECT reference FROM records LIMIT ?", (limit,))]


async def _start(data_dir: Path) -> tuple[Federation, SecureFederation, list[str]]:
    plain_dir = data_dir / "plain"
    plain_dir.mkdir(parents=True, exist_ok=True)
    for country in COUNTRIES:
        seed_node(node_settings(country, plain_dir), PERSONS)
    plain = await start_federation(
        plain_dir,
        COUNTRIES,
        index=IndexSettings("sqlite", sqlite_path=plain_dir / "index" / "refs.db"),
    )
    secure_dir = data_dir / "secure"
    secure_dir.mkdir(parents=True, exist_ok=True)
    secure = await start_secure_federation(
        secure_dir,
        IndexSettings("sqlite", sqlite_path=secure_dir / "index" / "refs.db"),
        COUNTRIES,
        PERSONS,
    )
    # A few requests in every state the workflow knows, for Decide/Withdraw/Reveal to find.
    reference = await secure.hit_reference()
    ids = []
    for _ in range(4):
        ids.append((await secure.request_details(reference)).request_id)
    await secure.approve(ids[0])
    await secure.approve(ids[1])
    await secure.reveal(ids[1])
    return plain, secure, ids


def start(data_dir: Path) -> Running:
    """Start both federations (seeded in data_dir) and connect to them."""
    loop = ServerLoop()
    plain, secure, request_ids = loop.run(_start(data_dir))
    pki = secure.pki
    ca = (pki / "ca.pem").read_bytes()

    def mtls(name: str) -> grpc.ChannelCredentials:
        return grpc.ssl_channel_credentials(
            ca, (pki / f"{name}.key").read_bytes(), (pki / f"{name}.pem").read_bytes()
        )

    channels = {"plain-broker": grpc.insecure_channel(plain.broker.address)}
    channels["secure-broker"] = grpc.secure_channel(
        secure.broker.address, grpc.ssl_channel_credentials(ca)
    )
    for country in COUNTRIES:
        channels[f"plain-node-{country}"] = grpc.insecure_channel(plain.nodes[country].address)
        channels[f"secure-node-{country}"] = grpc.secure_channel(
            secure.nodes[country].address, mtls("broker")
        )
    channels["secure-node-RS-as-node-bg"] = grpc.secure_channel(
        secure.nodes["RS"].address, mtls("node-bg")
    )
    references = _references(secure.nodes["RS"].settings.database) + _references(
        plain.nodes["RS"].settings.database, 5
    )
    issuer = load_private_key(pki / "token-issuer.key")
    expired = issue_token(
        issuer,
        "officer.gr",
        "GR",
        ["officer"],
        now=dt.datetime.now(dt.UTC) - dt.timedelta(hours=2),
        lifetime=dt.timedelta(hours=1),
    )
    return Running(
        loop=loop,
        plain=plain,
        secure=secure,
        channels=channels,
        references=references,
        request_ids=request_ids,
        scheme_version=KeyScheme(KEY_SECRET).version,
        signer=GrantSigner(load_private_key(pki / "grant-signing.key")),
        expired_token=expired,
    )


# ---------------------------------------------------------------- what to send


def hints(running: Running) -> Hints:
    """Plausible values by field name, so enough messages reach the code behind the checks."""
    hex32 = st.binary(min_size=16, max_size=16).map(bytes.hex)
    keys = KeyScheme(KEY_SECRET).person_query_keys("Jovan", "Petrovic", dt.date(1985, 3, 14), 1985)
    digests = st.one_of(
        hex32,
        st.sampled_from([k.digest for k in keys]),
        hex32.map(str.upper),
        st.sampled_from(("0" * 31, "0" * 33, "g" * 32, "%" * 32, "_" * 32)),
    )
    key_types = st.sampled_from([*sorted({k.key_type for k in keys}), "person.exact", ""])
    purposes = st.one_of(st.sampled_from(("investigation", "SELEC art. 2")), long_texts())
    countries = member_states()
    return {
        "country": countries,
        "countries": countries,
        "issuing_country": countries,
        "plate_country": countries,
        "region": countries,
        "nationality": countries,
        "requester_country": countries,
        "purpose": purposes,
        "legal_basis": purposes,
        "justification": purposes,
        "reason": purposes,
        "handling_note": purposes,
        "given_names": st.sampled_from(("Jovan", "Јован", "JOVAN", "Jo van", "J.")),
        "family_names": st.sampled_from(("Petrovic", "Петровић", "PETROVIC<<", "Petrović")),
        "date_of_birth": st.sampled_from(
            ("1985-03-14", "0001-01-01", "1899-12-31", "2999-01-01", "9999-12-31", "1985-02-30")
        ),
        "birth_year": st.sampled_from((1985, 0, 1899, 1900, 2026, 2027, 9999, -1985)),
        "number": st.sampled_from(("+381641234567", "0641234567", "AB1234567", "++", "0" * 40)),
        "plate": st.sampled_from(("BG-123-AB", "Б 1234 ВГ", "---", "A")),
        "vin": st.sampled_from(("1M8GDM9AXKP042788", "1M8GDM9AXKP04278", "I" * 17)),
        "digest": digests,
        "key_type": key_types,
        "scheme_version": st.sampled_from(
            (running.scheme_version, running.scheme_version, running.scheme_version, "bk0", "")
        ),
        "reference": st.sampled_from(running.references),
        "request_id": st.one_of(st.sampled_from(running.request_ids), hex32),
        "officer": st.sampled_from(sorted(PEOPLE)),
        "requester": st.sampled_from(sorted(PEOPLE)),
        "nonce": hex32,
        "handling_code": st.sampled_from(("H0", "H1", "H2", "H3", "H9")),
        "subject_id": st.integers(0, 10**6).map(str),
        "id": st.integers(0, 2000).map(str),
        "search_id": hex32,
        "expires_at": st.sampled_from(
            (int(dt.datetime.now(dt.UTC).timestamp()) + 3600, 0, 2**63 - 1, -(2**63))
        ),
        "valid_hours": st.sampled_from((1, 72, 720, 721, 2**32 - 1)),
    }


def credentials(running: Running, person: str) -> st.SearchStrategy[Metadata]:
    """Mostly the right person's token; otherwise another's, a bad one or none."""
    token = running.secure.tokens[person]

    def bearer(value: str) -> Metadata:
        return (("authorization", value),)

    printable = st.text(st.sampled_from(string.printable.strip() + " "), max_size=80)
    wrong = st.one_of(
        st.sampled_from(sorted(PEOPLE)).map(lambda p: bearer(f"Bearer {running.secure.tokens[p]}")),
        st.just(()),
        st.just(bearer(f"Bearer {running.expired_token}")),
        st.integers(1, len(token) - 1).map(lambda n: bearer(f"Bearer {token[:n]}")),
        st.just(bearer(f"bearer {token[:-4]}AAAA")),
        printable.map(bearer),
        printable.map(lambda t: bearer(f"Bearer {t}")),
    )
    # Half the calls carry the right token, so the handlers behind the interceptor are reached.
    return st.one_of(st.just(bearer(f"Bearer {token}")), wrong)


def extra_metadata(method: str) -> st.SearchStrategy[Metadata]:
    """Other metadata the servers read: the request id everywhere, the batch size of Screen."""
    values = st.one_of(
        st.sampled_from(("", "0", "1", "500", "1000", "1001", "-1", "1e3", "9" * 30, " 5")),
        st.text(st.sampled_from(string.printable.strip()), max_size=40),
    )
    entries = [st.tuples(st.just("x-request-id"), values)]
    if method.endswith("/Screen"):
        entries.append(st.tuples(st.just("selec-screen-batch"), values))
    return st.lists(st.one_of(*entries), max_size=2).map(tuple)


def _search(running: Running) -> broker_pb2.SearchRequest:
    return broker_pb2.SearchRequest(
        criteria=JOVAN, purpose="investigation", legal_basis="SELEC art. 2", countries=["RS"]
    )


def _screen(running: Running) -> list[broker_pb2.ScreenRequest]:
    header = broker_pb2.ScreenHeader(
        purpose="border check", legal_basis="SELEC art. 2", countries=list(COUNTRIES)
    )
    subject = broker_pb2.ScreenSubject(subject_id="1", criteria=JOVAN)
    other = broker_pb2.ScreenSubject(
        subject_id="2",
        criteria=common_pb2.Criteria(phone=common_pb2.PhoneCriteria(number="+381641234567")),
    )
    return [
        broker_pb2.ScreenRequest(header=header),
        broker_pb2.ScreenRequest(subject=subject),
        broker_pb2.ScreenRequest(subject=other),
    ]


def _publish(running: Running, country: str = "RS") -> list[broker_pb2.PublishRequest]:
    header = broker_pb2.PublishHeader(country=country, scheme_version=running.scheme_version)
    header.as_of.FromDatetime(dt.datetime.now(dt.UTC))
    reference = broker_pb2.PublishedReference(
        reference=running.references[0],
        kind=common_pb2.RECORD_KIND_PERSON,
        category=common_pb2.CATEGORY_WANTED,
        keys=[
            broker_pb2.PublishedKey(
                key_type="person.fold.dob",
                strength=common_pb2.MATCH_STRENGTH_STRONG,
                digest=secrets.token_hex(16),
            )
        ],
    )
    return [
        broker_pb2.PublishRequest(header=header),
        broker_pb2.PublishRequest(
            references=broker_pb2.PublishedReferences(references=[reference])
        ),
        broker_pb2.PublishRequest(end=broker_pb2.PublishEnd(reference_count=1)),
    ]


def _match(running: Running) -> connector_pb2.MatchRequest:
    keys = KeyScheme(KEY_SECRET).person_query_keys("Jovan", "Petrovic", dt.date(1985, 3, 14), 1985)
    return connector_pb2.MatchRequest(
        scheme_version=running.scheme_version,
        keys=[common_pb2.BlindKey(key_type=k.key_type, digest=k.digest) for k in keys],
        search_id=secrets.token_hex(16),
    )


def _match_batch(running: Running) -> connector_pb2.MatchBatchRequest:
    match = _match(running)
    return connector_pb2.MatchBatchRequest(
        scheme_version=running.scheme_version,
        sets=[
            connector_pb2.KeySet(id="0", keys=match.keys),
            connector_pb2.KeySet(id="1", keys=match.keys[:1]),
        ],
        search_id=match.search_id,
    )


def _valid(running: Running) -> dict[str, Any]:
    """A valid request (or stream) of each RPC, for the mutation strategies to break."""
    since = audit_pb2.ExportAuditRequest(officer="officer.gr")
    since.since.FromDatetime(dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
    return {
        "BrokerService/Search": _search(running),
        "BrokerService/Screen": _screen(running),
        "BrokerService/GetStatus": broker_pb2.GetStatusRequest(),
        "BrokerService/Publish": _publish(running),
        "RequestService/RequestDetails": requests_pb2.RequestDetailsRequest(
            country="RS",
            reference=running.references[0],
            purpose="investigation",
            legal_basis="SELEC art. 2",
            justification="case 17/2026",
        ),
        "RequestService/ListRequests": requests_pb2.ListRequestsRequest(mine=True),
        "RequestService/Decide": requests_pb2.DecideRequest(
            request_id=running.request_ids[-1],
            approve=True,
            handling_code=requests_pb2.HANDLING_CODE_H1,
            valid_hours=1,
        ),
        "RequestService/Withdraw": requests_pb2.WithdrawRequest(request_id=running.request_ids[-1]),
        "RequestService/Reveal": requests_pb2.RevealRequest(request_id=running.request_ids[0]),
        "AuditService/ExportAudit": since,
        "AuditService/VerifyAudit": audit_pb2.VerifyAuditRequest(),
        "ConnectorService/Match": _match(running),
        "ConnectorService/MatchBatch": _match_batch(running),
        "ConnectorService/Describe": connector_pb2.DescribeRequest(),
    }


def _signed_grants(running: Running, known: Hints, country: str) -> st.SearchStrategy[Message]:
    """Release requests whose grant is signed by the broker's key: reach past the signature."""
    valid = connector_pb2.Grant(
        request_id=secrets.token_hex(16),
        country=country,
        reference=running.references[0],
        requester="officer.gr",
        requester_country="GR",
        expires_at=int(dt.datetime.now(dt.UTC).timestamp()) + 3600,
        nonce=secrets.token_hex(16),
        handling_code="H1",
        purpose="investigation",
    )
    grants = st.one_of(mutated(valid, known), messages(connector_pb2.Grant.DESCRIPTOR, known))
    return grants.map(running.signer.sign)


def _requests(
    method: str, valid: Any, known: Hints
) -> tuple[st.SearchStrategy[Any], st.SearchStrategy[Any]]:
    """(structured, raw) strategies of method's requests."""
    descriptor = METHODS[method]
    message = descriptor.input_type
    if descriptor.client_streaming:
        shaped = streams(message, valid, known)
        raw = st.one_of(
            st.lists(raw_requests(message, known), max_size=4),
            st.tuples(
                st.just(valid[0].SerializeToString()),
                st.lists(raw_requests(message, known), max_size=3),
            ).map(lambda t: [t[0], *t[1]]),
        )
        return shaped, raw
    structured = st.one_of(messages(message, known), mutated(valid, known), st.just(valid))
    return structured, raw_requests(message, known)


def targets(running: Running) -> list[Target]:
    """Every RPC of the broker and the connector, reached every way worth fuzzing."""
    known = hints(running)
    valid = _valid(running)
    found: list[Target] = []
    for short in SHORT_NAMES:
        base = valid[short]
        method = f"/selec.v1.{short}"
        structured, raw = _requests(method, base, known)
        if short.startswith("ConnectorService/"):
            for channel in ("plain-node-RS", "secure-node-RS"):
                found.append(
                    Target(f"{short}@{channel}", method, running.channels[channel], structured, raw)
                )
            continue
        plain_extra = extra_metadata(method)
        found.append(
            Target(
                f"{short}@plain",
                method,
                running.channels["plain-broker"],
                structured,
                raw,
                plain_extra,
            )
        )
        secure_metadata = st.builds(
            lambda auth, extra: auth + extra,
            credentials(running, CALLER[short]),
            extra_metadata(method),
        )
        found.append(
            Target(
                f"{short}@secure",
                method,
                running.channels["secure-broker"],
                structured,
                raw,
                secure_metadata,
            )
        )
    release = "/selec.v1.ConnectorService/Release"
    for channel, country in RELEASE_CHANNELS:
        structured = st.one_of(
            _signed_grants(running, known, country),
            messages(connector_pb2.ReleaseRequest.DESCRIPTOR, known),
        )
        found.append(
            Target(
                f"ConnectorService/Release@{channel}",
                release,
                running.channels[channel],
                structured,
                raw_requests(connector_pb2.ReleaseRequest.DESCRIPTOR, known),
            )
        )
    return found


def covered_methods(found: Sequence[Target]) -> set[str]:
    """The RPCs some target fuzzes."""
    return {t.method for t in found}
