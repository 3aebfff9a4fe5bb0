"""What the soak concludes from its ledger, the audit trail and the broker's own state.

Every error is sorted into one of three bins:
- *deliberate*: a call the rules must refuse and did (an approver of another state, a
  second reveal, the losing approver of a race);
- *injected*: attributable to a node restart: that country UNAVAILABLE or TIMEOUT (or
  answered from the index) from its stop until the broker has a live answer from it again,
  a reveal of its record while it is down, a reveal whose answer a restart lost;
- *unexpected*: anything else (INTERNAL, UNKNOWN, a failed search, a false NO_HIT, a
  country that does not come back, a refusal the rules did not call for). The soak fails
  on any of these.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import urllib.request
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import grpc
from prometheus_client.parser import text_string_to_metric_families

from benchmarks.soak_federation import Restart
from benchmarks.soak_load import HIT_STATUSES, LIVE, Call, Ledger, People, SearchRecord
from selec.v1 import (
    audit_pb2,
    audit_pb2_grpc,
    broker_pb2,
    broker_pb2_grpc,
    requests_pb2,
    requests_pb2_grpc,
)

RECOVERY_LIMIT_SECONDS = 60.0  # from serving again to the broker's first live answer
REVEAL_SLACK_SECONDS = 10.0  # the broker's channel to a restarted node reconnects in this
OVERLAP_SLACK_SECONDS = 0.5
EXAMPLES = 20
_WORKFLOW_ACTION = {"request": "request", "decide": "decision", "reveal": "reveal"}
_WORKFLOW_ACTION["withdraw"] = "withdraw"
_OK_EVENT = {"request": "pending", "reveal": "revealed", "withdraw": "withdrawn"}


@dataclass(slots=True)
class Verdicts:
    """Errors by bin and reason, with a few examples of the unexpected ones."""

    deliberate: Counter[str] = field(default_factory=Counter)
    injected: Counter[str] = field(default_factory=Counter)
    unexpected: Counter[str] = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)
    recoveries: list[dict[str, object]] = field(default_factory=list)
    origin: float = 0.0  # monotonic start of the load, for the examples' times

    def fail(self, reason: str, example: str, at: float | None = None) -> None:
        """Count an unexpected error (at: when, monotonic)."""
        self.unexpected[reason] += 1
        if len(self.examples) < EXAMPLES:
            when = "" if at is None else f"t={at - self.origin:.1f} s "
            self.examples.append(f"{when}{reason}: {example}")


@dataclass(frozen=True, slots=True)
class Window:
    """While a country's answers are attributable to its restart."""

    country: str
    start: float
    search_end: float
    reveal_end: float


def fault_windows(
    restarts: list[Restart], searches: list[SearchRecord], load_end: float, verdicts: Verdicts
) -> list[Window]:
    """Each restart's window: from the stop to the first live answer from the country
    again (the broker may keep a node suspended a while after it serves)."""
    windows = []
    for restart in restarts:
        country = restart.country
        recovered = min(
            (
                s.call.started + s.latencies.get(country, 0.0)
                for s in searches
                if s.call.started > restart.stopped_at and s.statuses.get(country) in LIVE
            ),
            default=None,
        )
        end = recovered if recovered is not None else load_end
        recovery = None if recovered is None else round(recovered - restart.ready_at, 2)
        verdicts.recoveries.append(
            {"country": restart.country, "serving_to_live_answer_seconds": recovery}
        )
        if recovered is None and load_end - restart.ready_at > RECOVERY_LIMIT_SECONDS:
            verdicts.fail("node not back in service", f"{restart.country} after its restart")
        elif recovery is not None and recovery > RECOVERY_LIMIT_SECONDS:
            verdicts.fail("node back in service too late", f"{restart.country} after {recovery} s")
        windows.append(
            Window(
                restart.country,
                restart.stopped_at,
                end + OVERLAP_SLACK_SECONDS,
                restart.ready_at + REVEAL_SLACK_SECONDS,
            )
        )
    return windows


def _down(windows: list[Window], country: str, call: Call, *, reveal: bool = False) -> bool:
    return any(
        w.country == country
        and call.ended >= w.start
        and call.started <= (w.reveal_end if reveal else w.search_end)
        for w in windows
    )


def judge_searches(searches: list[SearchRecord], windows: list[Window], v: Verdicts) -> None:
    """Each search answered, each country's status explained."""
    for search in searches:
        call = search.call
        if call.code != "OK":
            v.fail(f"search {call.code}", call.detail[:160], call.started)
            continue
        for country, status in search.statuses.items():
            short = status.removeprefix("COUNTRY_STATUS_")
            owner = search.subject is not None and country == search.subject.country
            if status in ("COUNTRY_STATUS_UNAVAILABLE", "COUNTRY_STATUS_TIMEOUT"):
                if _down(windows, country, call):
                    v.injected[f"search: {short} while restarted"] += 1
                else:
                    why = f"{country} ({search.details.get(country, '')})"
                    v.fail(f"search: {short} from a country not restarted", why, call.started)
            elif status == "COUNTRY_STATUS_ERROR":
                why = f"{country} ({search.details.get(country, '')})"
                v.fail("search: ERROR from a node", why, call.started)
            elif status.startswith("COUNTRY_STATUS_INDEXED"):
                if _down(windows, country, call):
                    v.injected[f"search: {short} (from the index) while restarted"] += 1
                else:
                    why = f"{country} ({search.details.get(country, '')})"
                    v.fail(
                        f"search: {short} (not live) from a country not restarted",
                        why,
                        call.started,
                    )
            if not owner or status in HIT_STATUSES:
                continue
            assert search.subject is not None
            if status == "COUNTRY_STATUS_NO_HIT":
                v.fail(
                    "search: false NO_HIT from the owning country",
                    search.subject.label,
                    call.started,
                )
            elif status == "COUNTRY_STATUS_INDEXED_NO_HIT":
                as_of = search.indexed_as_of.get(country, 0.0)
                imported = search.subject.imported_at
                if imported is None or as_of >= imported:
                    v.fail(
                        "search: false INDEXED_NO_HIT for a published record",
                        search.subject.label,
                        call.started,
                    )
        if search.label == "no-hit document" and any(
            status in HIT_STATUSES for status in search.statuses.values()
        ):
            v.fail(
                "search: a hit on a document number that does not exist", search.label, call.started
            )


def judge_workflow(ledger: Ledger, windows: list[Window], v: Verdicts) -> None:
    """Every request-service call did what the rules say."""
    races: dict[str, list[Call]] = {}
    for call in ledger.calls:
        if call.kind == "search":
            continue
        tracked = ledger.requests.get(call.request_id)
        where = f"{call.kind} {call.request_id[:8]} ({call.country}): {call.code} {call.detail}"
        if call.intent == "race":
            races.setdefault(call.request_id, []).append(call)
            if call.code not in ("OK", "FAILED_PRECONDITION"):
                v.fail("decide race: unexpected status", where[:200], call.started)
            elif call.code != "OK":
                v.deliberate["decide race: the second approver refused"] += 1
        elif call.intent == "wrong_approver":
            # NOT_FOUND: the broker hides requests from those who may not see them
            # (enumeration); PERMISSION_DENIED where it does not.
            if call.code in ("NOT_FOUND", "PERMISSION_DENIED"):
                v.deliberate[f"decide by another state's approver refused ({call.code})"] += 1
            else:
                v.fail("decide by another state's approver not refused", where[:200], call.started)
        elif call.intent == "reveal_again":
            if call.code == "FAILED_PRECONDITION":
                v.deliberate["second reveal refused"] += 1
            else:
                v.fail("second reveal not refused", where[:200], call.started)
        elif call.code == "OK":
            if call.kind == "reveal" and call.detail:
                v.fail("reveal: empty record", where[:200], call.started)
        elif call.kind == "reveal" and call.code in ("UNAVAILABLE", "DEADLINE_EXCEEDED"):
            if _down(windows, call.country, call, reveal=True):
                v.injected["reveal: owner unreachable while restarted"] += 1
            else:
                v.fail("reveal: owner unreachable, not restarted", where[:200], call.started)
        elif call.kind == "reveal" and tracked is not None and tracked.stranded:
            v.injected["reveal: answer lost to a restart (grant already used)"] += 1
        else:
            v.fail(f"{call.kind}: {call.code}", where[:200], call.started)
    for request_id, calls in races.items():
        if sum(c.code == "OK" for c in calls) != 1:
            v.fail("decide race: not exactly one winner", request_id[:8])
    for tracked in ledger.requests.values():
        if tracked.decisions > 1:
            v.fail("request decided twice", tracked.request_id[:8])
        if tracked.reveals > 1:
            v.fail("request revealed twice", tracked.request_id[:8])


def expected_events(ledger: Ledger) -> Counter[tuple[str, str]]:
    """The audit events the load's calls must have left: (action, outcome) -> count."""
    events: Counter[tuple[str, str]] = Counter()
    for search in ledger.searches:
        if search.call.code != "OK":
            continue
        statuses = search.statuses.values()
        if any(search.hit_counts.values()):
            outcome = "hit"
        elif all(s in ("COUNTRY_STATUS_NO_HIT", "COUNTRY_STATUS_INDEXED_NO_HIT") for s in statuses):
            outcome = "no_hit"
        else:
            outcome = "incomplete"
        events["search", outcome] += 1
        for country, count in search.hit_counts.items():
            if count:
                status = search.statuses[country].removeprefix("COUNTRY_STATUS_").lower()
                events["hit", status] += count
    for call in ledger.calls:
        if call.kind not in _WORKFLOW_ACTION:
            continue
        if call.code != "OK":
            events["refused", _WORKFLOW_ACTION[call.kind]] += 1
        elif call.kind == "decide":
            events["decision", call.verdict] += 1
        else:
            events[_WORKFLOW_ACTION[call.kind], _OK_EVENT[call.kind]] += 1
    return events


def _auth(token: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),)


async def audit_events(
    channel: grpc.aio.Channel, token: str, since: dt.datetime, people: People
) -> list[audit_pb2.AuditEvent]:
    """This run's events (its people's), in chain order."""
    stub = audit_pb2_grpc.AuditServiceStub(channel)
    request = audit_pb2.ExportAuditRequest()
    request.since.FromDatetime(since)
    events = []
    async for event in stub.ExportAudit(request, timeout=120, metadata=_auth(token)):
        if event.actor in people.identities:
            events.append(event)
    return events


def judge_audit(
    events: list[audit_pb2.AuditEvent], ledger: Ledger, v: Verdicts
) -> dict[str, object]:
    """Every OK call has its event, every refusal too, and no request went wrong."""
    expected = expected_events(ledger)
    found: Counter[tuple[str, str]] = Counter((e.action, e.outcome) for e in events)
    mismatches = {
        f"{action}/{outcome}": {
            "expected": expected[action, outcome],
            "found": found[action, outcome],
        }
        for action, outcome in sorted(set(expected) | set(found))
        if expected[action, outcome] != found[action, outcome]
    }
    for key, counts in mismatches.items():
        v.fail("audit events do not match the calls", f"{key} {counts}")
    _match_ids(events, ledger, v)
    by_request: dict[str, list[audit_pb2.AuditEvent]] = {}
    for event in events:
        if event.request_id and event.action != "refused":
            by_request.setdefault(event.request_id, []).append(event)
    for request_id, trail in by_request.items():
        if request_id not in ledger.requests:
            v.fail("audit: an event for a request the load never made", request_id[:8])
            continue
        decisions = [e for e in trail if e.action == "decision"]
        reveals = [e for e in trail if e.action == "reveal"]
        if len(decisions) > 1:
            v.fail("audit: request decided twice", request_id[:8])
        if reveals and not any(
            d.outcome == "approved" and d.seq < reveals[0].seq for d in decisions
        ):
            v.fail("audit: reveal without an approval before it", request_id[:8])
        if len(reveals) > 1:
            v.fail("audit: request revealed twice", request_id[:8])
    return {
        "events": len(events),
        "by_kind": {f"{a}/{o}": n for (a, o), n in sorted(found.items())},
        "mismatches": mismatches,
    }


def _match_ids(events: list[audit_pb2.AuditEvent], ledger: Ledger, v: Verdicts) -> None:
    """Not only as many events as calls: the very searches and requests of the OK calls."""
    audited = {(e.action, e.search_id or e.request_id) for e in events if e.action != "hit"}
    wanted = {("search", s.search_id) for s in ledger.searches if s.call.code == "OK"}
    for call in ledger.calls:
        if call.code == "OK" and call.kind in _WORKFLOW_ACTION:
            wanted.add((_WORKFLOW_ACTION[call.kind], call.request_id))
    for action, identifier in sorted(wanted - audited)[:EXAMPLES]:
        v.fail("audit: an OK call without its event", f"{action} {identifier[:8]}")
    hits = Counter(e.search_id for e in events if e.action == "hit")
    for search in ledger.searches:
        if search.call.code == "OK" and hits[search.search_id] != sum(search.hit_counts.values()):
            v.fail("audit: a search's hits not all audited", search.search_id[:8])


async def verify_chain(channel: grpc.aio.Channel, token: str) -> dict[str, object]:
    """The broker recomputes the whole chain (VerifyAudit)."""
    stub = audit_pb2_grpc.AuditServiceStub(channel)
    reply = await stub.VerifyAudit(
        audit_pb2.VerifyAuditRequest(), timeout=300, metadata=_auth(token)
    )
    return {"ok": reply.ok, "checked": reply.checked, "problem": reply.problem}


async def request_states(
    channel: grpc.aio.Channel, tokens: dict[str, str], ledger: Ledger, people: People, v: Verdicts
) -> dict[str, int]:
    """Each request the load made is stored in the state the load drove it to."""
    stub = requests_pb2_grpc.RequestServiceStub(channel)
    stored: dict[str, str] = {}
    for officer in people.officers:
        reply = await stub.ListRequests(
            requests_pb2.ListRequestsRequest(mine=True), timeout=60, metadata=_auth(tokens[officer])
        )
        for item in reply.requests:
            stored[item.request_id] = (
                requests_pb2.RequestState.Name(item.state).removeprefix("REQUEST_STATE_").lower()
            )
    for request_id, tracked in ledger.requests.items():
        state = stored.get(request_id)
        if state is None:
            v.fail("request missing from the store", request_id[:8])
        elif state != tracked.state:
            v.fail("request in the wrong state", f"{request_id[:8]} {state}, not {tracked.state}")
    for request_id in set(stored) - set(ledger.requests):
        v.fail("a stored request the load never saw created", request_id[:8])
    return dict(Counter(stored.get(r, "missing") for r in ledger.requests))


async def final_status(
    channel: grpc.aio.Channel, token: str, wait_seconds: float, v: Verdicts
) -> dict[str, str]:
    """Every node back in service: reachable, not suspended (waits up to wait_seconds)."""
    stub = broker_pb2_grpc.BrokerServiceStub(channel)
    deadline = time.monotonic() + wait_seconds
    while True:
        reply = await stub.GetStatus(
            broker_pb2.GetStatusRequest(), timeout=30, metadata=_auth(token)
        )
        states = {
            n.country: "ok" if n.reachable and not n.suspended else (n.detail or "suspended")
            for n in reply.nodes
        }
        if all(s == "ok" for s in states.values()) or time.monotonic() > deadline:
            break
        await asyncio.sleep(2)
    for country, state in states.items():
        if state != "ok":
            v.fail("node not in service at the end", f"{country}: {state}")
    return states


def publish_counts(metrics_address: str | None) -> Counter[str]:
    """The broker's publications so far, by outcome (selec_index_publishes)."""
    counts: Counter[str] = Counter()
    if metrics_address is None:
        return counts
    try:
        with urllib.request.urlopen(f"http://{metrics_address}/metrics", timeout=10) as reply:
            text = reply.read().decode()
    except OSError:  # the broker is gone: the checks say so
        return counts
    for family in text_string_to_metric_families(text):
        if family.name == "selec_index_publishes":
            for sample in family.samples:
                if sample.name.endswith("_total"):
                    counts[sample.labels["outcome"]] += int(sample.value)
    return counts


def calls_table(calls: Iterable[Call]) -> dict[str, dict[str, int]]:
    """Calls by kind (and intent, when not plain) and status code."""
    table: dict[str, Counter[str]] = {}
    for call in calls:
        kind = call.kind if call.intent == "ok" else f"{call.kind} ({call.intent})"
        table.setdefault(kind, Counter())[call.code] += 1
    return {kind: dict(sorted(codes.items())) for kind, codes in sorted(table.items())}
