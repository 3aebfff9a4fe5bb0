"""The soak's steady mixed load: officers search, ask for details, approvers decide,
officers reveal or withdraw, at a fixed rate from a few async clients.

The load keeps its own ledger of every call (what it expected, what came back, when) and a
model of every request it made, so the end checks can hold the broker to account: each OK
call has its audit event, each request is in the state the load drove it to, and each error
is either attributable to an injected node restart or counted as unexpected.

Searches are for subjects the nodes are known to hold (the synthetic data is deterministic:
`connectors.synthetic.generate` with the demo's persons and seed is what each node was
seeded with), so a NO_HIT from the owning country is a false negative, not bad luck.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import random
import string
import time
import traceback
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc

from connectors.synthetic import COUNTRIES, generate
from selec.tokens import issue_token, load_private_key
from selec.v1 import broker_pb2, broker_pb2_grpc, common_pb2, requests_pb2, requests_pb2_grpc

PURPOSE = "criminal investigation"
LEGAL_BASIS = "SELEC Convention art. 2"
SEARCH_TIMEOUT = 15.0
CALL_TIMEOUT = 10.0
OFFICER_COUNTRIES = ("GR", "RO", "TR", "RS")
SUBJECTS_PER_COUNTRY = 150
DOCUMENTS_PER_COUNTRY = 40
MAX_UNREQUESTED = 300

# Share of each action among the ticks (an action whose pool is empty falls back to a search).
WEIGHTS: dict[str, float] = {
    "search_hit": 30,
    "search_no_hit": 12,
    "request": 16,
    "decide": 14,
    "reveal": 12,
    "withdraw": 3,
    "wrong_approver": 3,
    "reveal_again": 3,
    "list_pending": 3,
}
RACE_SHARE = 0.15  # decisions made by two approvers at once: exactly one must win
APPROVE_SHARE = 0.75

LIVE = ("COUNTRY_STATUS_HIT", "COUNTRY_STATUS_NO_HIT")
HIT_STATUSES = ("COUNTRY_STATUS_HIT", "COUNTRY_STATUS_INDEXED_HIT")


@dataclass(frozen=True, slots=True)
class People:
    """This run's identities. Names are unique per run, so the audit trail of a data dir
    that is reused tells this run's events from earlier ones."""

    identities: dict[str, tuple[str, tuple[str, ...]]]  # name -> (country, roles)
    officers: tuple[str, ...]
    approvers: dict[tuple[str, int], str]  # (country, 1 or 2) -> name
    auditor: str
    admin: str


def soak_people(run_id: str) -> People:
    """Officers of a few states, two approvers of every state, an auditor and an admin."""
    prefix = f"soak-{run_id}"
    identities: dict[str, tuple[str, tuple[str, ...]]] = {}
    officers = []
    for country in OFFICER_COUNTRIES:
        officers.append(f"{prefix}.officer.{country.lower()}")
        identities[officers[-1]] = (country, ("officer",))
    approvers = {}
    for country in COUNTRIES:
        for n in (1, 2):
            approvers[country, n] = f"{prefix}.approver{n}.{country.lower()}"
            identities[approvers[country, n]] = (country, ("approver",))
    identities[f"{prefix}.auditor"] = ("RO", ("auditor",))
    identities[f"{prefix}.admin"] = ("RO", ("admin",))
    return People(identities, tuple(officers), approvers, f"{prefix}.auditor", f"{prefix}.admin")


def issue_tokens(pki: Path, people: People, lifetime: dt.timedelta) -> dict[str, str]:
    """Tokens for people, signed with the demo's issuer key (as `selec token` does)."""
    key = load_private_key(pki / "token-issuer.key")
    return {
        name: issue_token(key, name, country, roles, lifetime=lifetime)
        for name, (country, roles) in people.identities.items()
    }


@dataclass(frozen=True, slots=True)
class Subject:
    """Something a node holds, as an officer would search for it."""

    country: str
    label: str
    criteria: common_pb2.Criteria
    imported_at: float | None = None  # wall time, for records the soak imported


def person_criteria(record: dict[str, Any]) -> common_pb2.Criteria:
    return common_pb2.Criteria(
        person=common_pb2.PersonCriteria(
            given_names=str(record["given"]),
            family_names=str(record["family"]),
            date_of_birth=str(record["dob"]),
        )
    )


def seeded_subjects(countries: list[str], persons: int, seed: int) -> list[Subject]:
    """Persons (with a date of birth) and documents each node was seeded with."""
    subjects = []
    for country in countries:
        records = generate(country, persons=persons, seed=seed)
        taken_persons = taken_documents = 0
        for record in records:
            if (
                record["kind"] == "person"
                and record.get("dob")
                and taken_persons < (SUBJECTS_PER_COUNTRY)
            ):
                taken_persons += 1
                subjects.append(
                    Subject(country, f"{country} person {record['id']}", person_criteria(record))
                )
            elif record["kind"] == "document" and taken_documents < DOCUMENTS_PER_COUNTRY:
                taken_documents += 1
                criteria = common_pb2.Criteria(
                    document=common_pb2.DocumentCriteria(
                        number=str(record["number"]),
                        issuing_country=str(record["issuing_country"]),
                    )
                )
                subjects.append(Subject(country, f"{country} document {record['id']}", criteria))
            if taken_documents >= DOCUMENTS_PER_COUNTRY or record["kind"] in ("vehicle", "phone"):
                break
    return subjects


def new_records(
    country: str, *, persons: int, seed: int, run_id: str, batch: int, size: int
) -> list[dict[str, Any]]:
    """Persons a node was not seeded with (the synthetic data beyond its size), for import."""
    start = persons + batch * size
    records = itertools.islice(generate(country, persons=start + size, seed=seed), start, None)
    out = []
    for number, record in enumerate(records):
        if record["kind"] != "person":
            break
        out.append({**record, "id": f"{country}-SOAK-{run_id}-{batch}-{number}"})
    return out


@dataclass(slots=True)
class Call:
    """One RPC the load made."""

    kind: str  # search, request, decide, reveal, withdraw, list
    intent: str  # what the load meant: ok, race, wrong_approver, reveal_again
    code: str
    started: float
    ended: float
    country: str = ""  # owning country (workflow) or the searched subject's
    request_id: str = ""
    detail: str = ""
    verdict: str = ""  # a decision's: approved or denied


@dataclass(slots=True)
class SearchRecord:
    """A completed search: what was asked and each country's status."""

    call: Call
    subject: Subject | None  # None: a search meant to hit nothing
    asked: tuple[str, ...]
    label: str = ""
    search_id: str = ""
    statuses: dict[str, str] = field(default_factory=dict)
    hit_counts: dict[str, int] = field(default_factory=dict)
    indexed_as_of: dict[str, float] = field(default_factory=dict)
    references: dict[str, list[str]] = field(default_factory=dict)
    details: dict[str, str] = field(default_factory=dict)  # why a country was not live
    latencies: dict[str, float] = field(default_factory=dict)  # from the start, seconds
    summarized: bool = False


@dataclass(slots=True)
class TrackedRequest:
    """A request for details as the load drove it."""

    request_id: str
    country: str
    reference: str
    requester: str
    state: str = "pending"
    decisions: int = 0
    reveals: int = 0
    unreachable_reveals: int = 0  # reveals that failed because the owner was down
    stranded: bool = False  # a reveal lost to a restart: the node used the grant


@dataclass(slots=True)
class Ledger:
    """Everything the load did, for the end checks."""

    calls: list[Call] = field(default_factory=list)
    searches: list[SearchRecord] = field(default_factory=list)
    requests: dict[str, TrackedRequest] = field(default_factory=dict)
    soak_errors: list[str] = field(default_factory=list)
    ticks: int = 0
    behind: int = 0


class Load:
    """Drives the mixed load against one broker; see the module docstring."""

    def __init__(
        self,
        broker: str,
        ca: bytes,
        tokens: dict[str, str],
        people: People,
        subjects: list[Subject],
        *,
        clients: int,
        rng: random.Random,
    ) -> None:
        self._broker = broker
        self._ca = ca
        self._tokens = tokens
        self._people = people
        self.subjects = list(subjects)
        self._clients = clients
        self._rng = rng
        self.ledger = Ledger()
        self._officers = list(people.officers)
        self._unrequested: deque[tuple[str, str]] = deque(maxlen=MAX_UNREQUESTED)
        self._pending: list[str] = []
        self._approved: list[str] = []
        self._revealed: list[str] = []
        self._channels: list[grpc.aio.Channel] = []

    def _auth(self, person: str) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {self._tokens[person]}"),)

    def _approver(self, country: str, n: int = 1) -> str:
        return self._people.approvers[country, n]

    def add_subjects(self, subjects: list[Subject]) -> None:
        """Records imported while the load runs become searchable subjects."""
        self.subjects.extend(subjects)

    async def run(self, seconds: float, rate: float) -> None:
        """Offer rate actions per second for seconds; a tick finding every client busy is
        counted as behind (the machine could not keep up) instead of queueing up."""
        credentials = grpc.ssl_channel_credentials(root_certificates=self._ca)
        self._channels = [
            grpc.aio.secure_channel(self._broker, credentials) for _ in range(self._clients)
        ]
        slots: asyncio.Queue[bool] = asyncio.Queue(maxsize=self._clients)
        workers = [asyncio.create_task(self._worker(slots, ch)) for ch in self._channels]
        try:
            interval = 1.0 / rate
            stop_at = time.monotonic() + seconds
            next_tick = time.monotonic()
            while time.monotonic() < stop_at:
                self.ledger.ticks += 1
                try:
                    slots.put_nowait(True)
                except asyncio.QueueFull:
                    self.ledger.behind += 1
                next_tick += interval
                await asyncio.sleep(max(0.0, next_tick - time.monotonic()))
            for _ in workers:
                await slots.put(False)
            await asyncio.gather(*workers)
        finally:
            for worker in workers:
                worker.cancel()
            for channel in self._channels:
                await channel.close()

    async def _worker(self, slots: asyncio.Queue[bool], channel: grpc.aio.Channel) -> None:
        search = broker_pb2_grpc.BrokerServiceStub(channel)
        workflow = requests_pb2_grpc.RequestServiceStub(channel)
        while await slots.get():
            action = self._choose()
            try:
                await getattr(self, f"_{action}")(search, workflow)
            except Exception:  # a bug in the soak itself: reported, fails the run
                self.ledger.soak_errors.append(traceback.format_exc(limit=5))

    def _choose(self) -> str:
        available = {
            "request": bool(self._unrequested),
            "decide": bool(self._pending),
            "reveal": bool(self._approved),
            "withdraw": bool(self._pending),
            "wrong_approver": bool(self._pending),
            "reveal_again": bool(self._revealed),
        }
        names = list(WEIGHTS)
        action = self._rng.choices(names, weights=[WEIGHTS[n] for n in names])[0]
        return action if available.get(action, True) else "search_hit"

    async def _unary(
        self,
        kind: str,
        intent: str,
        method: Callable[..., Awaitable[Any]],
        message: Any,
        person: str,
        *,
        country: str = "",
        request_id: str = "",
    ) -> tuple[Call, Any]:
        started = time.monotonic()
        reply = None
        try:
            reply = await method(message, timeout=CALL_TIMEOUT, metadata=self._auth(person))
            code, detail = "OK", ""
        except grpc.aio.AioRpcError as exc:
            code, detail = exc.code().name, exc.details() or ""
        call = Call(kind, intent, code, started, time.monotonic(), country, request_id, detail)
        self.ledger.calls.append(call)
        return call, reply

    # -- searches ------------------------------------------------------------------------

    async def _search(
        self,
        stub: broker_pb2_grpc.BrokerServiceStub,
        criteria: common_pb2.Criteria,
        countries: list[str],
        subject: Subject | None,
        label: str = "",
    ) -> SearchRecord:
        officer = self._rng.choice(self._officers)
        request = broker_pb2.SearchRequest(
            criteria=criteria, purpose=PURPOSE, legal_basis=LEGAL_BASIS, countries=countries
        )
        started = time.monotonic()
        call = Call("search", "ok", "OK", started, started, subject.country if subject else "")
        record = SearchRecord(
            call, subject, tuple(countries), label or (subject.label if subject else "")
        )
        try:
            async for event in stub.Search(
                request, timeout=SEARCH_TIMEOUT, metadata=self._auth(officer)
            ):
                if event.HasField("answer"):
                    answer = event.answer
                    record.references[answer.result.country] = [h.reference for h in answer.hits]
                elif event.HasField("summary"):
                    record.summarized = True
                    record.search_id = event.summary.search_id
                    for result in event.summary.results:
                        name = broker_pb2.CountryStatus.Name(result.status)
                        record.statuses[result.country] = name
                        record.hit_counts[result.country] = result.hit_count
                        record.latencies[result.country] = result.latency_seconds
                        if result.detail:
                            record.details[result.country] = result.detail[:120]
                        if result.HasField("indexed_as_of"):
                            record.indexed_as_of[result.country] = result.indexed_as_of.ToDatetime(
                                tzinfo=dt.UTC
                            ).timestamp()
        except grpc.aio.AioRpcError as exc:
            call.code, call.detail = exc.code().name, exc.details() or ""
        call.ended = time.monotonic()
        if call.code == "OK" and not record.summarized:
            call.code, call.detail = "NO_SUMMARY", "the stream ended without its summary"
        self.ledger.calls.append(call)
        self.ledger.searches.append(record)
        return record

    def _countries_for(self, owner: str | None) -> list[str]:
        if self._rng.random() < 0.5:
            return []  # every member state
        chosen = set(self._rng.sample(COUNTRIES, 3))
        if owner:
            chosen.add(owner)
        return sorted(chosen)

    async def _search_hit(self, search: Any, _workflow: Any) -> None:
        subject = self._rng.choice(self.subjects)
        record = await self._search(
            search, subject.criteria, self._countries_for(subject.country), subject
        )
        status = record.statuses.get(subject.country)
        references = record.references.get(subject.country) or []
        if status in HIT_STATUSES and references:
            self._unrequested.append((subject.country, references[0]))

    async def _search_no_hit(self, search: Any, _workflow: Any) -> None:
        rng = self._rng
        if rng.random() < 0.5:
            label = "no-hit document"
            criteria = common_pb2.Criteria(
                document=common_pb2.DocumentCriteria(
                    number="".join(rng.choices(string.digits, k=11)),
                    issuing_country=rng.choice(OFFICER_COUNTRIES),
                )
            )
        else:

            def word() -> str:
                return "".join(rng.choices("bcdfgklmnprstvz", k=5)).capitalize() + "qx"

            label = "no-hit person"
            criteria = common_pb2.Criteria(
                person=common_pb2.PersonCriteria(
                    given_names=word(), family_names=word(), date_of_birth="1901-01-01"
                )
            )
        await self._search(search, criteria, self._countries_for(None), None, label)

    # -- the approval workflow -----------------------------------------------------------

    def _take(self, pool: list[str]) -> str:
        return pool.pop(self._rng.randrange(len(pool)))

    async def _request(self, _search: Any, workflow: Any) -> None:
        country, reference = self._unrequested.popleft()
        officer = self._rng.choice(self._officers)
        call, reply = await self._unary(
            "request",
            "ok",
            workflow.RequestDetails,
            requests_pb2.RequestDetailsRequest(
                country=country,
                reference=reference,
                purpose=PURPOSE,
                legal_basis=LEGAL_BASIS,
                justification="soak: case file 7/2026",
            ),
            officer,
            country=country,
        )
        if call.code == "OK":
            call.request_id = reply.request_id
            self.ledger.requests[reply.request_id] = TrackedRequest(
                reply.request_id, country, reference, officer
            )
            self._pending.append(reply.request_id)

    def _decision(self, approve: bool) -> requests_pb2.DecideRequest:
        if approve:
            return requests_pb2.DecideRequest(
                approve=True, handling_code=requests_pb2.HANDLING_CODE_H1, valid_hours=24
            )
        return requests_pb2.DecideRequest(approve=False, reason="soak: not enough grounds")

    async def _decide(self, _search: Any, workflow: Any) -> None:
        tracked = self.ledger.requests[self._take(self._pending)]
        approve = self._rng.random() < APPROVE_SHARE
        if self._rng.random() < RACE_SHARE:
            await self._race(workflow, tracked, approve)
            return
        message = self._decision(approve)
        message.request_id = tracked.request_id
        call, _ = await self._unary(
            "decide",
            "ok",
            workflow.Decide,
            message,
            self._approver(tracked.country),
            country=tracked.country,
            request_id=tracked.request_id,
        )
        self._after_decision(tracked, [(call, approve)])

    async def _race(self, workflow: Any, tracked: TrackedRequest, approve: bool) -> None:
        """Both approvers of the owning country decide at once, one each way."""
        decisions = []
        for n, verdict in ((1, approve), (2, not approve)):
            message = self._decision(verdict)
            message.request_id = tracked.request_id
            decisions.append(
                self._unary(
                    "decide",
                    "race",
                    workflow.Decide,
                    message,
                    self._approver(tracked.country, n),
                    country=tracked.country,
                    request_id=tracked.request_id,
                )
            )
        results = await asyncio.gather(*decisions)
        self._after_decision(tracked, [(results[0][0], approve), (results[1][0], not approve)])

    def _after_decision(self, tracked: TrackedRequest, outcomes: list[tuple[Call, bool]]) -> None:
        for call, approve in outcomes:
            call.verdict = "approved" if approve else "denied"
        won = [approve for call, approve in outcomes if call.code == "OK"]
        tracked.decisions += len(won)
        if not won:
            self._pending.append(tracked.request_id)  # nobody decided: still pending
            return
        tracked.state = "approved" if won[0] else "denied"
        if won[0]:
            self._approved.append(tracked.request_id)

    async def _reveal(self, _search: Any, workflow: Any) -> None:
        await self._reveal_request(workflow, self.ledger.requests[self._take(self._approved)])

    async def while_down(self, country: str) -> None:
        """Called while a node is down: reveal an approved request it owns, if there is
        one (the broker must say UNAVAILABLE, and the request stay approved), and ask for
        details behind a hit it holds (which needs no node)."""
        if not self._channels:
            return
        workflow = requests_pb2_grpc.RequestServiceStub(self._channels[0])
        owned = [r for r in self._approved if self.ledger.requests[r].country == country]
        if owned:
            self._approved.remove(owned[0])
            await self._reveal_request(workflow, self.ledger.requests[owned[0]])
        held = [hit for hit in self._unrequested if hit[0] == country]
        if held:
            self._unrequested.remove(held[0])
            self._unrequested.appendleft(held[0])
            await self._request(None, workflow)

    async def _reveal_request(self, workflow: Any, tracked: TrackedRequest) -> None:
        call, reply = await self._unary(
            "reveal",
            "ok",
            workflow.Reveal,
            requests_pb2.RevealRequest(request_id=tracked.request_id),
            tracked.requester,
            country=tracked.country,
            request_id=tracked.request_id,
        )
        if call.code == "OK":
            tracked.state = "revealed"
            tracked.reveals += 1
            if not reply.fields:
                call.detail = "revealed a record without fields"  # judged by the checks
            self._revealed.append(tracked.request_id)
        elif call.code in ("UNAVAILABLE", "DEADLINE_EXCEEDED"):
            tracked.unreachable_reveals += 1
            self._approved.append(tracked.request_id)  # try again later
        elif "grant already used" in call.detail and tracked.unreachable_reveals:
            tracked.stranded = True  # the node released, the answer was lost: see checks

    async def _reveal_again(self, _search: Any, workflow: Any) -> None:
        tracked = self.ledger.requests[self._rng.choice(self._revealed)]
        await self._unary(
            "reveal",
            "reveal_again",
            workflow.Reveal,
            requests_pb2.RevealRequest(request_id=tracked.request_id),
            tracked.requester,
            country=tracked.country,
            request_id=tracked.request_id,
        )

    async def _withdraw(self, _search: Any, workflow: Any) -> None:
        tracked = self.ledger.requests[self._take(self._pending)]
        call, _ = await self._unary(
            "withdraw",
            "ok",
            workflow.Withdraw,
            requests_pb2.WithdrawRequest(request_id=tracked.request_id),
            tracked.requester,
            country=tracked.country,
            request_id=tracked.request_id,
        )
        if call.code == "OK":
            tracked.state = "withdrawn"
        else:
            self._pending.append(tracked.request_id)

    async def _wrong_approver(self, _search: Any, workflow: Any) -> None:
        """Four eyes: an approver of another state may not decide; the request stays."""
        request_id = self._take(self._pending)
        tracked = self.ledger.requests[request_id]
        other = self._rng.choice([c for c in ("BG", "RS", "GR", "TR") if c != tracked.country])
        message = self._decision(True)
        message.request_id = request_id
        await self._unary(
            "decide",
            "wrong_approver",
            workflow.Decide,
            message,
            self._approver(other),
            country=tracked.country,
            request_id=request_id,
        )
        self._pending.append(request_id)

    async def _list_pending(self, _search: Any, workflow: Any) -> None:
        country = self._rng.choice(["BG", "RS", "RO", "GR"])
        await self._unary(
            "list",
            "ok",
            workflow.ListRequests,
            requests_pb2.ListRequestsRequest(pending_for_my_country=True),
            self._approver(country),
            country=country,
        )
